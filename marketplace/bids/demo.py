"""Demo bids for ``flask seed demo``: two tenders from demo buyers, with bids in every state.

* "Re-roofing of Millbrook Primary School" is open: a draft, a joint bid waiting for its last
  approval, a submitted bid, a withdrawn one and one invalidated by a change of terms.
* "Grounds maintenance for Riverside Park" closed yesterday and is ready to award: opened,
  shortlisted and disqualified bids.
* "Library lighting upgrade" is awarded: one awarded bid, one not awarded.

Written straight into the tables (no e-mails), deterministic apart from dates, which are
offsets from ``now``.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from marketplace.bids.content import canonical_content, content_hash
from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    Bid,
    BidApproval,
    BidMember,
    BidRole,
    BidState,
    BidVersion,
    Membership,
    Organisation,
    OrgRole,
    Tender,
    TenderCpvCode,
    TenderStatus,
)

TENDERS = [
    ("Re-roofing of Millbrook Primary School", 5, TenderStatus.OPEN, ["45261000"]),
    ("Grounds maintenance for Riverside Park", -1, TenderStatus.CLOSED, ["77310000"]),
    ("Library lighting upgrade", -10, TenderStatus.AWARDED, ["45316000"]),
]
# tender index, state, number of member organisations, approvals of the current version
BIDS = [
    (0, BidState.DRAFT, 1, 0),
    (0, BidState.AWAITING_APPROVAL, 3, 2),  # one last approval to go
    (0, BidState.SUBMITTED, 2, 2),
    (0, BidState.WITHDRAWN, 1, 0),
    (0, BidState.INVALIDATED, 2, 0),
    (1, BidState.OPENED, 2, 2),
    (1, BidState.SHORTLISTED, 1, 1),
    (1, BidState.OPENED, 3, 3),
    (1, BidState.DISQUALIFIED, 1, 1),
    (2, BidState.AWARDED, 2, 2),
    (2, BidState.NOT_AWARDED, 1, 1),
]
PROPOSAL = ("Our team has done this kind of work for local schools and councils for years. "
            "We start within two weeks of award, work outside school hours where needed, and "
            "keep one named site manager for the whole job.")


def _owner_id(org: Organisation) -> int | None:
    return db.session.scalar(select(Membership.user_id).where(
        Membership.organisation_id == org.id, Membership.role == OrgRole.OWNER)
        .order_by(Membership.id))


def seed_bids(now: datetime) -> int:
    buyers = list(db.session.scalars(select(Organisation).where(
        Organisation.is_buyer.is_(True), Organisation.profile.has()).order_by(Organisation.id)))
    firms = list(db.session.scalars(select(Organisation).where(
        Organisation.is_buyer.is_(False)).order_by(Organisation.id)))
    if not buyers or len(firms) < 20:
        return 0
    tenders = []
    for i, (title, days, status, codes) in enumerate(TENDERS):
        deadline = (now + timedelta(days=days)).replace(hour=12, minute=0, second=0,
                                                        microsecond=0)
        tender = Tender(buyer=buyers[i % len(buyers)], title=title, status=status,
                        description=f"{title}. Full specification in the attached documents.",
                        currency="GBP", deadline=deadline, published_at=now - timedelta(days=20),
                        budget_min=Decimal("20000"), budget_max=Decimal("150000"),
                        town="Bristol")
        tender.cpv_codes = [TenderCpvCode(code=c) for c in codes]
        db.session.add(tender)
        tenders.append(tender)
    db.session.flush()

    firm_iter = iter(firms)
    for n, (t, state, size, approved) in enumerate(BIDS):
        tender = tenders[t]
        team = [next(firm_iter) for _ in range(size)]
        lead = team[0]
        bid = Bid(tender_id=tender.id, party_org_id=lead.id, lead_org_id=lead.id, state=state,
                  version=2 if state == BidState.INVALIDATED else 1,
                  price=Decimal(60000 + 7500 * n), currency="GBP", proposal=PROPOSAL,
                  live_key=None if state == BidState.WITHDRAWN else f"org:{lead.id}",
                  award_flag=True if state == BidState.AWARDED else None,
                  created_at=now - timedelta(days=10), updated_at=now - timedelta(days=2))
        shares = [Decimal(100 // size)] * size
        shares[0] += Decimal(100) - sum(shares)
        bid.members = [BidMember(organisation_id=o.id, role=BidRole.LEAD if i == 0
                                 else BidRole.MEMBER, work_share=shares[i])
                       for i, o in enumerate(team)]
        if state == BidState.DISQUALIFIED:
            bid.disqualification_reason = "The insurance certificate had expired."
        if state == BidState.WITHDRAWN:
            bid.withdrawn_at = now - timedelta(days=1)
        if state in (BidState.SUBMITTED, BidState.OPENED, BidState.SHORTLISTED,
                     BidState.DISQUALIFIED, BidState.AWARDED, BidState.NOT_AWARDED):
            bid.submitted_at = min(now, tender.deadline) - timedelta(days=2)
        db.session.add(bid)
        db.session.flush()
        db.session.refresh(bid)
        for number in range(1, bid.version + 1):
            content = canonical_content(bid, number)
            digest = content_hash(content)
            db.session.add(BidVersion(bid_id=bid.id, number=number, content=content,
                                      content_hash=digest, created_at=bid.created_at,
                                      created_by_user_id=_owner_id(lead)))
        bid.content_hash = digest
        for org in team[:approved]:
            db.session.add(BidApproval(bid_id=bid.id, version=bid.version,
                                       organisation_id=org.id,
                                       approved_by_user_id=_owner_id(org),
                                       content_hash=digest, approved_at=now - timedelta(days=3)))
        db.session.add(AuditEvent(occurred_at=bid.created_at, actor_user_id=_owner_id(lead),
                                  actor_org_id=lead.id, subject_kind="bid", subject_id=bid.id,
                                  action="created", version=1, details={"state": "draft"}))
        if state != BidState.DRAFT:
            db.session.add(AuditEvent(occurred_at=bid.updated_at, actor_user_id=None,
                                      subject_kind="bid", subject_id=bid.id,
                                      action=state.value, version=bid.version,
                                      details={"state": state.value, "seeded": True}))
    db.session.flush()
    return len(BIDS)
