"""The teaming board: organisations say they are interested in an open tender, or that they
look for a partner for part of it, and contact each other.

Posts are public statements by choice; they are not bids and say nothing about bids.
"""

from datetime import datetime

from flask import url_for
from sqlalchemy import select

from marketplace.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import Organisation, TeamingKind, TeamingPost, Tender, User
from marketplace.notifications import notify
from marketplace.permissions import can_post_teaming
from marketplace.tenders.clarifications import managers_of
from marketplace.tenders.lifecycle import is_open

MAX_LOOKING_FOR = 300
MAX_MESSAGE = 1000


def post_on_board(actor: User, org: Organisation | None, tender: Tender, kind: TeamingKind,
                  looking_for: str, message: str, now: datetime) -> TeamingPost:
    """Create or replace the organisation's post on this tender's board."""
    if not can_post_teaming(actor, tender, org):
        raise PermissionDenied("Owners and admins post on the teaming board for their "
                               "organisation; the buyer does not.")
    if not is_open(tender, now):
        raise InvalidState("The teaming board closes with the tender.")
    looking_for = (looking_for or "").strip()
    message = (message or "").strip()
    if kind == TeamingKind.PARTNER_WANTED and not looking_for:
        raise ValidationFailed("Say what you are looking for a partner for.")
    if len(looking_for) > MAX_LOOKING_FOR or len(message) > MAX_MESSAGE:
        raise ValidationFailed("That post is too long.")
    post = db.session.scalar(select(TeamingPost).where(
        TeamingPost.tender_id == tender.id, TeamingPost.organisation_id == org.id)
        .with_for_update())
    if post is None:
        post = TeamingPost(tender_id=tender.id, organisation_id=org.id, created_at=now)
        db.session.add(post)
    post.author_user_id = actor.id
    post.kind = kind
    post.looking_for = looking_for if kind == TeamingKind.PARTNER_WANTED else ""
    post.message = message
    post.updated_at = now
    post.withdrawn_at = None
    db.session.flush()
    return post


def withdraw_post(actor: User, org: Organisation | None, tender: Tender,
                  now: datetime) -> TeamingPost:
    if not can_post_teaming(actor, tender, org):
        raise PermissionDenied("Only owners and admins of the posting organisation can do this.")
    post = db.session.scalar(select(TeamingPost).where(
        TeamingPost.tender_id == tender.id, TeamingPost.organisation_id == org.id,
        TeamingPost.withdrawn_at.is_(None)))
    if post is None:
        raise NotFound("Your organisation has no post on this board.")
    post.withdrawn_at = now
    db.session.flush()
    return post


def live_posts(tender: Tender) -> list[TeamingPost]:
    """Posts by visible organisations, newest first."""
    return list(db.session.scalars(
        select(TeamingPost).join(Organisation).where(
            TeamingPost.tender_id == tender.id, TeamingPost.withdrawn_at.is_(None),
            Organisation.hidden_at.is_(None))
        .order_by(TeamingPost.updated_at.desc(), TeamingPost.id.desc())))


def contact_poster(actor: User, org: Organisation | None, tender: Tender, post_id: int,
                   message: str, now: datetime) -> TeamingPost:
    """Send the post's organisation a message (inbox and e-mail to its owners and admins)."""
    post = db.session.get(TeamingPost, post_id)
    if post is None or post.tender_id != tender.id or post.withdrawn_at is not None \
            or post.organisation.hidden_at is not None:
        raise NotFound("No such post.")
    if org is None or not can_post_teaming(actor, tender, org):
        raise PermissionDenied("Act for your organisation (as an owner or admin) to contact "
                               "other firms.")
    if post.organisation_id == org.id:
        raise InvalidState("This is your own organisation's post.")
    if not is_open(tender, now):
        raise InvalidState("The teaming board closes with the tender.")
    message = (message or "").strip()
    if not 5 <= len(message) <= MAX_MESSAGE:
        raise ValidationFailed(f"Write a message of 5 to {MAX_MESSAGE} characters.")
    link = url_for("tenders.teaming", tender_id=tender.id)
    notify(managers_of(post.organisation_id), "teaming_contact",
           f"{org.name} would like to team up on “{tender.title[:100]}”", body=message,
           link=link, email_template="teaming_contact", tender=tender, sender_org=org,
           sender=actor, message=message)
    return post
