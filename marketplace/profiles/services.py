"""Profile use cases: edit, publish, CPV codes, certifications, logo, completeness, directory.

Every change goes through the profile row, whose ``version`` column SQLAlchemy checks on
each UPDATE (``version_id_col``): a save based on an older version, or one that races
another save, is refused with ``Conflict`` instead of silently overwriting. Every change also
writes a search-outbox row for the organisation in the same transaction.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from marketplace import cpv
from marketplace.data.gazetteer import Town, find_town
from marketplace.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.geo import bounding_box, haversine_km
from marketplace.models import (
    Certification,
    Organisation,
    Profile,
    ProfileCapability,
    ProfileCpvCode,
    SizeBand,
)
from marketplace.permissions import can_edit_profile
from marketplace.search_outbox import record_change

MAX_CPV_CODES = 40
MAX_CERTIFICATIONS = 30
DESCRIPTION_GOOD_LENGTH = 200
CONFLICT_MESSAGE = ("Someone else saved this profile while you were editing it. "
                    "Your changes have not been saved yet.")


# -- loading and guarding ------------------------------------------------------------------

def _require_editor(actor, org: Organisation) -> None:
    if not can_edit_profile(actor, org):
        raise PermissionDenied("Only the organisation's owners and admins can change its "
                               "profile.")


def new_profile(org: Organisation) -> Profile:
    """An unsaved, empty profile for forms and the completeness meter (version 0)."""
    return Profile(organisation_id=org.id, description="", version=0, capabilities=[],
                   cpv_codes=[], certifications=[])


def _ensure_profile(org: Organisation) -> Profile:
    if org.profile is None:
        org.profile = Profile(description="")
        db.session.add(org.profile)
    return org.profile


def _changed(profile: Profile, now: datetime) -> None:
    """Mark the profile row dirty, so its version is checked and bumped, and queue reindexing."""
    profile.updated_at = now
    record_change("organisation", profile.organisation.id)


def _flush_or_conflict() -> None:
    try:
        db.session.flush()
    except StaleDataError:
        raise Conflict(CONFLICT_MESSAGE) from None
    except IntegrityError:
        # A concurrent first save of the same profile, or the same code/tag added twice.
        raise Conflict(CONFLICT_MESSAGE) from None


# -- the main form ---------------------------------------------------------------------------

@dataclass
class ProfileData:
    name: str
    summary: str = ""
    description: str = ""
    capabilities: list[str] = field(default_factory=list)
    size: SizeBand | None = None
    employees: int | None = None
    year_founded: int | None = None
    website: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    phone: str | None = None
    town: str | None = None
    postcode: str | None = None
    region: str | None = None
    lat: float | None = None
    lon: float | None = None
    service_radius_km: int | None = None


FIELD_LABELS = {
    "name": "Organisation name", "summary": "Short summary", "description": "Description",
    "capabilities": "Capabilities", "size": "Size", "employees": "Employees",
    "year_founded": "Year founded", "website": "Website", "contact_name": "Contact person",
    "contact_email": "Contact e-mail", "phone": "Phone", "town": "Town",
    "postcode": "Postcode", "region": "Region", "lat": "Latitude", "lon": "Longitude",
    "service_radius_km": "Service radius",
}


def current_data(org: Organisation) -> ProfileData:
    p = org.profile or new_profile(org)
    return ProfileData(
        name=org.name, summary=org.summary or "", description=p.description or "",
        capabilities=[c.tag for c in p.capabilities], size=p.size, employees=p.employees,
        year_founded=p.year_founded, website=p.website, contact_name=p.contact_name,
        contact_email=p.contact_email, phone=p.phone, town=p.town, postcode=p.postcode,
        region=p.region, lat=p.lat, lon=p.lon, service_radius_km=p.service_radius_km)


def differing_fields(saved: ProfileData, mine: ProfileData) -> list[str]:
    """Labels of the fields where the saved profile differs from what the user submitted,
    so the 409 page can say exactly what to compare."""
    out = []
    for name, label in FIELD_LABELS.items():
        a, b = getattr(saved, name), getattr(mine, name)
        if name == "capabilities":
            a, b = sorted(a), sorted(b)
        if (a or None) != (b or None):
            out.append(label)
    return out


def resolve_location(data: ProfileData, previous: ProfileData) -> ProfileData:
    """Fill coordinates (and region) from the gazetteer when a known town is chosen.

    Typed coordinates win, unless the town changed and the coordinates are still the old
    town's, which would otherwise leave the pin behind in the old place.
    """
    town = find_town(data.town) if data.town else None
    if town is None:
        return data
    data.town = town.name
    stale = (data.town != previous.town and data.lat == previous.lat
             and data.lon == previous.lon)
    if data.lat is None or data.lon is None or stale:
        data.lat, data.lon = town.lat, town.lon
    if not data.region:
        data.region = town.region
    return data


def update_profile(actor, org: Organisation, data: ProfileData, *, expected_version: int,
                   now: datetime) -> Profile:
    """Save the main profile form. ``expected_version`` is the version the form was based on
    (0 when there was no profile yet); anything else raises Conflict."""
    _require_editor(actor, org)
    current_version = org.profile.version if org.profile is not None else 0
    if current_version != expected_version:
        raise Conflict(CONFLICT_MESSAGE)
    data = resolve_location(data, current_data(org))
    profile = _ensure_profile(org)
    org.name = data.name
    org.summary = data.summary or ""
    for name in ("description", "size", "employees", "year_founded", "website",
                 "contact_name", "contact_email", "phone", "town", "postcode", "region",
                 "lat", "lon", "service_radius_km"):
        setattr(profile, name, getattr(data, name))
    profile.description = profile.description or ""
    _replace_capabilities(profile, data.capabilities)
    _changed(profile, now)
    _flush_or_conflict()
    return profile


def _replace_capabilities(profile: Profile, tags: list[str]) -> None:
    # Keep rows for tags that stay: deleting and re-inserting the same tag in one flush
    # would trip the unique constraint (the unit of work inserts before it deletes).
    wanted = list(dict.fromkeys(t.lower() for t in tags))
    keep = [c for c in profile.capabilities if c.tag in wanted]
    have = {c.tag for c in keep}
    profile.capabilities = keep + [ProfileCapability(tag=t) for t in wanted if t not in have]


# -- publishing ------------------------------------------------------------------------------

def publish_requirements(org: Organisation) -> list[str]:
    p = org.profile
    missing = []
    if not (org.summary or "").strip():
        missing.append("a short summary")
    if p is None or not (p.description or "").strip():
        missing.append("a description")
    if p is None or not (p.capabilities or p.cpv_codes):
        missing.append("at least one capability or CPV code")
    if p is None or not (p.town or (p.lat is not None and p.lon is not None)):
        missing.append("a location")
    return missing


def publish_profile(actor, org: Organisation, now: datetime) -> Profile:
    _require_editor(actor, org)
    missing = publish_requirements(org)
    if missing:
        raise InvalidState("Before publishing, add " + ", ".join(missing) + ".")
    profile = org.profile
    if profile.published_at is None:
        profile.published_at = now
        _changed(profile, now)
        _flush_or_conflict()
    return profile


def unpublish_profile(actor, org: Organisation, now: datetime) -> Profile:
    _require_editor(actor, org)
    profile = org.profile
    if profile is None or profile.published_at is None:
        raise InvalidState("The profile is not published.")
    profile.published_at = None
    _changed(profile, now)
    _flush_or_conflict()
    return profile


# -- CPV codes -------------------------------------------------------------------------------

def add_cpv_code(actor, org: Organisation, code: str, now: datetime) -> Profile:
    _require_editor(actor, org)
    if not cpv.is_valid_code(code):
        raise ValidationFailed("That is not a CPV code we know.")
    profile = _ensure_profile(org)
    if any(c.code == code for c in profile.cpv_codes):
        raise InvalidState(f"{code} is already on your profile.")
    if len(profile.cpv_codes) >= MAX_CPV_CODES:
        raise InvalidState(f"A profile can list up to {MAX_CPV_CODES} CPV codes. Remove one "
                           "first; broader codes cover their sub-codes in searches.")
    profile.cpv_codes.append(ProfileCpvCode(code=code))
    _changed(profile, now)
    _flush_or_conflict()
    return profile


def remove_cpv_code(actor, org: Organisation, code: str, now: datetime) -> Profile:
    _require_editor(actor, org)
    profile = org.profile
    row = next((c for c in profile.cpv_codes if c.code == code), None) if profile else None
    if row is None:
        raise NotFound("That code is not on your profile.")
    profile.cpv_codes.remove(row)
    _changed(profile, now)
    _flush_or_conflict()
    return profile


def code_suggestions(org: Organisation, limit: int = 8) -> list[cpv.CodeHit]:
    profile = org.profile
    if profile is None:
        return []
    text = "\n".join([org.summary or "", profile.description or ""])
    return cpv.suggest_codes(text, [c.tag for c in profile.capabilities],
                             exclude={c.code for c in profile.cpv_codes}, limit=limit)


# -- certifications --------------------------------------------------------------------------

@dataclass
class CertificationData:
    name: str
    issuer: str | None = None
    number: str | None = None
    valid_until: date | None = None


def certification_of(org: Organisation, certification_id: int) -> Certification:
    """The certification, if it belongs to this organisation's profile (else NotFound)."""
    cert = db.session.get(Certification, certification_id)
    if cert is None or org.profile is None or cert.profile_id != org.profile.id:
        raise NotFound("No such certification.")
    return cert


