"""Clarifications: public questions on a tender and the buyer's public answers.

Who asked stays private, from the buyer too: a question must not mark a firm as a likely
bidder (the bidder list is sealed until the deadline). The asker's ids are kept only to tell
them about the answer and to let their own organisation recognise its questions.
"""

from datetime import datetime

from flask import url_for
from sqlalchemy import select

from marketplace import audit
from marketplace.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import Clarification, Membership, Organisation, Tender, User
from marketplace.notifications import notify
from marketplace.permissions import MANAGER_ROLES, can_ask_clarification, can_manage_tender
from marketplace.search_outbox import record_change
from marketplace.tenders.lifecycle import close_if_due, is_open, lock_tender

MAX_QUESTION = 2000
MAX_ANSWER = 5000
MAX_OPEN_QUESTIONS_PER_ORG = 20


def managers_of(org_id: int) -> list[User]:
    return list(db.session.scalars(
        select(User).join(Membership).where(Membership.organisation_id == org_id,
                                            Membership.role.in_(MANAGER_ROLES))))


def ask_question(actor: User, org: Organisation | None, tender: Tender, question: str,
                 now: datetime) -> Clarification:
    if not can_ask_clarification(actor, tender, org):
        raise PermissionDenied("Act for your organisation to ask the buyer a question.")
    tender = lock_tender(tender.id)
    if close_if_due(tender, now) or not is_open(tender, now):
        raise InvalidState("Questions can only be asked while the tender is open.")
    question = (question or "").strip()
    if not 5 <= len(question) <= MAX_QUESTION:
        raise ValidationFailed(f"Write a question of 5 to {MAX_QUESTION} characters.")
    unanswered = db.session.scalar(
        select(db.func.count(Clarification.id)).where(
            Clarification.tender_id == tender.id, Clarification.asker_org_id == org.id,
            Clarification.answered_at.is_(None)))
    if unanswered >= MAX_OPEN_QUESTIONS_PER_ORG:
        raise InvalidState("Your organisation has many unanswered questions on this tender; "
                           "wait for answers before asking more.")
    item = Clarification(tender_id=tender.id, asker_org_id=org.id, asker_user_id=actor.id,
                         question=question, asked_at=now)
    db.session.add(item)
    db.session.flush()
    link = url_for("tenders.show", tender_id=tender.id, _anchor=f"q{item.id}")
    # No asker in the notification, the e-mail or the audit trail the buyer reads.
    notify(managers_of(tender.buyer_id), "tender_question",
           f"New question on “{tender.title[:120]}”", link=link,
           email_template="tender_question", tender=tender, question=item)
    return item


def answer_question(actor: User, tender: Tender, clarification_id: int, answer: str,
                    now: datetime) -> Clarification:
    tender = lock_tender(tender.id)
    if not can_manage_tender(actor, tender):
        raise PermissionDenied("Only owners and admins of the buyer organisation answer.")
    item = db.session.get(Clarification, clarification_id)
    if item is None or item.tender_id != tender.id:
        raise NotFound("No such question.")
    if close_if_due(tender, now) or not is_open(tender, now):
        raise InvalidState("Answers can only be given while the tender is open.")
    if item.answered_at is not None:
        raise InvalidState("This question has already been answered.")
    answer = (answer or "").strip()
    if not 1 <= len(answer) <= MAX_ANSWER:
        raise ValidationFailed(f"Write an answer of up to {MAX_ANSWER} characters.")
    item.answer = answer
    item.answered_at = now
    item.answered_by_id = actor.id
    db.session.flush()
    audit.record("tender", tender.id, "clarification_answered", version=tender.version,
                 actor=actor, actor_org_id=tender.buyer_id, clarification_id=item.id)
    record_change("tender", tender.id)
    asker = db.session.get(User, item.asker_user_id) if item.asker_user_id else None
    if asker is not None and _still_member(asker, item.asker_org_id):
        notify([asker], "tender_answer", f"Your question on “{tender.title[:120]}” was "
               "answered", link=url_for("tenders.show", tender_id=tender.id,
                                        _anchor=f"q{item.id}"),
               email_template="tender_answer", tender=tender, question=item)
    return item


def _still_member(user: User, org_id: int | None) -> bool:
    return org_id is not None and db.session.scalar(select(Membership.id).where(
        Membership.user_id == user.id, Membership.organisation_id == org_id)) is not None


def clarifications_for(tender: Tender) -> list[Clarification]:
    return list(db.session.scalars(select(Clarification).where(
        Clarification.tender_id == tender.id).order_by(Clarification.asked_at,
                                                       Clarification.id)))
