"""Bid use cases: assemble, version, approve, submit, withdraw, open, evaluate, award.

Concurrency (SECURITY 25, 26). Every state change first locks the bid row (or, for the
buyer's decisions, the tender row) with ``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite
every write transaction already holds the database write lock from ``BEGIN IMMEDIATE``.
State and version then change through conditional ``UPDATE … WHERE state = … AND version =
…`` statements whose row count is checked, and the database constraints (one approval per
organisation per version, one live bid per party, one award per tender) are the last word.
So K simultaneous approvals give K approval rows and one ``submitted`` transition, and an
approval of version N racing an edit to N+1 either lands before the edit (and is voided by
it) or is refused; it can never submit N+1.

The deadline is compared with the request's ``now`` (``marketplace.clock``); an action at
the deadline is late.
"""

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask import url_for
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from marketplace import audit, mail
from marketplace.bids.content import canonical_content, content_hash
from marketplace.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    Alliance,
    AllianceMember,
    AllianceRole,
    Bid,
    BidApproval,
    BidDocument,
    BidMember,
    BidRole,
    BidState,
    BidVersion,
    Membership,
    Organisation,
    Tender,
    TenderStatus,
    User,
)
from marketplace.models.bid import EDITABLE_STATES, OPENED_STATES
from marketplace.notifications import notify
from marketplace.permissions import (
    MANAGER_ROLES,
    bid_orgs_managed_by,
    can_bid_for,
    can_edit_bid,
    can_evaluate_bids,
    deadline_passed,
)

log = logging.getLogger("marketplace.bids")

CURRENCIES = ("GBP", "EUR", "USD")
HUNDRED = Decimal("100")
MAX_MEMBERS = 20
STATE_LABELS = {
    BidState.DRAFT: "Draft",
    BidState.AWAITING_APPROVAL: "Awaiting approval",
    BidState.SUBMITTED: "Submitted",
    BidState.OPENED: "Opened",
    BidState.SHORTLISTED: "Shortlisted",
    BidState.DISQUALIFIED: "Disqualified",
    BidState.AWARDED: "Awarded",
    BidState.NOT_AWARDED: "Not awarded",
    BidState.WITHDRAWN: "Withdrawn",
    BidState.INVALIDATED: "Needs re-approval",
}


class _Clock:
    """The actor of transitions the deadline makes (bids opening), whoever triggered them."""

    id = None


_CLOCK = _Clock()


@dataclass(frozen=True)
class MemberLine:
    organisation_id: int
    role: BidRole
    work_share: Decimal


# -- loading and locking --------------------------------------------------------------------

def lock_bid(bid_id: int) -> Bid:
    """The bid row, locked for this transaction and re-read from the database."""
    bid = db.session.scalar(select(Bid).where(Bid.id == bid_id).with_for_update()
                            .execution_options(populate_existing=True))
    if bid is None:
        raise NotFound("No such bid.")
    return bid


def lock_tender(tender_id: int) -> Tender:
    tender = db.session.scalar(select(Tender).where(Tender.id == tender_id).with_for_update()
                               .execution_options(populate_existing=True))
    if tender is None:
        raise NotFound("No such tender.")
    return tender


def _refresh_members(bid: Bid) -> None:
    # Other transactions may have changed members while we waited for the lock.
    db.session.expire(bid, ["members", "documents"])


def _conditional(bid: Bid, *, expect_states, expect_version: int | None = None, **values) -> bool:
    """UPDATE bids SET … WHERE id = … AND state IN (…) [AND version = …]; True if it hit."""
    query = update(Bid).where(Bid.id == bid.id,
                              Bid.state.in_([s.value for s in expect_states]))
    if expect_version is not None:
        query = query.where(Bid.version == expect_version)
    result = db.session.execute(query.values(**values).execution_options(
        synchronize_session=False))
    if result.rowcount != 1:
        return False
    db.session.refresh(bid)
    return True


# -- clock rules ----------------------------------------------------------------------------

def _format_deadline(tender: Tender) -> str:
    return tender.deadline.strftime("%d %b %Y, %H:%M:%S UTC") if tender.deadline else ""


def require_before_deadline(tender: Tender, now: datetime, what: str) -> None:
    if tender.deadline is None or tender.status != TenderStatus.OPEN:
        raise InvalidState(f"This tender is not open for bids, so you cannot {what}.")
    if now >= tender.deadline:
        raise InvalidState(f"Too late: the deadline passed at {_format_deadline(tender)} "
                           f"(server time), so you cannot {what} any more.")


