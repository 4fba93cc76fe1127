"""The demo: fictional local firms and buyers, and real UK tenders with future deadlines.

Deterministic: the same data every time, apart from deadlines, which are placed relative to
the day of seeding so that the demo always has open tenders.
"""

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib import resources

from sqlalchemy import func, select

from marketplace.cpv import is_valid_code, load_cpv_codes
from marketplace.data.demo_businesses import demo_businesses, demo_buyers
from marketplace.extensions import db
from marketplace.models import (
    Certification,
    Membership,
    Organisation,
    OrgRole,
    Profile,
    ProfileCapability,
    ProfileCpvCode,
    SizeBand,
    Tender,
    TenderCpvCode,
    TenderStatus,
    User,
)
from marketplace.orgs.services import slugify, unique_slug
from marketplace.passwords import hash_password, password_problems

IMPORT_USER_EMAIL = "open-data@guild.example"
DEMO_TENDER_COUNT = 80
CONTRACTS_FINDER_NOTICE = "https://www.contractsfinder.service.gov.uk/Notice/"


@dataclass
class SeedResult:
    organisations: int
    tenders: int


def demo_password(configured: str | None) -> tuple[str, bool]:
    """The configured demo password, or a new random one (and whether it was generated)."""
    if configured:
        return configured, False
    return secrets.token_urlsafe(12), True


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count(Organisation.id)))


def _user(email: str, name: str, password_hash: str) -> User:
    user = User(email=email.lower(), display_name=name, password_hash=password_hash)
    db.session.add(user)
    return user


def _org(owner: User, name: str, slug: str, summary: str, *, is_buyer=False) -> Organisation:
    org = Organisation(name=name, slug=unique_slug(slug), summary=summary, is_buyer=is_buyer)
    org.memberships.append(Membership(user=owner, role=OrgRole.OWNER))
    db.session.add(org)
    return org


def _profile(org: Organisation, b: dict, now: datetime) -> Profile:
    profile = Profile(
        organisation=org, description=b.get("description", ""),
        size=SizeBand(b["size"]) if b.get("size") else None, employees=b.get("employees"),
        year_founded=b.get("year_founded"), website=b.get("website"),
        contact_name=b.get("contact_name"), contact_email=b.get("contact_email"),
        phone=b.get("phone"), town=b.get("town"), postcode=b.get("postcode"),
        region=b.get("region"), lat=b.get("lat"), lon=b.get("lon"),
        service_radius_km=b.get("service_radius_km"), published_at=now)
    tags = dict.fromkeys(b.get("capabilities", []))
    profile.capabilities = [ProfileCapability(tag=t) for t in tags]
    profile.cpv_codes = [ProfileCpvCode(code=c) for c in dict.fromkeys(b.get("cpv_codes", []))
                         if is_valid_code(c)]
    profile.certifications = [
        Certification(name=c["name"], issuer=c.get("issuer"), number=c.get("number"),
                      valid_until=date.fromisoformat(c["valid_until"]) if c.get("valid_until")
                      else None)
        for c in b.get("certifications", [])]
    db.session.add(profile)
    return profile


def demo_tender_records() -> list[dict]:
    text = resources.files("marketplace.data").joinpath("demo_tenders_uk.jsonl").read_text("utf-8")
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    usable = [r for r in records if len(r.get("description") or "") > 80 and r.get("cpv_codes")]
    return usable[:DEMO_TENDER_COUNT]


def notice_url(record: dict) -> str | None:
    if record.get("notice_url"):
        return record["notice_url"]
    if record.get("source", "").startswith("uk_contracts_finder") and record["id"].startswith(
            "ocds-b5fd17-"):
        return CONTRACTS_FINDER_NOTICE + record["id"].removeprefix("ocds-b5fd17-")
    return None


def seed_demo(password: str, now: datetime | None = None,
              progress: Callable[[int], None] | None = None) -> SeedResult:
    """Write the whole demo in the current transaction (the caller commits)."""
    now = now or datetime.now(UTC)
    problems = password_problems(password)
    if problems:
        raise ValueError("DEMO_PASSWORD is not acceptable: " + " ".join(problems))
    load_cpv_codes()
    password_hash = hash_password(password)  # one hash, re-used: demo accounts share it

    org_count = 0
    for b in demo_businesses():
        owner = _user(b["owner"]["email"], b["owner"]["display_name"], password_hash)
        org = _org(owner, b["name"], b["key"], b["summary"])
        _profile(org, b, now)
        org_count += 1
        if progress:
            progress(1)

    buyers = []
    for b in demo_buyers():
        owner = _user(b["owner"]["email"], b["owner"]["display_name"], password_hash)
        org = _org(owner, b["name"], b["key"], b["summary"], is_buyer=True)
        _profile(org, b, now)
        buyers.append(org)
        org_count += 1

    importer = _user(IMPORT_USER_EMAIL, "Guild open-data desk", password_hash)
    buyer_orgs: dict[str, Organisation] = {}
    tenders = 0
    for i, record in enumerate(demo_tender_records()):
        buyer_name = record.get("buyer_name") or record.get("publisher") or "Public buyer"
        if buyer_name not in buyer_orgs:
            buyer_orgs[buyer_name] = _org(
                importer, buyer_name, slugify(buyer_name),
                "Public buyer. Notices shown on Guild come from public procurement portals "
                "under the Open Government Licence.", is_buyer=True)
            org_count += 1
        deadline = (now + timedelta(days=7 + (i * 5) % 56)).replace(
            hour=12, minute=0, second=0, microsecond=0)
        tender = Tender(
            buyer=buyer_orgs[buyer_name], title=record["title"][:300],
            description=record.get("description") or "", status=TenderStatus.OPEN,
            region=record.get("delivery_region") or None,
            postcode=record.get("delivery_postcode") or None,
            budget_max=record.get("value_amount"),
            currency=(record.get("value_currency") or "GBP")[:3],
            deadline=deadline, published_at=now, source=record.get("source"),
            source_id=record["id"], source_url=notice_url(record),
            source_publisher=record.get("publisher"),
            source_licence=record.get("licence"), original_buyer_name=buyer_name)
        tender.cpv_codes = [TenderCpvCode(code=c) for c in dict.fromkeys(record["cpv_codes"])
                            if is_valid_code(c)]
        db.session.add(tender)
        tenders += 1
    db.session.flush()
    return SeedResult(organisations=org_count, tenders=tenders)