def add_certification(actor, org: Organisation, data: CertificationData,
                      now: datetime) -> Certification:
    _require_editor(actor, org)
    profile = _ensure_profile(org)
    if len(profile.certifications) >= MAX_CERTIFICATIONS:
        raise InvalidState(f"A profile can list up to {MAX_CERTIFICATIONS} certifications.")
    cert = Certification(name=data.name, issuer=data.issuer, number=data.number,
                         valid_until=data.valid_until)
    profile.certifications.append(cert)
    _changed(profile, now)
    _flush_or_conflict()
    return cert


def update_certification(actor, org: Organisation, cert: Certification,
                         data: CertificationData, now: datetime) -> Certification:
    _require_editor(actor, org)
    cert.name, cert.issuer, cert.number = data.name, data.issuer, data.number
    cert.valid_until = data.valid_until
    _changed(org.profile, now)
    _flush_or_conflict()
    return cert


def remove_certification(actor, org: Organisation, cert: Certification, now: datetime) -> None:
    _require_editor(actor, org)
    org.profile.certifications.remove(cert)
    _changed(org.profile, now)
    _flush_or_conflict()


def valid_certifications(profile: Profile | None, day: date) -> list[Certification]:
    """Certifications that count on ``day`` (no expiry, or expiring on or after it).
    Eligibility checks use this; expired ones are shown but never count."""
    if profile is None:
        return []
    return [c for c in profile.certifications if c.is_valid_on(day)]