def require_after_deadline(tender: Tender, now: datetime, what: str) -> None:
    if not deadline_passed(tender, now):
        raise InvalidState(f"Bids stay sealed until the deadline; you cannot {what} yet.")


# -- who hears about a bid ------------------------------------------------------------------

def member_users(bid: Bid, *, managers_only: bool = False,
                 org_ids: set[int] | None = None) -> list[User]:
    ids = org_ids if org_ids is not None else {m.organisation_id for m in bid.members}
    if not ids:
        return []
    query = (select(User).join(Membership, Membership.user_id == User.id)
             .where(Membership.organisation_id.in_(ids)).order_by(User.id).distinct())
    if managers_only:
        query = query.where(Membership.role.in_(MANAGER_ROLES))
    return list(db.session.scalars(query))


def tell(users: list[User], bid: Bid, kind: str, title: str, template: str, **context) -> None:
    """Inbox entry and e-mail about a bid, to bid members only.

    Subjects stay generic (they appear in mail logs and the admin outbox's envelope), and
    the message is sealed from the admin outbox until the tender's deadline.
    """
    link = bid_link(bid)
    notify(users, kind, title, link=link)
    sealed = bid.tender_id if not deadline_passed(bid.tender, _now()) else None
    for user in {u.id: u for u in users if not u.is_suspended}.values():
        mail.queue_email(user.email, "Guild: news about a bid you are part of",
                         f"bids/{template}", sensitive=True, sealed_tender_id=sealed, user=user,
                         bid=bid, tender=bid.tender, link=bid_link(bid, external=True),
                         title=title, **context)


def bid_link(bid: Bid, *, external: bool = False) -> str:
    try:
        return url_for("bids.show", bid_id=bid.id, _external=external)
    except RuntimeError:  # CLI jobs without SERVER_NAME: a site-relative link
        return f"/bids/{bid.id}"


def _now() -> datetime:
    from marketplace.clock import now

    return now()


def _record(bid: Bid, action: str, *, actor=None, actor_org_id: int | None = None,
            **details) -> None:
    event = audit.record("bid", bid.id, action, version=bid.version, actor=actor,
                         actor_org_id=actor_org_id, state=bid.state.value, **details)
    # Ids and states only: sealed contents never reach the log (SECURITY 21, 23).
    who = f"user:{event.actor_user_id}" if event.actor_user_id else "system"
    log.info("bid_state bid=%s action=%s version=%s state=%s actor=%s org=%s", bid.id, action,
             bid.version, bid.state.value, who, actor_org_id)


# -- versions -------------------------------------------------------------------------------

def _freeze(bid: Bid, actor: User | None, now: datetime) -> BidVersion:
    db.session.flush()
    _refresh_members(bid)
    content = canonical_content(bid, bid.version)
    digest = content_hash(content)
    version = BidVersion(bid_id=bid.id, number=bid.version, content=content,
                         content_hash=digest, created_at=now,
                         created_by_user_id=getattr(actor, "id", None))
    db.session.add(version)
    bid.content_hash = digest
    db.session.flush()
    return version


def current_version(bid: Bid) -> BidVersion | None:
    return db.session.scalar(select(BidVersion).where(BidVersion.bid_id == bid.id,
                                                      BidVersion.number == bid.version))


def versions_of(bid: Bid) -> list[BidVersion]:
    return list(db.session.scalars(select(BidVersion).where(BidVersion.bid_id == bid.id)
                                   .order_by(BidVersion.number.desc())))


def _next_version(bid: Bid, actor: User, now: datetime, expected_version: int,
                  reason: str) -> None:
    """Every edit: a new version; approvals of earlier versions no longer count."""
    previous_state = bid.state
    new_state = BidState.DRAFT if previous_state == BidState.DRAFT \
        else BidState.AWAITING_APPROVAL
    if not _conditional(bid, expect_states=EDITABLE_STATES, expect_version=expected_version,
                        version=expected_version + 1, state=new_state, updated_at=now,
                        submitted_at=None):
        raise Conflict("Someone changed this bid while you were editing it. Please review "
                       "the latest version and try again.")
    _freeze(bid, actor, now)
    _record(bid, "edited", actor=actor, actor_org_id=bid.lead_org_id, reason=reason,
            previous_state=previous_state.value)
    if previous_state != BidState.DRAFT:
        tell(member_users(bid, managers_only=True), bid, "bid_approvals_voided",
             f"A bid changed ({reason}): version {bid.version} needs your approval",
             "approvals_voided", reason=reason, previous_state=previous_state)


