"""Data for the search UI tests: real rows, written with their outbox rows, then indexed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from marketplace.extensions import db
from marketplace.models import (
    Alliance,
    AllianceMember,
    AllianceRole,
    Certification,
    Organisation,
    Profile,
    ProfileCapability,
    ProfileCpvCode,
    RequirementKind,
    SizeBand,
    Tender,
    TenderCpvCode,
    TenderRequirement,
    TenderStatus,
)
from marketplace.search import service
from marketplace.search_outbox import record_change

TODAY = date.today()
BRISTOL = (51.4545, -2.5879)
BATH = (51.3811, -2.3590)
SWINDON = (51.5558, -1.7797)


def business(make_org, name, *, description="", tags=(), cpv=(), certs=(), place=None,
             town=None, radius=40, size=SizeBand.SMALL, summary="", published=True,
             owner=None, **org_fields) -> Organisation:
    org = make_org(owner, name=name, summary=summary, **org_fields)
    lat, lon = place if place else (None, None)
    org.profile = Profile(
        description=description, town=town, lat=lat, lon=lon, size=size,
        service_radius_km=radius,
        published_at=datetime.now(UTC) - timedelta(days=1) if published else None,
        capabilities=[ProfileCapability(tag=t) for t in tags],
        cpv_codes=[ProfileCpvCode(code=c) for c in cpv],
        certifications=[Certification(name=n, valid_until=u) for n, u in
                        ((c, None) if isinstance(c, str) else c for c in certs)])
    db.session.flush()
    record_change("organisation", org.id)
    db.session.commit()
    return org


def tender(buyer, title, *, description="", cpv=(), requirements=(), place=None,
           town=None, status=TenderStatus.OPEN) -> Tender:
    now = datetime.now(UTC)
    lat, lon = place if place else (None, None)
    t = Tender(buyer=buyer, title=title, description=description, status=status,
               deadline=now + timedelta(days=10),
               published_at=now if status != TenderStatus.DRAFT else None,
               town=town, lat=lat, lon=lon)
    t.cpv_codes = [TenderCpvCode(code=c) for c in cpv]
    t.requirements = [TenderRequirement(kind=RequirementKind(k), value=v, position=i)
                      for i, (k, v) in enumerate(requirements)]
    db.session.add(t)
    db.session.flush()
    record_change("tender", t.id)
    db.session.commit()
    return t


def alliance(name, members, *, summary="") -> Alliance:
    a = Alliance(name=name, slug=name.lower().replace(" ", "-"), summary=summary)
    for i, org in enumerate(members):
        a.members.append(AllianceMember(organisation=org,
                                        role=AllianceRole.LEAD if i == 0 else AllianceRole.MEMBER))
    db.session.add(a)
    db.session.flush()
    record_change("alliance", a.id)
    db.session.commit()
    return a


def index_now() -> None:
    stats = service.catch_up()
    assert stats is not None, "the index writer lock was busy"
    service.close_searchers()
