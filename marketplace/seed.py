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

from marketplace import audit
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
    profile.logo_filename = _demo_logo(org.name)
    db.session.add(profile)
    return profile


def _demo_logo(name: str) -> str:
    """Initials on a colour, stored like an uploaded logo (so it is served the same way)."""
    from marketplace.profiles.logos import initials_logo
    from marketplace.uploads import store_image

    return store_image(initials_logo(name), kind="logo", size=(256, 256))


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
    seed_alliances(now)
    from marketplace.bids.demo import seed_bids

    seed_bids(now)
    tenders += seed_tender_extras(now)
    return SeedResult(organisations=org_count, tenders=tenders)



# -- alliances and confirmed joint projects ------------------------------------------------

def seed_alliances(now: datetime) -> tuple[int, int]:
    """Demo alliances, their joint projects (most credits confirmed), pending invitations.

    Written straight into the tables (no notifications or e-mails); dates are fixed offsets
    from ``now``. Returns (alliances, public projects).
    """
    from marketplace.alliances.services import unique_alliance_slug
    from marketplace.data import demo_alliances as demo
    from marketplace.models import (
        ActivityEvent,
        ActivityKind,
        Alliance,
        AllianceInvitation,
        AllianceMember,
        AllianceRole,
        CreditStatus,
        ProjectCredit,
        ProjectExample,
    )

    keys = {b["key"] for b in demo_businesses()}
    orgs = {o.slug: o for o in db.session.scalars(
        select(Organisation).where(Organisation.slug.in_(keys)))}
    owners = {b["key"]: b["owner"]["email"].lower() for b in demo_businesses()}
    users = {u.email: u for u in db.session.scalars(
        select(User).where(User.email.in_(list(owners.values()))))}

    def event(kind, when, **refs):
        db.session.add(ActivityEvent(kind=kind, occurred_at=when, **refs))

    alliances = []
    for i, spec in enumerate(demo.ALLIANCES):
        created = now - timedelta(days=420 - i * 23)
        alliance = Alliance(name=spec["name"], slug=unique_alliance_slug(spec["name"]),
                            summary=spec["summary"], description=spec["description"],
                            service_area=spec["service_area"], created_at=created)
        leads = {spec["members"][0], *spec.get("leads", [])}
        for j, key in enumerate(spec["members"]):
            alliance.members.append(AllianceMember(
                organisation=orgs[key], joined_at=created + timedelta(days=j * 9),
                role=AllianceRole.LEAD if key in leads else AllianceRole.MEMBER))
        db.session.add(alliance)
        db.session.flush()
        founder = spec["members"][0]
        event(ActivityKind.ALLIANCE_CREATED, created, alliance_id=alliance.id,
              organisation_id=orgs[founder].id)
        audit.record("alliance", alliance.id, "created", version=alliance.version,
                     actor=users[owners[founder]], actor_org_id=orgs[founder].id, at=created,
                     seeded=True)
        for j, key in enumerate(spec["members"][1:], start=1):
            joined = created + timedelta(days=j * 9)
            event(ActivityKind.MEMBER_JOINED, joined, alliance_id=alliance.id,
                  organisation_id=orgs[key].id)
            audit.record("alliance", alliance.id, "member_joined", version=alliance.version,
                         actor=users[owners[key]], actor_org_id=orgs[key].id, at=joined,
                         organisation_id=orgs[key].id, seeded=True)
        alliances.append(alliance)

    pending = {(owner, title, partner) for owner, title, partner in demo.PENDING_CREDITS}
    public = 0
    specs = [*demo.PROJECTS, *((None, *p) for p in demo.EXTRA_PENDING_PROJECTS)]
    for n, (alliance_index, owner_key, owner_role, title, year, client, value, place,
            description, partners) in enumerate(specs):
        owner = orgs[owner_key]
        posted = now - timedelta(days=300 - n * 9)
        extra = n >= len(demo.PROJECTS)  # the project nobody has confirmed yet
        project = ProjectExample(
            owner_org=owner, title=title, description=description, year=year, client=client,
            value_amount=value, currency="GBP", place=place, created_at=posted,
            updated_at=posted, created_by_user_id=users[owners[owner_key]].id,
            alliance=alliances[alliance_index] if alliance_index is not None else None)
        project.credits.append(ProjectCredit(
            organisation=owner, role=owner_role, status=CreditStatus.CONFIRMED,
            requested_at=posted, answered_at=posted))
        for k, (partner_key, role) in enumerate(partners):
            waiting = extra or (owner_key, title, partner_key) in pending
            project.credits.append(ProjectCredit(
                organisation=orgs[partner_key], role=role, requested_at=posted,
                status=CreditStatus.PENDING if waiting else CreditStatus.CONFIRMED,
                answered_at=None if waiting else posted + timedelta(days=1 + k)))
        db.session.add(project)
        db.session.flush()
        audit.record("project", project.id, "created", version=project.version,
                     actor=users[owners[owner_key]], actor_org_id=owner.id, at=posted,
                     seeded=True)
        confirmed = [c for c in project.partner_credits if c.status == CreditStatus.CONFIRMED]
        public += bool(confirmed)
        for credit in project.partner_credits:
            audit.record("project", project.id, "credit_added", version=project.version,
                         actor=users[owners[owner_key]], actor_org_id=owner.id, at=posted,
                         organisation_id=credit.organisation_id, seeded=True)
        for credit in confirmed:
            event(ActivityKind.PROJECT_CONFIRMED, credit.answered_at,
                  alliance_id=project.alliance_id, organisation_id=credit.organisation_id,
                  partner_org_id=owner.id, project_id=project.id)
            audit.record("project", project.id, "credit_confirmed", version=project.version,
                         actor=users[owners[credit.organisation.slug]],
                         actor_org_id=credit.organisation_id, at=credit.answered_at,
                         organisation_id=credit.organisation_id, seeded=True)

    for alliance_index, key in demo.PENDING_INVITATIONS:
        alliance = alliances[alliance_index]
        lead = alliance.members[0]
        db.session.add(AllianceInvitation(
            alliance=alliance, organisation_id=orgs[key].id,
            invited_by_org_id=lead.organisation_id,
            invited_by_user_id=users[owners[lead.organisation.slug]].id,
            message="We would like you to join us for the tenders coming up this year.",
            created_at=now - timedelta(days=2), expires_at=now + timedelta(days=12)))
    db.session.flush()
    return len(alliances), public