def _editable(actor: User, bid_id: int, expected_version: int, now: datetime) -> Bid:
    bid = lock_bid(bid_id)
    if not can_edit_bid(actor, bid):
        raise PermissionDenied("Only owners and admins of the lead organisation edit a bid.")
    require_before_deadline(bid.tender, now, "change this bid")
    if bid.state not in EDITABLE_STATES:
        raise InvalidState(f"A {STATE_LABELS[bid.state].lower()} bid cannot be changed.")
    if bid.version != expected_version:
        raise Conflict(f"This bid is now at version {bid.version}; you were editing version "
                       f"{expected_version}. Please review it and try again.")
    return bid


# -- creating and editing -------------------------------------------------------------------

def live_bid_of_party(tender: Tender, party_key: str) -> Bid | None:
    return db.session.scalar(select(Bid).where(Bid.tender_id == tender.id,
                                               Bid.live_key == party_key))


def parties_for(user: User, tender: Tender) -> list[tuple[str, str]]:
    """(party key, label) the user can start a bid for: organisations they manage and
    alliances one of those organisations leads."""
    orgs = list(db.session.scalars(
        select(Organisation).join(Membership).where(Membership.user_id == user.id,
                                                    Membership.role.in_(MANAGER_ROLES))
        .order_by(Organisation.name)))
    choices = [(f"org:{o.id}", o.name) for o in orgs if can_bid_for(user, o, tender)]
    org_ids = [o.id for o in orgs if o.id != tender.buyer_id]
    if org_ids:
        rows = db.session.execute(
            select(Alliance, AllianceMember.organisation_id).join(AllianceMember)
            .where(AllianceMember.organisation_id.in_(org_ids),
                   AllianceMember.role == AllianceRole.LEAD,
                   Alliance.dissolved_at.is_(None)).order_by(Alliance.name))
        by_id = {o.id: o for o in orgs}
        for alliance, lead_id in rows:
            choices.append((f"alliance:{alliance.id}:{lead_id}",
                            f"{alliance.name} (alliance, led by {by_id[lead_id].name})"))
    return choices


def create_bid(actor: User, tender: Tender, party: str, now: datetime) -> Bid:
    """Start a draft for ``party`` ("org:<id>" or "alliance:<id>:<lead org id>")."""
    tender = lock_tender(tender.id)
    require_before_deadline(tender, now, "start a bid")
    allowed = dict(parties_for(actor, tender))
    if party not in allowed:
        raise PermissionDenied("You cannot bid for that organisation or alliance.")
    kind, *ids = party.split(":")
    if kind == "org":
        lead = db.session.get(Organisation, int(ids[0]))
        bid = Bid(tender_id=tender.id, party_org_id=lead.id, lead_org_id=lead.id)
    else:
        alliance = db.session.get(Alliance, int(ids[0]))
        lead = db.session.get(Organisation, int(ids[1]))
        bid = Bid(tender_id=tender.id, party_alliance_id=alliance.id, lead_org_id=lead.id)
    bid.live_key = bid.party_key
    bid.state = BidState.DRAFT
    bid.currency = tender.currency if tender.currency in CURRENCIES else "GBP"
    bid.created_at = bid.updated_at = now
    bid.members = [BidMember(organisation_id=lead.id, role=BidRole.LEAD, work_share=HUNDRED)]
    try:
        with db.session.begin_nested():
            db.session.add(bid)
            db.session.flush()
    except IntegrityError:
        raise Conflict("This party already has a live bid for this tender; open it from "
                       "your bids instead of starting another.") from None
    _freeze(bid, actor, now)
    _record(bid, "created", actor=actor, actor_org_id=lead.id)
    return bid


def _parse_share(raw) -> Decimal:
    try:
        value = Decimal(str(raw).strip() or "0")
    except InvalidOperation:
        raise ValidationFailed("Work shares must be numbers such as 60 or 12.5.") from None
    if not value.is_finite() or value < 0 or value > HUNDRED or value != value.quantize(
            Decimal("0.01")):
        raise ValidationFailed("Each work share is between 0 and 100 with at most two "
                               "decimals.")
    return value