# -- logo ------------------------------------------------------------------------------------

def set_logo(actor, org: Organisation, stored_name: str, now: datetime) -> str | None:
    """Point the profile at a newly stored logo; returns the old file's name, which the
    caller deletes after the commit."""
    _require_editor(actor, org)
    profile = _ensure_profile(org)
    old = profile.logo_filename
    profile.logo_filename = stored_name
    _changed(profile, now)
    _flush_or_conflict()
    return old


def remove_logo(actor, org: Organisation, now: datetime) -> str | None:
    _require_editor(actor, org)
    profile = org.profile
    if profile is None or not profile.logo_filename:
        raise InvalidState("There is no logo to remove.")
    old = profile.logo_filename
    profile.logo_filename = None
    _changed(profile, now)
    _flush_or_conflict()
    return old


# -- completeness ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CompletenessItem:
    key: str
    label: str
    section: str  # which editor tab fixes it: details, cpv, certifications, logo
    done: bool


@dataclass(frozen=True)
class Completeness:
    items: list[CompletenessItem]

    @property
    def percent(self) -> int:
        return round(100 * sum(i.done for i in self.items) / len(self.items))

    @property
    def missing(self) -> list[CompletenessItem]:
        return [i for i in self.items if not i.done]


def completeness(org: Organisation) -> Completeness:
    p = org.profile or new_profile(org)
    checks = [
        ("summary", "A short summary", "details", bool((org.summary or "").strip())),
        ("description", f"A description of at least {DESCRIPTION_GOOD_LENGTH} characters",
         "details", len((p.description or "").strip()) >= DESCRIPTION_GOOD_LENGTH),
        ("capabilities", "At least three capabilities", "details", len(p.capabilities) >= 3),
        ("cpv", "At least one CPV code", "cpv", bool(p.cpv_codes)),
        ("size", "Size band and number of employees", "details",
         p.size is not None and p.employees is not None),
        ("year_founded", "Year founded", "details", p.year_founded is not None),
        ("website", "Website", "details", bool(p.website)),
        ("contact", "Contact e-mail or phone", "details", bool(p.contact_email or p.phone)),
        ("location", "Town and coordinates", "details",
         bool(p.town) and p.lat is not None and p.lon is not None),
        ("radius", "Service radius", "details", p.service_radius_km is not None),
        ("certifications", "A certification or accreditation", "certifications",
         bool(p.certifications)),
        ("logo", "Logo", "logo", bool(p.logo_filename)),
    ]
    return Completeness([CompletenessItem(*c) for c in checks])