# -- tender details: requirements, places, local buyers' tenders, Q&A, teaming board ----------

LOCAL_TENDERS = [
    # (buyer key, title, town, days to deadline, status, cpv codes, budget min/max,
    #  requirements, description)
    ("avonmere-district-council", "Flat roof replacement at three Keynsham primary schools",
     "Keynsham", 18, TenderStatus.OPEN, ["45261000", "45261410"], (180_000, 240_000),
     [("capability", "flat roofing"), ("cpv", "45261000"), ("certification", "CHAS"),
      ("capability", "asbestos awareness")],
     "Replace the felt flat roofs of Broadlands, Castle and Chandag primary schools during "
     "the summer holidays, with insulation to current standards and a 20-year guarantee.\n\n"
     "- Work only between 22 July and 30 August\n- Site-specific safeguarding briefings"),
    ("west-vale-housing-partnership", "Void property refurbishment framework, North Somerset",
     "Weston-super-Mare", 26, TenderStatus.OPEN, ["45453000", "45211000", "45310000"],
     (400_000, 650_000),
     [("capability", "void property works"), ("capability", "domestic rewires"),
      ("cpv", "45453000"), ("certification", "Gas Safe")],
     "Turn empty homes around within 10 working days: clearance, repairs, rewires, kitchens "
     "and bathrooms. Joint bids from local firms covering the trades together are welcome."),
    ("severn-community-nhs-trust", "Grounds maintenance and wildflower planting, Southmead",
     "Southmead", 1, TenderStatus.OPEN, ["77314000", "77310000"], (60_000, 90_000),
     [("capability", "grounds maintenance"), ("capability", "wildflower meadow creation")],
     "Grounds care for the community hospital site for three years, including turning two "
     "lawns into wildflower meadows. The deadline is tomorrow: a good test of reminders."),
    ("kingsbrook-academy-trust", "School meals service for four Yate academies",
     "Yate", 40, TenderStatus.OPEN, ["55524000"], (300_000, 420_000),
     [("capability", "school meals"), ("capability", "allergen-aware menus"),
      ("certification", "Food Hygiene Rating 5")],
     "Hot school meals and breakfast clubs for around 1,400 pupils across four academies."),
    ("avonmere-district-council", "Accessible website rebuild for Avonmere District Council",
     "Keynsham", 30, TenderStatus.DRAFT, ["72413000", "72262000"], (40_000, 70_000),
     [("capability", "accessibility testing"), ("capability", "website design")],
     "A draft the council is still writing: only its members see it."),
]
LOCAL_QUESTIONS = [
    # (tender index, asking business key, question, answer or None)
    (0, "selwood-roofing", "Can the three schools be worked on at the same time, or one "
     "after another?", "At the same time is fine; each school has its own site compound."),
    (0, "harbourside-build-co", "Is the removal of the existing felt classed as licensed "
     "asbestos work?", None),
    (1, "mendip-vale-builders", "How many voids a month do you expect on average?",
     "About 12 a month, peaking in spring."),
]
LOCAL_TEAMING = [
    # (tender index, business key, looking for (None = just interested), note)
    (0, "channel-view-roofing", "asbestos removal", "Roofers based in Weston; we need a "
     "licensed asbestos partner for the strip-out."),
    (0, "selwood-roofing", None, "Heritage and flat roofing; happy to lead or support."),
    (1, "mendip-vale-builders", "electrical rewires and gas safety",
     "We cover the building trades; looking for an electrician and a Gas Safe engineer."),
    (1, "brightwire-electrical", None, "Domestic rewires and landlord certificates."),
    (2, "greenhollow-landscapes", "wildflower meadow creation", "We do hard landscaping "
     "and school grounds; need meadow specialists."),
    (3, "little-mill-school-meals", "delivery vans in Yate", "School meals from Radstock; "
     "looking for a local delivery partner."),
]
CAPABILITY_HINTS = [
    ("roof", "roofing"), ("clean", "cleaning"), ("ground", "grounds maintenance"),
    ("software", "software development"), ("website", "website design"),
    ("print", "printing"), ("catering", "catering"), ("meal", "school meals"),
    ("security", "manned guarding"), ("survey", "building surveys"),
    ("housing", "housing support"), ("electric", "electrical installation"),
    ("highway", "highway maintenance"), ("waste", "waste collection"),
]


