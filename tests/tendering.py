"""Shared set-up for the tender-side tests: a buyer organisation with roles, tenders in any
state, and the form data the editor posts."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    Organisation,
    RequirementKind,
    Tender,
    TenderCpvCode,
    TenderRequirement,
    TenderStatus,
    User,
)

ROOFING = "45261000"  # Erection and related works of roof frames and coverings


@dataclass
class Buyer:
    org: Organisation
    owner: User
    admin: User
    member: User  # no management role


@dataclass
class Actors:
    buyer: Buyer
    outsider: User  # owner of another organisation
    outsider_org: Organisation
    site_admin: User


def make_buyer(make_user, make_org, name="Avonmere Council") -> Buyer:
    owner, admin, member = make_user(), make_user(), make_user()
    org = make_org(owner, name=name, members={admin: "admin", member: "member"},
                   is_buyer=True)
    return Buyer(org=org, owner=owner, admin=admin, member=member)


def make_actors(make_user, make_org) -> Actors:
    buyer = make_buyer(make_user, make_org)
    outsider = make_user()
    outsider_org = make_org(outsider, name="Severn Roofing")
    return Actors(buyer=buyer, outsider=outsider, outsider_org=outsider_org,
                  site_admin=make_user(site_admin=True))


def make_tender(buyer: Organisation, *, status=TenderStatus.OPEN, deadline=None,
                title="Roof repairs at three schools", description="Fix the school roofs.",
                cpv=(ROOFING,), requirements=(), town=None, lat=None, lon=None,
                budget_min=None, budget_max=Decimal("100000"), currency="GBP",
                **fields) -> Tender:
    now = datetime.now(UTC)
    tender = Tender(buyer=buyer, title=title, description=description, status=status,
                    deadline=deadline if deadline is not None else now + timedelta(days=10),
                    published_at=now if status != TenderStatus.DRAFT else None,
                    budget_min=budget_min, budget_max=budget_max, currency=currency,
                    town=town, lat=lat, lon=lon, **fields)
    tender.cpv_codes = [TenderCpvCode(code=c) for c in cpv]
    tender.requirements = [TenderRequirement(kind=RequirementKind(k), value=v, position=i)
                           for i, (k, v) in enumerate(requirements)]
    db.session.add(tender)
    db.session.commit()
    return tender


def tender_form(**overrides) -> dict:
    data = {
        "title": "Roof repairs at three schools",
        "description": "Replace the flat roofs of three primary schools in Keynsham.",
        "requirements": "flat roofing\ncertification: CHAS\ncpv: 45261000",
        "cpv_codes": "45261000, 45453000",
        "town": "Keynsham",
        "budget_min": "50000",
        "budget_max": "120000",
        "currency": "GBP",
        "deadline_local": (datetime.now(UTC) + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M"),
        "deadline_zone": "Europe/London",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def events(tender_id: int, action: str | None = None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.subject_kind == "tender",
                                     AuditEvent.subject_id == tender_id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(db.session.scalars(query.order_by(AuditEvent.id)))


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def reload(tender: Tender) -> Tender:
    db.session.expire_all()
    return db.session.get(Tender, tender.id)


def install_bids_stub(monkeypatch, *, needing_reminder=None):
    """Replace marketplace.bids.services' hooks with recorders (the real module is the
    bids side's; these tests check the tender side's half of the contract)."""
    import sys
    import types

    import marketplace.bids as bids_package

    calls = {"invalidate": [], "remind": []}
    module = types.ModuleType("marketplace.bids.services")

    def invalidate_bids_for(tender, now):
        calls["invalidate"].append((tender.id, now))
        return []

    def bids_needing_reminder(tender):
        calls["remind"].append(tender.id)
        return list((needing_reminder or {}).get(tender.id, []))

    module.invalidate_bids_for = invalidate_bids_for
    module.bids_needing_reminder = bids_needing_reminder
    monkeypatch.setitem(sys.modules, "marketplace.bids.services", module)
    monkeypatch.setattr(bids_package, "services", module, raising=False)
    return calls


def tender_terms(**overrides):
    from marketplace.tenders.services import TenderTerms

    values = {"title": "Roof repairs at three schools", "description": "Flat roofs.",
              "cpv_codes": [ROOFING], "budget_max": Decimal("90000"),
              "deadline": datetime.now(UTC) + timedelta(days=20)}
    values.update(overrides)
    return TenderTerms(**values)