# -- tags and directory facets -----------------------------------------------------------

def _listed():
    """Profiles the directory may show: published, not hidden by moderators, not buyers."""
    return (Profile.published_at.is_not(None), Organisation.hidden_at.is_(None),
            Organisation.is_buyer.is_(False))


def popular_tags(limit: int = 40) -> list[str]:
    count = func.count(ProfileCapability.id)
    rows = db.session.execute(
        select(ProfileCapability.tag, count).join(Profile).join(Organisation)
        .where(*_listed()).group_by(ProfileCapability.tag)
        .order_by(count.desc(), ProfileCapability.tag).limit(limit))
    return [tag for tag, _ in rows]


def certification_names(day: date, limit: int = 60) -> list[str]:
    """Names of certifications currently valid on listed profiles, most common first."""
    count = func.count(Certification.id)
    rows = db.session.execute(
        select(Certification.name, count).join(Profile).join(Organisation)
        .where(*_listed(), or_(Certification.valid_until.is_(None),
                               Certification.valid_until >= day))
        .group_by(Certification.name).order_by(count.desc(), Certification.name).limit(limit))
    return [name for name, _ in rows]


# -- the directory ---------------------------------------------------------------------------

ANY_CERTIFICATION = "*"


@dataclass
class DirectoryQuery:
    words: list[str] = field(default_factory=list)
    cpv_prefix: str | None = None
    tag: str | None = None
    near: Town | None = None
    within_km: int | None = None
    size: SizeBand | None = None
    certification: str | None = None  # a name, or ANY_CERTIFICATION
    sort: str = "name"
    # Organisation ids the search index matched for the words (stemming, phrases, prefixes,
    # Chinese); the words' literal LIKE still applies too, so a profile published since the
    # indexer last ran is found.
    text_ids: list[int] | None = None


@dataclass
class DirectoryEntry:
    profile: Profile
    distance_km: float | None = None

    @property
    def serves_place(self) -> bool:
        r = self.profile.service_radius_km
        return self.distance_km is not None and r is not None and self.distance_km <= r