def _place_named_in(text: str, towns):
    """The West of England place a notice names, as a whole word (a county gives its first
    town), if any; notices from elsewhere keep no place rather than a made-up one."""
    import re

    names = {t.name: t for t in towns}
    for town in towns:
        names.setdefault(town.county, town)
    for name in sorted(names, key=len, reverse=True):
        if re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE):
            return names[name]
    return None


def seed_tender_extras(now: datetime) -> int:
    """Requirements and places on imported notices, the local buyers' own tenders, public
    questions and teaming-board posts. Deterministic apart from dates relative to ``now``.
    Returns the number of tenders added."""
    from decimal import Decimal

    from marketplace.data.gazetteer import find_town, load_gazetteer
    from marketplace.models import (
        Clarification,
        RequirementKind,
        TeamingKind,
        TeamingPost,
        TenderRequirement,
    )

    towns = load_gazetteer()
    imported = db.session.scalars(select(Tender).where(Tender.source.is_not(None))
                                  .order_by(Tender.id).limit(24)).all()
    for i, tender in enumerate(imported):
        if tender.requirements:
            continue
        reqs = [(RequirementKind.CPV, c.code) for c in tender.cpv_codes[:1]]
        lowered = tender.title.lower()
        reqs += [(RequirementKind.CAPABILITY, tag) for word, tag in CAPABILITY_HINTS
                 if word in lowered][:2]
        if i % 3 == 0:
            reqs.append((RequirementKind.CERTIFICATION, "ISO 9001"))
        tender.requirements = [TenderRequirement(kind=k, value=v, position=n)
                               for n, (k, v) in enumerate(reqs)]
        town = _place_named_in(f"{tender.title} {tender.original_buyer_name or ''}", towns)
        if tender.town is None and town is not None:
            tender.town, tender.region = town.name, town.region
            tender.lat, tender.lon = town.lat, town.lon

    buyers = {o.slug: o for o in db.session.scalars(select(Organisation).where(
        Organisation.slug.in_([t[0] for t in LOCAL_TENDERS])))}
    keys = {q[1] for q in LOCAL_QUESTIONS} | {t[1] for t in LOCAL_TEAMING}
    firms = {o.slug: o for o in db.session.scalars(
        select(Organisation).where(Organisation.slug.in_(keys)))}
    owner_of = {o.id: o.memberships[0].user_id for o in [*buyers.values(), *firms.values()]}
    local = []
    for (key, title, town_name, days, status, codes, (low, high), reqs,
         description) in LOCAL_TENDERS:
        if key not in buyers:
            continue
        town = find_town(town_name)
        deadline = (now + timedelta(days=days)).replace(hour=12, minute=0, second=0,
                                                        microsecond=0)
        if days <= 1:
            deadline = (now + timedelta(hours=20)).replace(second=0, microsecond=0)
        tender = Tender(
            buyer=buyers[key], title=title, description=description, status=status,
            town=town.name, region=town.region, postcode=town.postcode_district,
            lat=town.lat, lon=town.lon, budget_min=Decimal(low), budget_max=Decimal(high),
            currency="GBP", deadline=deadline, deadline_zone="Europe/London",
            published_at=now - timedelta(days=3) if status == TenderStatus.OPEN else None,
            created_at=now - timedelta(days=5))
        tender.cpv_codes = [TenderCpvCode(code=c) for c in codes if is_valid_code(c)]
        tender.requirements = [TenderRequirement(kind=RequirementKind(k), value=v, position=n)
                               for n, (k, v) in enumerate(reqs)]
        db.session.add(tender)
        db.session.flush()
        owner = db.session.get(User, owner_of[tender.buyer_id])
        audit.record("tender", tender.id, "created", version=1, actor=owner,
                     actor_org_id=tender.buyer_id)
        if status == TenderStatus.OPEN:
            audit.record("tender", tender.id, "published", version=1, actor=owner,
                         actor_org_id=tender.buyer_id, deadline=deadline.isoformat())
        local.append(tender)

    for index, key, question, answer in LOCAL_QUESTIONS:
        if index >= len(local) or key not in firms:
            continue
        tender = local[index]
        db.session.add(Clarification(
            tender_id=tender.id, asker_org_id=firms[key].id, asker_user_id=owner_of[
                firms[key].id], question=question, asked_at=now - timedelta(days=2),
            answer=answer, answered_at=now - timedelta(days=1) if answer else None,
            answered_by_id=owner_of[tender.buyer_id] if answer else None))
    for index, key, looking_for, note in LOCAL_TEAMING:
        if index >= len(local) or key not in firms:
            continue
        db.session.add(TeamingPost(
            tender_id=local[index].id, organisation_id=firms[key].id,
            author_user_id=owner_of[firms[key].id],
            kind=TeamingKind.PARTNER_WANTED if looking_for else TeamingKind.INTERESTED,
            looking_for=looking_for or "", message=note,
            created_at=now - timedelta(days=1), updated_at=now - timedelta(days=1)))
    db.session.flush()
    return len(local)
