"""API use cases: what a caller may read (as plain dicts for the schemas), cursor pages,
and the writes, which go through the same services as the web forms.

Visibility follows the site's predicates: published profiles, visible alliances, non-draft
tenders and confirmed projects for everyone; drafts only for the owning organisation's
people. Bids are never read here (they are sealed, and the OCDS feed handles the opened
ones). Services flush; the views commit.
"""

import base64
import binascii
import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from flask import url_for
from sqlalchemy import and_, exists, false, or_, select
from sqlalchemy.orm import aliased, selectinload

from marketplace.alliances.overview import overview
from marketplace.errors import (
    Conflict,
    InvalidState,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from marketplace.extensions import db
from marketplace.models import (
    Alliance,
    ApiToken,
    Clarification,
    CreditStatus,
    Membership,
    Organisation,
    Profile,
    ProjectCredit,
    ProjectExample,
    RequirementKind,
    SizeBand,
    Tender,
    TenderStatus,
    TokenScope,
    User,
)
from marketplace.permissions import (
    can_edit_profile,
    can_see_profile_contact,
    can_view_alliance,
    can_view_profile,
    can_view_tender,
    is_member,
    is_org_manager,
)
from marketplace.profiles import services as profile_services
from marketplace.projects.services import public_project
from marketplace.tenders import services as tender_services
from marketplace.tenders.lifecycle import effective_status, status_clause
from marketplace.tokens import hash_token, new_token

MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL; anything larger is simply absent


class ApiValidationError(Exception):
    """Input that passed the schema but breaks a rule of the domain, with per-field reasons."""

    def __init__(self, message: str, fields: dict[str, str]):
        super().__init__(message)
        self.message = message
        self.fields = fields


# -- cursors --------------------------------------------------------------------------------

def encode_cursor(value: dict) -> str:
    raw = json.dumps(value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, key: str) -> int | None:
    """The position a cursor stands for; a cursor that is not ours is a 422, never a 500."""
    if not cursor:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        value = data[key]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        value = None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_ID:
        raise ApiValidationError("The cursor is not valid; start again without it.",
                                 {"cursor": "Not a cursor from this API."})
    return value


@dataclass
class Page:
    items: list
    next_cursor: str | None


def keyset_page(query, id_column, limit: int, cursor: str | None) -> Page:
    """Ascending by id, after the cursor's id: stable while rows are added or removed."""
    after = decode_cursor(cursor, "after")
    if after is not None:
        query = query.where(id_column > after)
    rows = list(db.session.scalars(query.order_by(id_column).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor({"after": rows[-1].id}) if more and rows else None)


def get_or_404(model, object_id: int, message: str):
    obj = db.session.get(model, object_id) if 0 < object_id <= MAX_ID else None
    if obj is None:
        raise NotFound(message)
    return obj


def _member_org_ids(user: User | None):
    if user is None:
        return select(Membership.organisation_id).where(false())
    return select(Membership.organisation_id).where(Membership.user_id == user.id)


def _ref(org: Organisation) -> dict:
    return {"id": org.id, "slug": org.slug, "name": org.name}


# -- organisations --------------------------------------------------------------------------

def organisations_page(user: User | None, limit: int, cursor: str | None) -> Page:
    public = and_(Profile.published_at.is_not(None), Organisation.hidden_at.is_(None))
    query = (select(Organisation).outerjoin(Profile, Profile.organisation_id == Organisation.id)
             .where(or_(public, Organisation.id.in_(_member_org_ids(user))))
             .options(selectinload(Organisation.profile)))
    return keyset_page(query, Organisation.id, limit, cursor)


def organisation_for(user: User | None, org_id: int) -> Organisation:
    org = get_or_404(Organisation, org_id, "No such organisation.")
    if not can_view_profile(user, org):
        raise NotFound("No such organisation.")
    return org


def organisation_dict(user: User | None, org: Organisation) -> dict:
    p = org.profile
    contact = can_see_profile_contact(user, org)
    manager = can_edit_profile(user, org)
    return {
        "id": org.id, "slug": org.slug, "name": org.name, "summary": org.summary or "",
        "is_buyer": org.is_buyer, "published": bool(p and p.is_published),
        "description": (p.description if p else "") or "",
        "capabilities": [c.tag for c in p.capabilities] if p else [],
        "cpv_codes": [c.code for c in p.cpv_codes] if p else [],
        "certifications": [{"name": c.name, "issuer": c.issuer,
                            "number": c.number if manager else None,
                            "valid_until": c.valid_until}
                           for c in p.certifications] if p else [],
        "size": p.size.value if p and p.size else None,
        "employees": p.employees if p else None,
        "year_founded": p.year_founded if p else None,
        "website": p.website if p else None,
        "contact_name": p.contact_name if p and contact else None,
        "contact_email": p.contact_email if p and contact else None,
        "phone": p.phone if p and contact else None,
        "town": p.town if p else None, "postcode": p.postcode if p else None,
        "region": p.region if p else None,
        "lat": p.lat if p else None, "lon": p.lon if p else None,
        "service_radius_km": p.service_radius_km if p else None,
        "version": p.version if p else 0,
        "url": url_for("orgs.show", slug=org.slug, _external=True),
    }


def update_organisation(user: User, org_id: int, data: dict, now: datetime) -> Organisation:
    org = get_or_404(Organisation, org_id, "No such organisation.")
    if not is_member(user, org):
        raise NotFound("No such organisation.")
    if not is_org_manager(user, org):
        raise PermissionDenied("Only the organisation's owners and admins can change its "
                               "profile.")
    version = data.pop("version")
    cpv_codes = data.pop("cpv_codes", None)
    certifications = data.pop("certifications", None)
    published = data.pop("published", None)
    current = profile_services.current_data(org)
    if "capabilities" in data:
        data["capabilities"] = list(dict.fromkeys(
            " ".join(t.split()).lower() for t in data["capabilities"]))
    if data.get("size") is not None:
        data["size"] = SizeBand(data["size"])
    if data.get("postcode"):
        data["postcode"] = " ".join(data["postcode"].split()).upper()
    wanted = replace(current, **data)
    for name in ("summary", "description"):
        setattr(wanted, name, (getattr(wanted, name) or "").strip())
    profile_services.update_profile(user, org, wanted, expected_version=version, now=now)
    # The version check above covers the whole request: the steps below run in the same
    # transaction, each through the profile services (which bump the version and queue
    # reindexing), and the view commits once, so a failure leaves nothing half-applied.
    if cpv_codes is not None:
        _replace_cpv_codes(user, org, cpv_codes, now)
    if certifications is not None:
        _replace_certifications(user, org, certifications, now)
    if published is not None:
        _set_published(user, org, published, now)
    return org


def _replace_cpv_codes(user: User, org: Organisation, codes: list[str], now: datetime) -> None:
    wanted = list(dict.fromkeys(codes))
    have = [c.code for c in org.profile.cpv_codes]
    # Remove first, so the profile's code limit counts the new list, not old plus new.
    for code in have:
        if code not in wanted:
            profile_services.remove_cpv_code(user, org, code, now)
    for code in wanted:
        if code not in have:
            profile_services.add_cpv_code(user, org, code, now)


def _cert_key(name, issuer, number, valid_until) -> tuple:
    return (name, issuer or None, number or None, valid_until)


def _replace_certifications(user: User, org: Organisation, items: list[dict],
                            now: datetime) -> None:
    wanted = [profile_services.CertificationData(
        name=" ".join(i["name"].split()), issuer=(i.get("issuer") or "").strip() or None,
        number=(i.get("number") or "").strip() or None, valid_until=i.get("valid_until"))
        for i in items]
    wanted_keys = [_cert_key(w.name, w.issuer, w.number, w.valid_until) for w in wanted]
    # Unchanged certifications keep their rows (and ids); only the difference is written.
    remaining = list(wanted_keys)
    for cert in list(org.profile.certifications):
        key = _cert_key(cert.name, cert.issuer, cert.number, cert.valid_until)
        if key in remaining:
            remaining.remove(key)
        else:
            profile_services.remove_certification(user, org, cert, now)
    for data, key in zip(wanted, wanted_keys, strict=True):
        if key in remaining:
            remaining.remove(key)
            profile_services.add_certification(user, org, data, now)


def _set_published(user: User, org: Organisation, published: bool, now: datetime) -> None:
    if published:
        try:
            profile_services.publish_profile(user, org, now)
        except InvalidState as exc:
            raise ApiValidationError(exc.message, {"published": exc.message}) from None
    elif org.profile.is_published:
        profile_services.unpublish_profile(user, org, now)


# -- alliances ------------------------------------------------------------------------------

def alliances_page(user: User | None, limit: int, cursor: str | None) -> Page:
    return keyset_page(select(Alliance).where(Alliance.hidden_at.is_(None)), Alliance.id,
                       limit, cursor)


def alliance_for(user: User | None, alliance_id: int) -> Alliance:
    alliance = get_or_404(Alliance, alliance_id, "No such alliance.")
    if not can_view_alliance(user, alliance):
        raise NotFound("No such alliance.")
    return alliance


def alliance_dict(alliance: Alliance) -> dict:
    view = overview(alliance)
    return {
        "id": alliance.id, "slug": alliance.slug, "name": alliance.name,
        "summary": alliance.summary or "", "description": alliance.description or "",
        "service_area": alliance.service_area or "", "dissolved": not alliance.is_live,
        "members": [{"organisation": _ref(m.organisation), "role": m.role.value}
                    for m in view.members],
        "capabilities": [tag for tag, _ in view.capabilities],
        "cpv_codes": [code for d in view.divisions for code, _ in d.codes],
        "url": url_for("alliances.show", slug=alliance.slug, _external=True),
    }


# -- projects -------------------------------------------------------------------------------

def _public_projects():
    owner = aliased(Organisation)
    partner = aliased(ProjectCredit)
    return (select(ProjectExample).join(owner, owner.id == ProjectExample.owner_org_id)
            .where(ProjectExample.hidden_at.is_(None), owner.hidden_at.is_(None),
                   exists().where(partner.project_id == ProjectExample.id,
                                  partner.organisation_id != ProjectExample.owner_org_id,
                                  partner.status == CreditStatus.CONFIRMED)))


def projects_page(limit: int, cursor: str | None) -> Page:
    page = keyset_page(_public_projects(), ProjectExample.id, limit, cursor)
    page.items = [v for v in (public_project(p) for p in page.items) if v is not None]
    return page


def project_for(project_id: int):
    project = get_or_404(ProjectExample, project_id, "No such project.")
    view = public_project(project)
    if view is None:
        raise NotFound("No such project.")
    return view


def project_dict(view) -> dict:
    return {
        "id": view.id, "title": view.title, "description": view.description or "",
        "year": view.year, "client": view.client or "", "value_amount": view.value_amount,
        "currency": view.currency, "place": view.place or "", "owner": _ref(view.owner),
        "partners": [{"organisation": _ref(p.organisation), "role": p.role,
                      "is_owner": p.is_owner} for p in view.partners],
        "alliance_id": view.alliance.id if view.alliance else None,
        "url": url_for("projects.show", project_id=view.id, _external=True),
    }


# -- tenders --------------------------------------------------------------------------------

def tenders_page(user: User | None, limit: int, cursor: str | None, *, now: datetime,
                 status: str | None = None, buyer_id: int | None = None) -> Page:
    buyer = aliased(Organisation)
    mine = Tender.buyer_id.in_(_member_org_ids(user))
    public = and_(Tender.status != TenderStatus.DRAFT, buyer.hidden_at.is_(None))
    query = (select(Tender).join(buyer, buyer.id == Tender.buyer_id)
             .where(or_(public, mine))
             .options(selectinload(Tender.cpv_codes), selectinload(Tender.requirements),
                      selectinload(Tender.documents)))
    if status:
        query = query.where(status_clause(TenderStatus(status), now))
    if buyer_id is not None:
        query = query.where(Tender.buyer_id == buyer_id)
    return keyset_page(query, Tender.id, limit, cursor)


def tender_for(user: User | None, tender_id: int) -> Tender:
    tender = get_or_404(Tender, tender_id, "No such tender.")
    if not can_view_tender(user, tender):
        raise NotFound("No such tender.")
    return tender


def _money(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def tender_dict(tender: Tender, now: datetime) -> dict:
    answered = db.session.scalars(
        select(Clarification).where(Clarification.tender_id == tender.id,
                                    Clarification.answer.is_not(None))
        .order_by(Clarification.id))
    return {
        "id": tender.id, "title": tender.title, "description": tender.description or "",
        "status": effective_status(tender, now).value, "buyer": _ref(tender.buyer),
        "cpv_codes": [c.code for c in tender.cpv_codes],
        "requirements": [{"kind": r.kind.value, "value": r.value} for r in tender.requirements],
        "town": tender.town, "region": tender.region, "postcode": tender.postcode,
        "lat": tender.lat, "lon": tender.lon,
        "budget_min": _money(tender.budget_min), "budget_max": _money(tender.budget_max),
        "currency": tender.currency, "deadline": tender.deadline,
        "deadline_zone": tender.deadline_zone, "published_at": tender.published_at,
        "documents": [{"name": d.original_name, "content_type": d.content_type, "size": d.size,
                       "url": url_for("tenders.download_document", tender_id=tender.id,
                                      document_id=d.id, _external=True)}
                      for d in tender.documents],
        "clarifications": [{"question": c.question, "answer": c.answer,
                            "answered_at": c.answered_at} for c in answered],
        "version": tender.version,
        "url": url_for("tenders.show", tender_id=tender.id, _external=True),
    }


def _terms_of(tender: Tender) -> tender_services.TenderTerms:
    return tender_services.TenderTerms(
        title=tender.title, description=tender.description or "",
        requirements=[(r.kind, r.value) for r in tender.requirements],
        cpv_codes=[c.code for c in tender.cpv_codes], town=tender.town,
        budget_min=tender.budget_min, budget_max=tender.budget_max, currency=tender.currency,
        deadline=tender.deadline, deadline_zone=tender.deadline_zone)


def _merge_terms(terms: tender_services.TenderTerms, data: dict) -> tender_services.TenderTerms:
    data = dict(data)
    if "requirements" in data:
        data["requirements"] = [(RequirementKind(r["kind"]), " ".join(r["value"].split()))
                                for r in data["requirements"]]
    if "description" in data:
        data["description"] = (data["description"] or "").strip()
    if "title" in data:
        data["title"] = " ".join(data["title"].split())
    if data.get("deadline_zone") is not None:
        _check_zone(data["deadline_zone"])
    terms = replace(terms, **data)
    problems = terms.problems()
    if problems:
        raise ApiValidationError("Please check the tender's terms.", problems)
    return terms


def _check_zone(zone: str) -> None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ApiValidationError("Unknown time zone.",
                                 {"deadline_zone": "Use an IANA zone such as Europe/London."}
                                 ) from None


def _managed_tender(user: User, tender_id: int) -> Tender:
    tender = get_or_404(Tender, tender_id, "No such tender.")
    if not is_member(user, tender.buyer):
        raise NotFound("No such tender.")
    if not is_org_manager(user, tender.buyer):
        raise PermissionDenied("Only owners and admins of the buyer organisation can do this.")
    if tender.is_imported:
        raise PermissionDenied("Imported notices mirror another portal and cannot be edited.")
    return tender


def create_tender(user: User, data: dict, now: datetime) -> Tender:
    org = get_or_404(Organisation, data.pop("buyer_id"), "No such organisation.")
    if not is_org_manager(user, org):
        raise NotFound("No such organisation among those you manage.")
    empty = tender_services.TenderTerms(title=data.get("title", ""))
    terms = _merge_terms(empty, data)
    return tender_services.create_tender(user, org, terms, now)


def update_tender(user: User, tender_id: int, data: dict, now: datetime) -> Tender:
    tender = _managed_tender(user, tender_id)
    version = data.pop("version")
    if version != tender.version:
        # Checked before validating, so a stale client hears about the conflict first.
        raise Conflict("Someone else changed this tender; read it again and re-apply your "
                       "changes.")
    terms = _merge_terms(_terms_of(tender), data)
    return tender_services.update_tender(user, tender, terms, version, now)


def publish_tender(user: User, tender_id: int, version: int, now: datetime) -> Tender:
    tender = _managed_tender(user, tender_id)
    try:
        return tender_services.publish_tender(user, tender, version, now)
    except ValidationFailed as exc:
        raise ApiValidationError(exc.message, {}) from None


# -- personal tokens ------------------------------------------------------------------------

MAX_TOKENS_PER_USER = 20
TOKEN_PREFIX = "gld_"  # noqa: S105 - public marker: leaked tokens are greppable  # nosec B105


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(),
                  ApiToken.id.desc())))


def create_token(user: User, name: str, scope: str, expires_in_days: int | None,
                 now: datetime) -> tuple[ApiToken, str]:
    """A new token for ``user``: returns the row and the secret, which is never stored and
    is shown once."""
    live = [t for t in tokens_of(user) if t.is_usable(now)]
    if len(live) >= MAX_TOKENS_PER_USER:
        raise ValidationFailed(f"You can have up to {MAX_TOKENS_PER_USER} active tokens; "
                               "revoke one first.")
    secret = TOKEN_PREFIX + new_token()[0]
    token = ApiToken(user_id=user.id, name=name, scope=TokenScope(scope),
                     token_hash=hash_token(secret), prefix=secret[:12], created_at=now,
                     expires_at=now + timedelta(days=expires_in_days)
                     if expires_in_days else None)
    db.session.add(token)
    db.session.flush()
    return token, secret


def revoke_token(user: User, token_id: int, now: datetime) -> ApiToken:
    token = get_or_404(ApiToken, token_id, "No such token.")
    if token.user_id != user.id:
        raise NotFound("No such token.")
    if token.revoked_at is None:
        token.revoked_at = now
        db.session.flush()
    return token