@dataclass
class DirectoryPage:
    """Quacks like Flask-SQLAlchemy's Pagination for the pager macro."""

    entries: list[DirectoryEntry]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def _like(words: str) -> str:
    escaped = words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _filters(q: DirectoryQuery, today: date) -> list:
    conditions = list(_listed())
    literal = []
    for word in q.words[:8]:
        pattern = _like(word)
        literal.append(or_(
            func.lower(Organisation.name).like(pattern, escape="\\"),
            func.lower(Organisation.summary).like(pattern, escape="\\"),
            func.lower(Profile.description).like(pattern, escape="\\"),
            exists().where(ProfileCapability.profile_id == Profile.id,
                           ProfileCapability.tag.like(pattern, escape="\\"))))
    if q.text_ids:
        conditions.append(or_(Organisation.id.in_(q.text_ids), and_(*literal)))
    else:
        conditions.extend(literal)
    if q.cpv_prefix:
        conditions.append(exists().where(ProfileCpvCode.profile_id == Profile.id,
                                         ProfileCpvCode.code.like(q.cpv_prefix + "%")))
    if q.tag:
        conditions.append(exists().where(ProfileCapability.profile_id == Profile.id,
                                         ProfileCapability.tag == q.tag.lower()))
    if q.size:
        conditions.append(Profile.size == q.size)
    if q.certification:
        valid = [Certification.profile_id == Profile.id,
                 or_(Certification.valid_until.is_(None), Certification.valid_until >= today)]
        if q.certification != ANY_CERTIFICATION:
            valid.append(func.lower(Certification.name) == q.certification.lower())
        conditions.append(exists().where(*valid))
    if q.near and q.within_km:
        box = bounding_box(q.near.lat, q.near.lon, q.within_km)
        conditions.append(and_(Profile.lat.between(box.min_lat, box.max_lat),
                               Profile.lon.between(box.min_lon, box.max_lon)))
    return conditions


def _load_profiles(ids: list[int]) -> dict[int, Profile]:
    rows = db.session.scalars(
        select(Profile).where(Profile.id.in_(ids)).options(
            selectinload(Profile.organisation), selectinload(Profile.capabilities),
            selectinload(Profile.cpv_codes), selectinload(Profile.certifications)))
    return {p.id: p for p in rows}


def search_directory(q: DirectoryQuery, *, page: int, per_page: int,
                     today: date) -> DirectoryPage:
    """Filter in SQL; when a place is given, SQL keeps only a bounding box around it and
    the exact haversine distance is checked and sorted on in Python (the same on SQLite
    and PostgreSQL, no extensions)."""
    conditions = _filters(q, today)
    base = select(Profile.id).join(Organisation, Profile.organisation_id == Organisation.id)
    if q.near:
        rows = db.session.execute(
            select(Profile.id, Profile.lat, Profile.lon, Organisation.name,
                   Profile.published_at)
            .join(Organisation, Profile.organisation_id == Organisation.id).where(*conditions))
        found = []
        for pid, lat, lon, name, published in rows:
            d = haversine_km(q.near.lat, q.near.lon, lat, lon) if lat is not None and \
                lon is not None else None
            if q.within_km and (d is None or d > q.within_km):
                continue
            found.append((pid, d, name.lower(), published))
        if q.sort == "distance":
            found.sort(key=lambda r: (r[1] is None, r[1] or 0.0, r[2], r[0]))
        elif q.sort == "newest":
            found.sort(key=lambda r: (r[3].timestamp(), r[0]), reverse=True)
        else:
            found.sort(key=lambda r: (r[2], r[0]))
        total = len(found)
        page = _clamp_page(page, total, per_page)
        chunk = found[(page - 1) * per_page: page * per_page]
        profiles = _load_profiles([r[0] for r in chunk])
        entries = [DirectoryEntry(profiles[pid], None if d is None else round(d, 1))
                   for pid, d, *_ in chunk]
        return DirectoryPage(entries, page, per_page, total)

    total = db.session.scalar(select(func.count()).select_from(
        base.where(*conditions).subquery()))
    page = _clamp_page(page, total, per_page)
    if q.sort == "newest":
        order = (Profile.published_at.desc(), Profile.id.desc())
    else:
        order = (func.lower(Organisation.name), Profile.id)
    ids = list(db.session.scalars(base.where(*conditions).order_by(*order)
                                  .limit(per_page).offset((page - 1) * per_page)))
    profiles = _load_profiles(ids)
    return DirectoryPage([DirectoryEntry(profiles[i]) for i in ids], page, per_page, total)


def _clamp_page(page: int, total: int, per_page: int) -> int:
    last = max(1, math.ceil(total / per_page))
    return min(max(1, page), last)
