"""Shared set-up for the bid tests: a buyer with an open tender, bidding firms with
profiles, and a way to call services as a given user inside a write request."""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from flask import g

from marketplace.bids import services
from marketplace.extensions import db
from marketplace.models import (
    Alliance,
    AllianceMember,
    AllianceRole,
    Bid,
    BidRole,
    Certification,
    Organisation,
    Profile,
    ProfileCapability,
    ProfileCpvCode,
    RequirementKind,
    Tender,
    TenderCpvCode,
    TenderRequirement,
    TenderStatus,
    User,
)

PASSWORD = "a long test passphrase 42"


@contextmanager
def acting(app, user: User | None, method: str = "POST"):
    """A request context with ``user`` logged in: services see them as current_user."""
    # Like a real request: a transaction of its own (BEGIN IMMEDIATE on SQLite for writes)
    # and a fresh ``g``, so the once-per-request clock is read anew.
    db.session.commit()
    with app.test_request_context("/", method=method):
        for name in list(g):
            g.pop(name)
        g._login_user = user
        yield


def make_tender(buyer: Organisation, *, deadline: datetime | None = None, title="Roof repairs",
                cpv=("45261000",), requirements=(), status=TenderStatus.OPEN) -> Tender:
    tender = Tender(buyer=buyer, title=title, description="Fix the school roofs.",
                    status=status, currency="GBP",
                    deadline=deadline or datetime.now(UTC) + timedelta(days=5),
                    published_at=datetime.now(UTC), budget_max=Decimal("100000"))
    tender.cpv_codes = [TenderCpvCode(code=c) for c in cpv]
    tender.requirements = [TenderRequirement(kind=RequirementKind(k), value=v, position=i)
                           for i, (k, v) in enumerate(requirements)]
    db.session.add(tender)
    db.session.commit()
    return tender


def give_profile(org: Organisation, *, capabilities=(), cpv=(), certs=()) -> Profile:
    profile = Profile(organisation=org, published_at=datetime.now(UTC))
    profile.capabilities = [ProfileCapability(tag=t) for t in capabilities]
    profile.cpv_codes = [ProfileCpvCode(code=c) for c in cpv]
    profile.certifications = [Certification(name=n, valid_until=d) for n, d in certs]
    db.session.add(profile)
    db.session.commit()
    return profile


def make_alliance(name: str, lead: Organisation, *members: Organisation) -> Alliance:
    alliance = Alliance(name=name, slug=name.lower().replace(" ", "-")[:80])
    alliance.members = [AllianceMember(organisation_id=lead.id, role=AllianceRole.LEAD)] + [
        AllianceMember(organisation_id=m.id, role=AllianceRole.MEMBER) for m in members]
    db.session.add(alliance)
    db.session.commit()
    return alliance


@dataclass
class Team:
    tender: Tender
    buyer: Organisation
    buyer_owner: User
    lead: Organisation
    lead_owner: User
    partners: list[Organisation]
    partner_owners: list[User]


def build_team(app, make_user, make_org, *, partners=1, deadline=None, **tender_kw) -> Team:
    buyer_owner = make_user(name="Bea Buyer")
    buyer = make_org(buyer_owner, name="Town Council", is_buyer=True)
    tender = make_tender(buyer, deadline=deadline, **tender_kw)
    lead_owner = make_user(name="Lena Lead")
    lead = make_org(lead_owner, name="Lead Roofing")
    give_profile(lead, capabilities=["roofing"], cpv=["45261000"],
                 certs=[("ISO 9001", date(2099, 1, 1))])
    owners, orgs = [], []
    for i in range(partners):
        owner = make_user(name=f"Pat Partner {i}")
        org = make_org(owner, name=f"Partner Firm {i}")
        give_profile(org, capabilities=["scaffolding"], cpv=["45262100"])
        owners.append(owner)
        orgs.append(org)
    return Team(tender, buyer, buyer_owner, lead, lead_owner, orgs, owners)


def start_bid(app, team: Team, *, price=Decimal("90000.00"), proposal="We will fix it.",
              request=True) -> Bid:
    """A joint bid led by team.lead with every partner, shares split, approval requested."""
    now = datetime.now(UTC)
    with acting(app, team.lead_owner):
        bid = services.create_bid(team.lead_owner, team.tender, f"org:{team.lead.id}", now)
        for org in team.partners:
            services.add_member(team.lead_owner, bid.id, bid.version, org, BidRole.MEMBER, now)
        n = len(team.partners) + 1
        base = (Decimal("100") / n).quantize(Decimal("0.01"))
        shares = [base] * n
        shares[0] += Decimal("100") - sum(shares)
        lines = [services.MemberLine(m.organisation_id,
                                     BidRole.LEAD if m.organisation_id == team.lead.id
                                     else BidRole.MEMBER, shares[i])
                 for i, m in enumerate(bid.members)]
        services.update_bid(team.lead_owner, bid.id, bid.version, price=price, currency="GBP",
                            proposal=proposal, members=lines, now=now)
        if request:
            services.request_approval(team.lead_owner, bid.id, bid.version, now)
        db.session.commit()
    return db.session.get(Bid, bid.id)


def approve_all(app, team: Team, bid: Bid, now=None, *, skip_last=False) -> None:
    owners = [team.lead_owner, *team.partner_owners]
    orgs = [team.lead, *team.partners]
    if skip_last:
        owners, orgs = owners[:-1], orgs[:-1]
    for owner, org in zip(owners, orgs, strict=True):
        with acting(app, owner):
            services.approve(owner, bid.id, org.id, bid.version, now or datetime.now(UTC))
            db.session.commit()
