"""The database, read as the search engine's plain input dicts (DESIGN.md interchange shapes).

One function per kind answers "what may the public index say about this object right now?":
a dict for :func:`marketplace.search.documents.document_for`, or ``None`` when nothing of it is
public (the indexer then deletes the document). Visibility rules live here and nowhere else in
the pipeline, so a rebuild and an incremental update can never disagree:

- organisation: a published profile of an organisation not hidden by moderation; only
  certifications valid today; ``track_record`` = confirmed public projects.
- alliance: live (not dissolved) and not hidden; the union of its visible members' capabilities,
  CPV codes, valid certifications and places.
- tender: published (never a draft) and buyer not hidden; status is the *effective* status
  (an open tender whose deadline passed reads as closed).
- project: public projects (confirmed partner credit) with confirmed credits only.

Bids are sealed and have no source here on purpose.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased, selectinload

from marketplace.clock import now as clock_now
from marketplace.extensions import db
from marketplace.models import (
    Alliance,
    AllianceMember,
    Organisation,
    Profile,
    ProjectCredit,
    ProjectExample,
    Tender,
)
from marketplace.models.project import CreditStatus
from marketplace.models.tender import TenderStatus

CHUNK = 500


# -------------------------------------------------------------- organisations

def _valid_certs(profile: Profile, at: datetime) -> list[str]:
    day = at.date()
    return [c.name for c in profile.certifications if c.is_valid_on(day)]


def profile_dict(org: Organisation, *, at: datetime | None = None,
                 track_record: int | None = None) -> dict:
    """An organisation as the engine sees it, whether or not its profile is public.

    Used for the organisation's own "tenders for you" (its own data, published or not) and,
    through :func:`organisation_dict`, for the index.
    """
    at = at or clock_now()
    p = org.profile
    d: dict = {"id": org.id, "name": org.name, "summary": org.summary or ""}
    if p is not None:
        d.update(
            description=p.description or "",
            capabilities=[c.tag for c in p.capabilities],
            cpv_codes=[c.code for c in p.cpv_codes],
            certifications=_valid_certs(p, at),
            size=p.size.value if p.size else None,
            town=p.town, postcode=p.postcode, region=p.region, lat=p.lat, lon=p.lon,
            service_radius_km=p.service_radius_km, website=p.website,
            version=p.version,
        )
    d["track_record"] = (track_record if track_record is not None
                         else track_record_counts([org.id]).get(org.id, 0))
    return d


def organisation_is_public(org: Organisation | None) -> bool:
    return (org is not None and org.hidden_at is None and org.profile is not None
            and org.profile.published_at is not None)


def organisation_dict(org: Organisation | None, *, at: datetime | None = None,
                      track_record: int | None = None) -> dict | None:
    if not organisation_is_public(org):
        return None
    return profile_dict(org, at=at, track_record=track_record)


def track_record_counts(org_ids: Iterable[int]) -> dict[int, int]:
    """Confirmed public projects per organisation (the same rule as
    ``projects.services.track_record_count``, in one grouped query)."""
    ids = list(org_ids)
    if not ids:
        return {}
    partner = aliased(ProjectCredit)
    owner = aliased(Organisation)
    confirmed_partner = select(partner.id).where(
        partner.project_id == ProjectExample.id,
        partner.organisation_id != ProjectExample.owner_org_id,
        partner.status == CreditStatus.CONFIRMED).exists()
    rows = db.session.execute(
        select(ProjectCredit.organisation_id, func.count(ProjectExample.id))
        .join(ProjectExample, ProjectExample.id == ProjectCredit.project_id)
        .join(owner, owner.id == ProjectExample.owner_org_id)
        .where(ProjectCredit.organisation_id.in_(ids),
               ProjectCredit.status == CreditStatus.CONFIRMED,
               ProjectExample.hidden_at.is_(None), owner.hidden_at.is_(None),
               confirmed_partner)
        .group_by(ProjectCredit.organisation_id))
    return {org_id: n for org_id, n in rows}


def _org_options():
    return (selectinload(Organisation.profile).selectinload(Profile.capabilities),
            selectinload(Organisation.profile).selectinload(Profile.cpv_codes),
            selectinload(Organisation.profile).selectinload(Profile.certifications))


# -------------------------------------------------------------- alliances

def alliance_dict(alliance: Alliance | None, *, at: datetime | None = None) -> dict | None:
    if alliance is None or not alliance.is_live or alliance.hidden_at is not None:
        return None
    at = at or clock_now()
    members = []
    lead_place: dict = {}
    for m in alliance.members:
        org = m.organisation
        if org.hidden_at is not None:
            continue
        md: dict = {"name": org.name}
        p = org.profile
        if p is not None and p.published_at is not None:
            md.update(capabilities=[c.tag for c in p.capabilities],
                      cpv_codes=[c.code for c in p.cpv_codes],
                      certifications=_valid_certs(p, at), lat=p.lat, lon=p.lon,
                      service_radius_km=p.service_radius_km)
            if not lead_place and m.role.value == "lead" and p.town:
                lead_place = {"town": p.town, "region": p.region}
        members.append(md)
    return {"id": alliance.id, "name": alliance.name,
            "summary": " ".join(x for x in (alliance.summary, alliance.service_area) if x),
            "description": alliance.description or "", "members": members,
            "track_record": _alliance_track_record(alliance.id),
            "version": alliance.version, **lead_place}


def _alliance_track_record(alliance_id: int) -> int:
    partner = aliased(ProjectCredit)
    return db.session.scalar(
        select(func.count(ProjectExample.id))
        .join(Organisation, Organisation.id == ProjectExample.owner_org_id)
        .where(ProjectExample.alliance_id == alliance_id, ProjectExample.hidden_at.is_(None),
               Organisation.hidden_at.is_(None),
               select(partner.id).where(
                   partner.project_id == ProjectExample.id,
                   partner.organisation_id != ProjectExample.owner_org_id,
                   partner.status == CreditStatus.CONFIRMED).exists())) or 0


def alliances_of(org_ids: Iterable[int]) -> list[int]:
    """Alliances whose indexed union depends on these organisations."""
    ids = list(org_ids)
    if not ids:
        return []
    return list(db.session.scalars(select(AllianceMember.alliance_id).distinct()
                                   .where(AllianceMember.organisation_id.in_(ids))))


def _alliance_options():
    org = selectinload(Alliance.members).selectinload(AllianceMember.organisation)
    return (org.selectinload(Organisation.profile).selectinload(Profile.capabilities),
            org.selectinload(Organisation.profile).selectinload(Profile.cpv_codes),
            org.selectinload(Organisation.profile).selectinload(Profile.certifications))


# -------------------------------------------------------------- tenders

def tender_input(tender: Tender, *, at: datetime | None = None) -> dict:
    """A tender as the engine's input dict, whatever its visibility (for matching a draft
    on its own page, say). The index only ever gets :func:`tender_dict`."""
    from marketplace.tenders.lifecycle import effective_status

    at = at or clock_now()
    return {
        "id": tender.id, "title": tender.title, "description": tender.description or "",
        "cpv_codes": [c.code for c in tender.cpv_codes],
        "requirements": [{"type": r.kind.value, "value": r.value} for r in tender.requirements],
        "town": tender.town, "region": tender.region, "lat": tender.lat, "lon": tender.lon,
        "status": effective_status(tender, at).value,
        "buyer": tender.original_buyer_name or (tender.buyer.name if tender.buyer else ""),
        "deadline": tender.deadline.isoformat() if tender.deadline else None,
        "currency": tender.currency, "version": tender.version,
    }


def tender_is_public(tender: Tender | None) -> bool:
    return (tender is not None and tender.status != TenderStatus.DRAFT
            and tender.buyer is not None and tender.buyer.hidden_at is None)


def tender_dict(tender: Tender | None, *, at: datetime | None = None) -> dict | None:
    if not tender_is_public(tender):
        return None
    return tender_input(tender, at=at)


def _tender_options():
    return (selectinload(Tender.cpv_codes), selectinload(Tender.requirements),
            selectinload(Tender.buyer))


# -------------------------------------------------------------- projects

def project_dict(project: ProjectExample | None) -> dict | None:
    from marketplace.projects.services import public_project

    if project is None:
        return None
    view = public_project(project)
    if view is None:
        return None
    d = view.search_dict()
    d["version"] = project.version
    return d


def _project_options():
    return (selectinload(ProjectExample.credits).selectinload(ProjectCredit.organisation),
            selectinload(ProjectExample.owner_org), selectinload(ProjectExample.alliance),
            selectinload(ProjectExample.photos))


# -------------------------------------------------------------- dispatch

MODELS = {"organisation": Organisation, "alliance": Alliance, "tender": Tender,
          "project": ProjectExample}
_OPTIONS = {"organisation": _org_options, "alliance": _alliance_options,
            "tender": _tender_options, "project": _project_options}


def load(kind: str, ids: Iterable[int]) -> dict[int, object]:
    """Objects of one kind by id, with what their dicts need eagerly loaded."""
    ids = sorted(set(ids))
    model = MODELS[kind]
    out: dict[int, object] = {}
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        rows = db.session.scalars(select(model).where(model.id.in_(chunk))
                                  .options(*_OPTIONS[kind]()))
        out.update({r.id: r for r in rows})
    return out


def dicts_for(kind: str, ids: Iterable[int], *, at: datetime | None = None
              ) -> dict[int, dict | None]:
    """``{id: input dict or None}`` for each id (None = not public or gone: delete it)."""
    at = at or clock_now()
    ids = list(dict.fromkeys(ids))
    objs = load(kind, ids)
    tracks = track_record_counts(ids) if kind == "organisation" else {}
    out: dict[int, dict | None] = {}
    for i in ids:
        obj = objs.get(i)
        if kind == "organisation":
            out[i] = organisation_dict(obj, at=at, track_record=tracks.get(i, 0))
        elif kind == "alliance":
            out[i] = alliance_dict(obj, at=at)
        elif kind == "tender":
            out[i] = tender_dict(obj, at=at)
        else:
            out[i] = project_dict(obj)
    return out


def _public_ids(kind: str) -> Iterator[int]:
    """Candidate ids for a full rebuild (the per-object rules above still decide)."""
    if kind == "organisation":
        q = (select(Organisation.id).join(Profile, Profile.organisation_id == Organisation.id)
             .where(Organisation.hidden_at.is_(None), Profile.published_at.is_not(None)))
    elif kind == "alliance":
        q = select(Alliance.id).where(Alliance.dissolved_at.is_(None),
                                      Alliance.hidden_at.is_(None))
    elif kind == "tender":
        q = (select(Tender.id).join(Organisation, Organisation.id == Tender.buyer_id)
             .where(Tender.status != TenderStatus.DRAFT, Organisation.hidden_at.is_(None)))
    else:
        q = (select(ProjectExample.id)
             .join(ProjectCredit, and_(ProjectCredit.project_id == ProjectExample.id,
                                       ProjectCredit.status == CreditStatus.CONFIRMED))
             .where(ProjectExample.hidden_at.is_(None)).distinct())
    return iter(sorted(db.session.scalars(q)))


def count_public(kind: str) -> int:
    return sum(1 for _ in _public_ids(kind))


def all_documents(*, at: datetime | None = None, kinds=("organisation", "alliance", "tender",
                                                         "project")) -> Iterator[dict]:
    """Every public document, for ``flask search rebuild``; chunked so memory stays flat."""
    from marketplace.search.documents import document_for

    at = at or clock_now()
    for kind in kinds:
        ids = list(_public_ids(kind))
        for i in range(0, len(ids), CHUNK):
            for d in dicts_for(kind, ids[i:i + CHUNK], at=at).values():
                if d is not None:
                    yield document_for(kind, d)