def validate_members(bid: Bid, lines: list[MemberLine]) -> None:
    ids = [line.organisation_id for line in lines]
    if set(ids) != {m.organisation_id for m in bid.members} or len(ids) != len(set(ids)):
        raise Conflict("The member list changed meanwhile; please reload the page.")
    leads = [line for line in lines if line.role == BidRole.LEAD]
    if len(leads) != 1 or leads[0].organisation_id != bid.lead_org_id:
        raise ValidationFailed("The lead organisation must be the one and only lead.")
    total = sum((line.work_share for line in lines), Decimal("0"))
    if total != HUNDRED:
        raise ValidationFailed(f"Work shares must add up to exactly 100 %; they add up to "
                               f"{total.normalize():f} %.")


def update_bid(actor: User, bid_id: int, expected_version: int, *, price: Decimal | None,
               currency: str, proposal: str, members: list[MemberLine],
               now: datetime) -> Bid:
    bid = _editable(actor, bid_id, expected_version, now)
    if currency not in CURRENCIES:
        raise ValidationFailed("Choose one of the listed currencies.")
    if price is not None and (price < 0 or price >= Decimal("1e12")):
        raise ValidationFailed("The price must be between 0 and 999,999,999,999.99.")
    validate_members(bid, members)
    by_org = {m.organisation_id: m for m in bid.members}
    for line in members:
        row = by_org[line.organisation_id]
        row.role, row.work_share = line.role, line.work_share
    bid.price, bid.currency, bid.proposal = price, currency, proposal
    _next_version(bid, actor, now, expected_version, "terms edited")
    return bid


def find_organisation(slug_or_name: str) -> Organisation | None:
    text = (slug_or_name or "").strip()
    if not text:
        return None
    return db.session.scalar(select(Organisation).where(
        (Organisation.slug == text.lower()) | (func.lower(Organisation.name) == text.lower()),
        Organisation.hidden_at.is_(None)))


def add_member(actor: User, bid_id: int, expected_version: int, org: Organisation,
               role: BidRole, now: datetime) -> Bid:
    bid = _editable(actor, bid_id, expected_version, now)
    if role == BidRole.LEAD:
        raise ValidationFailed("A bid has one lead; add partners as members or "
                               "subcontractors.")
    if org.id == bid.tender.buyer_id:
        raise ValidationFailed("The buyer cannot take part in a bid on its own tender.")
    if any(m.organisation_id == org.id for m in bid.members):
        raise ValidationFailed(f"{org.name} is already on this bid.")
    if len(bid.members) >= MAX_MEMBERS:
        raise ValidationFailed(f"A bid has at most {MAX_MEMBERS} members.")
    bid.members.append(BidMember(organisation_id=org.id, role=role, work_share=Decimal("0")))
    db.session.flush()
    _next_version(bid, actor, now, expected_version, f"{org.name} added")
    tell(member_users(bid, managers_only=True, org_ids={org.id}), bid, "bid_invitation",
         f"{bid.lead_org.name} named {org.name} on a bid for “{bid.tender.title}”",
         "member_added", organisation=org)
    return bid


def remove_member(actor: User, bid_id: int, expected_version: int, member_id: int,
                  now: datetime) -> Bid:
    bid = _editable(actor, bid_id, expected_version, now)
    member = next((m for m in bid.members if m.id == member_id), None)
    if member is None:
        raise NotFound("No such member on this bid.")
    if member.organisation_id == bid.lead_org_id:
        raise ValidationFailed("The lead organisation cannot be removed.")
    removed_org = member.organisation
    removed_users = member_users(bid, managers_only=True, org_ids={removed_org.id})
    # Its share goes back to the lead, so the shares still add up to 100.
    lead = next(m for m in bid.members if m.organisation_id == bid.lead_org_id)
    lead.work_share = lead.work_share + member.work_share
    bid.members.remove(member)
    db.session.flush()
    _next_version(bid, actor, now, expected_version, f"{removed_org.name} removed")
    if removed_users:
        notify(removed_users, "bid_removed",
               f"{removed_org.name} is no longer on a bid led by {bid.lead_org.name}")
    return bid


def add_alliance_members(actor: User, bid_id: int, expected_version: int,
                         now: datetime) -> Bid:
    """Bring every current member of the bidding alliance onto the bid (share 0 each)."""
    bid = _editable(actor, bid_id, expected_version, now)
    if bid.party_alliance_id is None:
        raise InvalidState("This bid is not made by an alliance.")
    present = {m.organisation_id for m in bid.members}
    new_ids = [row.organisation_id for row in db.session.scalars(
        select(AllianceMember).where(AllianceMember.alliance_id == bid.party_alliance_id))
        if row.organisation_id not in present and row.organisation_id != bid.tender.buyer_id]
    if not new_ids:
        raise ValidationFailed("Every member of the alliance is already on the bid.")
    for org_id in new_ids:
        bid.members.append(BidMember(organisation_id=org_id, role=BidRole.MEMBER,
                                     work_share=Decimal("0")))
    db.session.flush()
    _next_version(bid, actor, now, expected_version, "alliance members added")
    tell(member_users(bid, managers_only=True, org_ids=set(new_ids)), bid, "bid_invitation",
         f"{bid.lead_org.name} named your organisation on a bid for “{bid.tender.title}”",
         "member_added", organisation=None)
    return bid


def add_document(actor: User, bid_id: int, expected_version: int, *, filename: str,
                 stored_name: str, content_type: str, size: int, sha256: str,
                 now: datetime) -> BidDocument:
    bid = _editable(actor, bid_id, expected_version, now)
    document = BidDocument(bid_id=bid.id, filename=filename[:200], stored_name=stored_name,
                           content_type=content_type, size=size, sha256=sha256,
                           uploaded_at=now, uploaded_by_user_id=actor.id)
    db.session.add(document)
    db.session.flush()
    _next_version(bid, actor, now, expected_version, "document added")
    return document


def remove_document(actor: User, bid_id: int, expected_version: int, document_id: int,
                    now: datetime) -> Bid:
    bid = _editable(actor, bid_id, expected_version, now)
    document = next((d for d in bid.live_documents if d.id == document_id), None)
    if document is None:
        raise NotFound("No such document on this bid.")
    document.removed_at = now
    db.session.flush()
    _next_version(bid, actor, now, expected_version, "document removed")
    return bid


# -- approval and submission ----------------------------------------------------------------

def completeness_problems(bid: Bid) -> list[str]:
    problems = []
    if bid.price is None:
        problems.append("Enter the price.")
    if not (bid.proposal or "").strip():
        problems.append("Write the proposal.")
    total = sum((m.work_share for m in bid.members), Decimal("0"))
    if total != HUNDRED:
        problems.append(f"Work shares add up to {total.normalize():f} %, not 100 %.")
    if any(m.work_share == 0 for m in bid.members):
        problems.append("Give every member a work share above 0 % (or remove it).")
    return problems


def request_approval(actor: User, bid_id: int, expected_version: int, now: datetime) -> Bid:
    """Draft (or invalidated) -> awaiting approval of the current version."""
    bid = _editable(actor, bid_id, expected_version, now)
    problems = completeness_problems(bid)
    if problems:
        raise ValidationFailed("Not ready for approval: " + " ".join(problems))
    if bid.state == BidState.DRAFT:
        if not _conditional(bid, expect_states=[BidState.DRAFT],
                            expect_version=expected_version,
                            state=BidState.AWAITING_APPROVAL, updated_at=now):
            raise Conflict("This bid changed meanwhile; please reload it.")
        _record(bid, "approval_requested", actor=actor, actor_org_id=bid.lead_org_id)
    elif bid.state == BidState.INVALIDATED:
        # Re-approval after the tender's terms changed: same content, a new version.
        _next_version(bid, actor, now, expected_version, "re-approval after tender change")
        return bid
    else:
        raise InvalidState("Approval has already been requested for this version.")
    tell(member_users(bid, managers_only=True), bid, "bid_approval_needed",
         f"Your approval is needed: bid for “{bid.tender.title}”, version {bid.version}",
         "approval_needed")
    return bid


def approvals_for(bid: Bid, version: int | None = None) -> list[BidApproval]:
    return list(db.session.scalars(select(BidApproval).where(
        BidApproval.bid_id == bid.id, BidApproval.version == (version or bid.version))
        .order_by(BidApproval.id)))


def approve(actor: User, bid_id: int, organisation_id: int, version: int,
            now: datetime) -> BidApproval:
    """One member organisation approves one exact version; the last approval submits."""
    bid = lock_bid(bid_id)
    _refresh_members(bid)
    orgs = {o.id: o for o in bid_orgs_managed_by(actor, bid)}
    if organisation_id not in orgs:
        raise PermissionDenied("Only an owner or admin of a member organisation can "
                               "approve for it.")
    require_before_deadline(bid.tender, now, "approve this bid")
    if bid.version != version:
        raise Conflict(f"The bid changed: it is now at version {bid.version}. Please review "
                       f"the new version before approving.")
    if bid.state != BidState.AWAITING_APPROVAL:
        if bid.state == BidState.SUBMITTED:
            raise InvalidState("This version is already approved by everyone and submitted.")
        raise InvalidState(f"This bid is {STATE_LABELS[bid.state].lower()}; it cannot be "
                           "approved now.")
    approval = BidApproval(bid_id=bid.id, version=version, organisation_id=organisation_id,
                           approved_by_user_id=actor.id, content_hash=bid.content_hash,
                           approved_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(approval)
            db.session.flush()
    except IntegrityError:
        raise InvalidState(f"{orgs[organisation_id].name} has already approved version "
                           f"{version}.") from None
    _record(bid, "approved", actor=actor, actor_org_id=organisation_id)

    approved = set(db.session.scalars(select(BidApproval.organisation_id).where(
        BidApproval.bid_id == bid.id, BidApproval.version == version)))
    if approved >= {m.organisation_id for m in bid.members}:
        _submit(bid, actor, version, now)
    else:
        waiting = {m.organisation_id for m in bid.members} - approved
        tell(member_users(bid, managers_only=True, org_ids={bid.lead_org_id}), bid,
             "bid_approved", f"{orgs[organisation_id].name} approved version {version}; "
             f"{len(waiting)} approval(s) to go", "approved_one",
             approver=orgs[organisation_id], waiting=len(waiting))
    return approval


def _submit(bid: Bid, actor: User, version: int, now: datetime) -> None:
    if not _conditional(bid, expect_states=[BidState.AWAITING_APPROVAL], expect_version=version,
                        state=BidState.SUBMITTED, submitted_at=now, updated_at=now):
        return  # someone else's transaction already submitted this version
    _record(bid, "submitted", actor=actor, content_hash=bid.content_hash)
    tell(member_users(bid), bid, "bid_submitted",
         f"Bid submitted for “{bid.tender.title}” (version {bid.version})", "receipt",
         receipt=receipt(bid))


def receipt(bid: Bid) -> dict:
    return {"bid_id": bid.id, "version": bid.version, "content_hash": bid.content_hash,
            "submitted_at": bid.submitted_at, "tender_id": bid.tender_id}


def withdraw(actor: User, bid_id: int, now: datetime) -> Bid:
    bid = lock_bid(bid_id)
    if not can_edit_bid(actor, bid):
        raise PermissionDenied("Only owners and admins of the lead organisation can "
                               "withdraw the bid.")
    require_before_deadline(bid.tender, now, "withdraw this bid")
    if not _conditional(bid, expect_states=EDITABLE_STATES, expect_version=bid.version,
                        state=BidState.WITHDRAWN, live_key=None, withdrawn_at=now,
                        updated_at=now):
        raise InvalidState("This bid cannot be withdrawn any more.")
    _record(bid, "withdrawn", actor=actor, actor_org_id=bid.lead_org_id)
    tell(member_users(bid), bid, "bid_withdrawn",
         f"Bid for “{bid.tender.title}” withdrawn by {bid.lead_org.name}", "withdrawn")
    return bid


# -- for the tender side --------------------------------------------------------------------

def invalidate_bids_for(tender: Tender, now: datetime) -> list[Bid]:
    """The tender's terms changed: submitted and awaiting bids need re-approval.

    They become ``invalidated``; the lead starts re-approval (a new version, so no earlier
    approval counts) from the bid page. Drafts are untouched. Call inside the transaction
    that changes the tender.
    """
    ids = list(db.session.scalars(select(Bid.id).where(
        Bid.tender_id == tender.id,
        Bid.state.in_([BidState.SUBMITTED.value, BidState.AWAITING_APPROVAL.value]))
        .order_by(Bid.id)))
    changed = []
    for bid_id in ids:
        bid = lock_bid(bid_id)
        previous = bid.state
        if not _conditional(bid, expect_states=[BidState.SUBMITTED, BidState.AWAITING_APPROVAL],
                            state=BidState.INVALIDATED, submitted_at=None, updated_at=now):
            continue
        _record(bid, "invalidated", previous_state=previous.value, reason="tender terms changed")
        tell(member_users(bid, managers_only=True), bid, "bid_invalidated",
             f"The terms of “{tender.title}” changed: your bid needs re-approval",
             "invalidated")
        changed.append(bid)
    return changed


def bids_needing_reminder(tender: Tender) -> list[Organisation]:
    """The organisations that still have to act on an unfinished bid for this tender (each
    once), for the tender side's 24-hour reminder: the lead of a draft or of a bid needing
    re-approval, and every member organisation that has not approved the current version of
    a bid awaiting approval. Withdrawn and submitted bids need nothing."""
    org_ids: dict[int, None] = {}
    for bid in db.session.scalars(select(Bid).where(
            Bid.tender_id == tender.id,
            Bid.state.in_([BidState.DRAFT, BidState.AWAITING_APPROVAL, BidState.INVALIDATED]))
            .order_by(Bid.id)):
        for org_id in sorted(organisations_to_act(bid)):
            org_ids.setdefault(org_id)
    return [db.session.get(Organisation, org_id) for org_id in org_ids]


def organisations_to_act(bid: Bid) -> set[int]:
    if bid.state != BidState.AWAITING_APPROVAL:
        return {bid.lead_org_id}
    approved = {a.organisation_id for a in approvals_for(bid)}
    return {m.organisation_id for m in bid.members} - approved


# -- after the deadline ---------------------------------------------------------------------

def open_bids_for(tender: Tender, now: datetime) -> list[Bid]:
    """At the deadline: submitted bids become ``opened`` and an open tender ``closed``.

    Idempotent; called by the buyer's first action after the deadline and by
    ``flask bids open-due`` (GET requests never change state).
    """
    if not deadline_passed(tender, now):
        return []
    from marketplace.tenders.lifecycle import close_if_due

    close_if_due(lock_tender(tender.id), now)
    opened = []
    for bid_id in db.session.scalars(select(Bid.id).where(
            Bid.tender_id == tender.id, Bid.state == BidState.SUBMITTED.value)
            .order_by(Bid.id)).all():
        bid = lock_bid(bid_id)
        if _conditional(bid, expect_states=[BidState.SUBMITTED], state=BidState.OPENED,
                        updated_at=now):
            _record(bid, "opened", actor=_CLOCK)
            opened.append(bid)
    return opened


def submitted_bids(tender: Tender) -> list[Bid]:
    """What the buyer compares after the deadline (never drafts or withdrawn bids)."""
    return list(db.session.scalars(select(Bid).where(
        Bid.tender_id == tender.id, Bid.state.in_([s.value for s in OPENED_STATES]))
        .order_by(Bid.price.asc(), Bid.id)))


def _evaluable(actor: User, tender_id: int, bid_id: int, now: datetime,
               what: str) -> tuple[Tender, Bid]:
    tender = lock_tender(tender_id)
    if not can_evaluate_bids(actor, tender, now):
        if not deadline_passed(tender, now):
            raise InvalidState(f"Bids stay sealed until the deadline; you cannot {what} yet.")
        raise PermissionDenied("Only owners and admins of the buyer evaluate bids.")
    open_bids_for(tender, now)
    tender = lock_tender(tender_id)
    if tender.status != TenderStatus.CLOSED:
        raise InvalidState(f"This tender is {tender.status.value}; you cannot {what} now.")
    bid = lock_bid(bid_id)
    if bid.tender_id != tender.id or bid.state not in OPENED_STATES:
        raise NotFound("No such bid on this tender.")
    return tender, bid


def shortlist(actor: User, tender_id: int, bid_id: int, now: datetime) -> Bid:
    _tender, bid = _evaluable(actor, tender_id, bid_id, now, "shortlist")
    if not _conditional(bid, expect_states=[BidState.OPENED], state=BidState.SHORTLISTED,
                        decided_at=now, updated_at=now):
        raise InvalidState("Only opened bids can be shortlisted.")
    _record(bid, "shortlisted", actor=actor, actor_org_id=bid.tender.buyer_id)
    return bid


def disqualify(actor: User, tender_id: int, bid_id: int, reason: str, now: datetime) -> Bid:
    _tender, bid = _evaluable(actor, tender_id, bid_id, now, "disqualify bids")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Give the reason for disqualifying this bid.")
    if not _conditional(bid, expect_states=[BidState.OPENED, BidState.SHORTLISTED],
                        state=BidState.DISQUALIFIED, disqualification_reason=reason[:1000],
                        decided_at=now, updated_at=now):
        raise InvalidState("Only opened or shortlisted bids can be disqualified.")
    _record(bid, "disqualified", actor=actor, actor_org_id=bid.tender.buyer_id)
    tell(member_users(bid), bid, "bid_outcome",
         f"Your bid for “{bid.tender.title}” was disqualified", "outcome")
    return bid


def award(actor: User, tender_id: int, bid_id: int, now: datetime) -> Bid:
    tender, bid = _evaluable(actor, tender_id, bid_id, now, "award")
    try:
        with db.session.begin_nested():
            hit = _conditional(bid, expect_states=[BidState.OPENED, BidState.SHORTLISTED],
                               state=BidState.AWARDED, award_flag=True, decided_at=now,
                               updated_at=now)
    except IntegrityError:
        raise Conflict("This tender has already been awarded.") from None
    if not hit:
        raise InvalidState("Only opened or shortlisted bids can be awarded.")
    _record(bid, "awarded", actor=actor, actor_org_id=tender.buyer_id)
    others = [b for b in submitted_bids(tender)
              if b.id != bid.id and b.state in (BidState.OPENED, BidState.SHORTLISTED)]
    for other in others:
        if _conditional(other, expect_states=[BidState.OPENED, BidState.SHORTLISTED],
                        state=BidState.NOT_AWARDED, decided_at=now, updated_at=now):
            _record(other, "not_awarded", actor=actor, actor_org_id=tender.buyer_id)
    from marketplace.tenders.services import mark_awarded

    mark_awarded(tender, now, actor=actor, bid_id=bid.id)
    # Every bidder hears the outcome, the disqualified ones included.
    for b in submitted_bids(tender):
        if b.id == bid.id:
            tell(member_users(b), b, "bid_outcome",
                 f"You won “{tender.title}”", "outcome")
        elif b.state == BidState.NOT_AWARDED:
            tell(member_users(b), b, "bid_outcome",
                 f"“{tender.title}” was awarded to another bidder", "outcome")
    return bid


def on_tender_ended(tender: Tender, now: datetime) -> None:
    """The tender side's hook: the tender was cancelled or ended without an award. Opened
    bids end as not awarded; every team with a live bid is told (members only)."""
    for bid_id in db.session.scalars(select(Bid.id).where(
            Bid.tender_id == tender.id, Bid.live_key.is_not(None)).order_by(Bid.id)).all():
        bid = lock_bid(bid_id)
        if _conditional(bid, expect_states=[BidState.OPENED, BidState.SHORTLISTED],
                        state=BidState.NOT_AWARDED, decided_at=now, updated_at=now):
            _record(bid, "not_awarded", reason=f"tender {tender.status.value}")
        if bid.state in (BidState.WITHDRAWN, BidState.DISQUALIFIED):
            continue
        tell(member_users(bid), bid, "bid_outcome",
             f"“{tender.title}” ended without an award ({tender.status.value})", "outcome")


# -- reading --------------------------------------------------------------------------------

def bids_of_user(user: User) -> list[Bid]:
    org_ids = select(Membership.organisation_id).where(Membership.user_id == user.id)
    return list(db.session.scalars(
        select(Bid).join(BidMember).where(BidMember.organisation_id.in_(org_ids))
        .distinct().order_by(Bid.updated_at.desc())))


def my_bids_for_tender(user: User, tender: Tender) -> list[Bid]:
    return [b for b in bids_of_user(user) if b.tender_id == tender.id]


def conflicts_for(user: User, bid: Bid) -> list[tuple[Organisation, Bid]]:
    """The user's own organisations that are also in another live bid for this tender.

    Shown only to the people of the organisation in both bids: telling anyone else would
    reveal the other bid, which is sealed from them.
    """
    mine = {row for row in db.session.scalars(
        select(Membership.organisation_id).where(Membership.user_id == user.id))}
    shared = mine & {m.organisation_id for m in bid.members}
    if not shared:
        return []
    rows = db.session.execute(
        select(BidMember.organisation_id, Bid).join(Bid, Bid.id == BidMember.bid_id).where(
            Bid.tender_id == bid.tender_id, Bid.id != bid.id, Bid.live_key.is_not(None),
            BidMember.organisation_id.in_(shared)).order_by(Bid.id))
    return [(db.session.get(Organisation, org_id), other) for org_id, other in rows]


def history(bid: Bid):
    from marketplace.models import AuditEvent

    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.subject_kind == "bid", AuditEvent.subject_id == bid.id)
        .order_by(AuditEvent.id)))
