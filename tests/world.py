"""A populated database with every actor and every kind of object, built through the services.

Used by the authorization matrix (tests/authz/), the "GET changes nothing" walk and the XSS
crawl; reusable by anything that needs "one of everything" with known ids.

Actors (``World.users``; anonymous is ``None``):

- ``outsider``: owns an organisation with no relation to anything below.
- ``member``: plain member (lowest role) of the home, lead and buyer organisations: an
  insider who may look but not act.
- ``org_admin``: owner of the home organisation (profile, projects, a draft bid, a bid on the
  closed tender); its org is not in the alliance.
- ``alliance_lead``: owner of the alliance's lead organisation (leads the alliance bid).
- ``alliance_member``: owner of the alliance's member organisation.
- ``buyer``: owner of the buyer organisation that posts the tenders.
- ``site_admin``: a site administrator with no organisation.

Objects (``World.ids``, placeholders for URL templates): published profiles with CPV codes,
certifications and logos; an org invitation (and its token) and a password-reset token; the
alliance with a pending invitation; a confirmed and an unconfirmed project with photos; an
open tender with a document, an answered and an open question and a teaming post; a closed
tender; a draft tender with a document; another open tender; bids: home's draft
(``bid_draft``), the alliance's submitted bid (``bid_sealed``), home's bid on the closed
tender (``bid_closed``) and the alliance's bid awaiting approval (``bid_pending``), each with
versions (``*_v``); a saved search, one read-write API token per actor (``World.secrets``),
notifications and queued mail. ``shared_world`` builds it once for a module and ``Snapshot``
puts it back after a test that writes.

``text(field)`` supplies every user-written string: plain words by default, a distinct XSS
marker per field for the crawl (``build_world(..., text=xss_text)``).
"""

import io
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from flask import g
from PIL import Image
from sqlalchemy import update
from werkzeug.datastructures import FileStorage, MultiDict

from marketplace.alliances import services as alliances
from marketplace.api import services as api_services
from marketplace.bids import services as bids
from marketplace.documents import save_document
from marketplace.extensions import db
from marketplace.models import (
    Alliance,
    BidRole,
    Membership,
    Organisation,
    OrgRole,
    RequirementKind,
    TeamingKind,
    Tender,
    TenderStatus,
    User,
)
from marketplace.orgs import services as orgs
from marketplace.passwords import hash_password
from marketplace.profiles import services as profiles
from marketplace.projects import services as projects
from marketplace.search import alerts
from marketplace.tenders import clarifications, teaming
from marketplace.tenders import services as tenders
from marketplace.uploads import save_image

PASSWORD = "a long test passphrase 42"
ROOFING = "45261000"
SCAFFOLDING = "45262100"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
ACTORS = ("anonymous", "outsider", "member", "org_admin", "alliance_lead", "alliance_member",
          "buyer", "site_admin")
XSS_PREFIX = '<script>alert("xss-'
# File names lose everything up to the last slash on upload, so theirs has none.
XSS_FILE_PREFIX = '<img src=x onerror=alert("xss-'


def plain_text(name: str, default: str) -> str:
    return default


def xss_marker(name: str) -> str:
    if name.endswith("-doc"):
        return f'{XSS_FILE_PREFIX}{name}")>"\'&'
    return f'{XSS_PREFIX}{name}")</script>"\'&'


def xss_text(name: str, default: str) -> str:
    """A marker distinct per field; the field name is short so it fits every column."""
    return xss_marker(name)


@dataclass
class World:
    users: dict[str, User | None]
    orgs: dict[str, Organisation]
    # Placeholder name -> value, for URL templates such as "/bids/{bid_draft}".
    ids: dict[str, int | str] = field(default_factory=dict)
    # Secrets shown once (API tokens per actor, invitation and reset tokens).
    secrets: dict[str, str] = field(default_factory=dict)
    # Field names whose text() was stored (the XSS crawl checks each is shown somewhere).
    fields: dict[str, str] = field(default_factory=dict)

    def user(self, actor: str) -> User | None:
        return self.users[actor]


class _Acting:
    """A write request context with ``user`` as current_user (services read it)."""

    def __init__(self, app, user: User | None):
        self.app, self.user = app, user

    def __enter__(self):
        db.session.commit()
        self.ctx = self.app.test_request_context("/", method="POST")
        self.ctx.__enter__()
        for name in list(g):
            g.pop(name)
        g._login_user = self.user or self.app.login_manager.anonymous_user()
        return self

    def __exit__(self, *exc):
        if exc[0] is None:
            db.session.commit()
        else:
            db.session.rollback()
        self.ctx.__exit__(*exc)


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, "PNG")
    return out.getvalue()


def build_world(app, *, text: Callable[[str, str], str] = plain_text) -> World:
    """Build the world in ``app``'s database (empty apart from reference tables). Commits."""
    now = datetime.now(UTC)
    stored: dict[str, str] = {}

    def t(name: str, default: str) -> str:
        value = text(name, default)
        stored[name] = value
        return value

    def user(key: str, *, admin: bool = False) -> User:
        row = User(email=f"{key.replace('_', '-')}@example.com",
                   display_name=t(f"user-{key}", key.replace("_", " ").title()),
                   password_hash=password_hash,
                   is_site_admin=admin)
        db.session.add(row)
        return row

    password_hash = hash_password(PASSWORD)  # once: the config's (cheap in tests) parameters
    users = {a: user(a, admin=a == "site_admin") for a in ACTORS if a != "anonymous"}
    db.session.commit()
    u = users
    world = World(users={"anonymous": None, **users}, orgs={})

    with _Acting(app, u["org_admin"]):
        home = orgs.create_organisation(u["org_admin"], t("org-home", "Home Joinery"),
                                        t("org-summary", "Joinery and fit-out"), slug="home")
        pass
    with _Acting(app, u["alliance_lead"]):
        lead = orgs.create_organisation(u["alliance_lead"], t("org-lead", "Lead Roofing"),
                                        slug="lead")
    with _Acting(app, u["alliance_member"]):
        ally = orgs.create_organisation(u["alliance_member"], t("org-ally", "Ally Electrics"),
                                        slug="ally")
    with _Acting(app, u["buyer"]):
        buyer = orgs.create_organisation(u["buyer"], t("org-buyer", "Avonmere Council"),
                                         slug="buyer")
        buyer.is_buyer = True
    with _Acting(app, u["outsider"]):
        outsider = orgs.create_organisation(u["outsider"], t("org-out", "Outsider Paving"),
                                            slug="outsider")
    # The member without role has the lowest role in the home, lead and buyer organisations:
    # an insider who may look but not act.
    for org in (home, lead, buyer):
        db.session.add(Membership(organisation_id=org.id, user_id=u["member"].id,
                                  role=OrgRole.MEMBER))
    db.session.commit()
    world.orgs = {"home": home, "lead": lead, "ally": ally, "buyer": buyer,
                  "outsider": outsider}

    # Profiles: published, with capabilities, CPV codes, a certification and a logo.
    for key, org, owner, cpv in (("home", home, u["org_admin"], ROOFING),
                                 ("lead", lead, u["alliance_lead"], ROOFING),
                                 ("ally", ally, u["alliance_member"], SCAFFOLDING)):
        with _Acting(app, owner):
            data = profiles.ProfileData(
                name=org.name, summary=org.summary or t(f"summary-{key}", "Local firm"),
                description=t(f"profile-desc-{key}", "We build **well**."),
                capabilities=[t(f"cap-{key}", "roofing"), "joinery"],
                contact_name=t(f"contact-{key}", "Jo Bloggs"),
                contact_email=f"contact@{key}.example.com",
                town=t(f"town-{key}", "Bristol"), region=t(f"region-{key}", "South West"),
                website="https://example.com/")
            profiles.update_profile(owner, org, data, expected_version=_version(org), now=now)
            profiles.add_cpv_code(owner, org, cpv, now)
            cert = profiles.add_certification(owner, org, profiles.CertificationData(
                name=t(f"cert-{key}", "ISO 9001"), issuer=t(f"issuer-{key}", "BSI"),
                number=t(f"certno-{key}", "FS 1234"), valid_until=date(2099, 1, 1)), now)
            logo = save_image(FileStorage(io.BytesIO(_png()), filename="logo.png",
                                          content_type="image/png"), kind="logo")
            profiles.set_logo(owner, org, logo, now)
            profiles.publish_profile(owner, org, now)
        world.ids[f"cert_{key}"] = cert.id
        world.ids[f"logo_{key}"] = logo
    with _Acting(app, u["outsider"]):
        profiles.update_profile(u["outsider"], outsider, profiles.ProfileData(
            name=outsider.name, summary="Paving firm", description="Paving",
            capabilities=["paving"], contact_name="Out Sider", contact_email="o@example.com",
            town="Bath"), expected_version=_version(outsider), now=now)
        profiles.add_cpv_code(u["outsider"], outsider, ROOFING, now)
        profiles.publish_profile(u["outsider"], outsider, now)

    # Organisation invitation (pending, by token) and membership ids.
    with _Acting(app, u["org_admin"]), _captured_tokens(orgs) as tokens:
        invitation = orgs.invite_member(u["org_admin"], home, "newcomer@example.com",
                                        OrgRole.MEMBER, now)
    world.ids["org_invitation"] = invitation.id
    world.ids["org_invitation_token"] = tokens[-1]
    world.ids["membership_member"] = _membership(home, u["member"]).id
    world.ids["membership_owner"] = _membership(home, u["org_admin"]).id
    # An invitation addressed to the outsider's e-mail, so it appears under /me.
    with _Acting(app, u["alliance_lead"]):
        mine = orgs.invite_member(u["alliance_lead"], lead, u["outsider"].email,
                                  OrgRole.MEMBER, now)
    world.ids["org_invitation_outsider"] = mine.id

    # The alliance: lead + ally; a pending invitation to the home organisation.
    with _Acting(app, u["alliance_lead"]):
        alliance = alliances.create_alliance(
            u["alliance_lead"], lead, name=t("alliance-name", "Severn Builders"),
            summary=t("alliance-summary", "Builders together"),
            description=t("alliance-desc", "We *build*."),
            service_area=t("alliance-area", "Bristol and Bath"))
        inv = alliances.invite_organisation(u["alliance_lead"], alliance, ally, now,
                                            message=t("alliance-invite-msg", "Join us"))
    with _Acting(app, u["alliance_member"]):
        alliances.accept_invitation(u["alliance_member"], inv, now)
    with _Acting(app, u["alliance_lead"]):
        pending = alliances.invite_organisation(u["alliance_lead"], alliance, home, now,
                                                message=t("alliance-invite-home", "Join"))
    world.ids["alliance"] = alliance.slug
    world.ids["alliance_id"] = alliance.id
    world.ids["alliance_invitation"] = pending.id
    members = {m.organisation_id: m.id for m in alliances.members_of(
        db.session.get(Alliance, alliance.id))}
    world.ids["alliance_member_lead"] = members[lead.id]
    world.ids["alliance_member_ally"] = members[ally.id]

    # Projects: one confirmed (lead's, ally credited and confirmed, linked to the alliance,
    # with a photo); one unconfirmed (home's, lead credited, not yet answered).
    with _Acting(app, u["alliance_lead"]):
        confirmed = projects.create_project(u["alliance_lead"], lead, projects.ProjectData(
            title=t("project-title", "School refurbishment"), year=2024,
            description=t("project-desc", "Two *schools*."),
            client=t("project-client", "Bath Council"), value_amount=250000,
            place=t("project-place", "Bath"), owner_role=t("project-role", "Main contractor")),
            [(ally, t("credit-role", "Electrical"))], now)
    with _Acting(app, u["alliance_member"]):
        projects.confirm_credit(u["alliance_member"], confirmed.credit_for(ally.id), now)
    with _Acting(app, u["alliance_lead"]):
        confirmed = db.session.get(type(confirmed), confirmed.id)
        projects.link_alliance(u["alliance_lead"], confirmed,
                               db.session.get(Alliance, alliance.id))
        photo = projects.add_photo(u["alliance_lead"], confirmed, FileStorage(
            io.BytesIO(_png()), filename="site.png", content_type="image/png"),
            t("photo-caption", "The new hall"))
    with _Acting(app, u["org_admin"]):
        unconfirmed = projects.create_project(u["org_admin"], home, projects.ProjectData(
            title=t("project2-title", "Library roof"), year=2023,
            description=t("project2-desc", "A roof."), place="Bristol"),
            [(lead, t("credit2-role", "Roofing"))], now)
        photo2 = projects.add_photo(u["org_admin"], unconfirmed, FileStorage(
            io.BytesIO(_png()), filename="roof.png", content_type="image/png"),
            t("photo2-caption", "The roof"))
    world.ids.update(project_confirmed=confirmed.id, project_unconfirmed=unconfirmed.id,
                     photo=photo.id, photo2=photo2.id,
                     credit_confirmed=db.session.get(type(confirmed), confirmed.id)
                     .credit_for(ally.id).id,
                     credit_pending=db.session.get(type(unconfirmed), unconfirmed.id)
                     .credit_for(lead.id).id)

    # Tenders: open (documents, clarifications, teaming posts), closing (bids submitted,
    # then its deadline passes), and an unpublished draft.
    def terms(prefix: str, title: str, deadline: datetime):
        return tenders.TenderTerms(
            title=t(f"{prefix}-title", title),
            description=t(f"{prefix}-desc", "Replace the **flat roofs**."),
            requirements=[(RequirementKind.CAPABILITY, t(f"{prefix}-req", "roofing")),
                          (RequirementKind.CPV, ROOFING)],
            cpv_codes=[ROOFING], town="Keynsham", budget_max=Decimal("100000"),
            deadline=deadline)

    with _Acting(app, u["buyer"]):
        open_tender = tenders.create_tender(u["buyer"], buyer, terms(
            "tender", "Roof repairs at three schools", now + timedelta(days=10)), now)
        tenders.publish_tender(u["buyer"], open_tender, None, now)
        document = tenders.add_document(u["buyer"], open_tender, save_document(FileStorage(
            io.BytesIO(PDF), filename=t("tender-doc", "spec") + ".pdf",
            content_type="application/pdf")), open_tender.version, now)
        closing = tenders.create_tender(u["buyer"], buyer, terms(
            "tender2", "Car park resurfacing", now + timedelta(days=2)), now)
        tenders.publish_tender(u["buyer"], closing, None, now)
        draft = tenders.create_tender(u["buyer"], buyer, terms(
            "tender3", "Draft: boiler replacement", now + timedelta(days=30)), now)
        draft_document = tenders.add_document(u["buyer"], draft, save_document(FileStorage(
            io.BytesIO(PDF), filename=t("tender3-doc", "boiler") + ".pdf",
            content_type="application/pdf")), draft.version, now)
        other = tenders.create_tender(u["buyer"], buyer, terms(
            "tender4", "Street lighting", now + timedelta(days=20)), now)
        tenders.publish_tender(u["buyer"], other, None, now)
    world.ids.update(tender_open=open_tender.id, tender_closed=closing.id,
                     tender_draft=draft.id, tender_document=document.id,
                     tender_draft_document=draft_document.id, tender_other=other.id)

    with _Acting(app, u["org_admin"]):
        answered = clarifications.ask_question(
            u["org_admin"], home, open_tender, t("question", "Is scaffolding included?"), now)
        unanswered = clarifications.ask_question(
            u["org_admin"], home, open_tender, t("question2", "Can we visit the site?"), now)
        post = teaming.post_on_board(u["org_admin"], home, open_tender,
                                     TeamingKind.PARTNER_WANTED,
                                     t("teaming-looking", "an electrician"),
                                     t("teaming-msg", "We have the roofers."), now)
    with _Acting(app, u["buyer"]):
        clarifications.answer_question(u["buyer"], open_tender, answered.id,
                                       t("answer", "Yes, it is."), now)
    with _Acting(app, u["alliance_member"]):
        teaming.contact_poster(u["alliance_member"], ally, open_tender, post.id,
                               t("teaming-contact", "We can do the wiring."), now)
    world.ids.update(question_answered=answered.id, question_open=unanswered.id,
                     teaming_post=post.id)

    # Bids: home's draft on the open tender (with a document); the alliance's submitted bid
    # on the open tender (sealed); home's submitted bid on the tender that then closes.
    def bid_document(actor: User, bid_id: int, version: int, name: str):
        stored = save_document(FileStorage(io.BytesIO(PDF), filename=name + ".pdf",
                                           content_type="application/pdf"))
        return bids.add_document(actor, bid_id, version, filename=stored.original_name,
                                 stored_name=stored.stored_name,
                                 content_type=stored.content_type, size=stored.size,
                                 sha256=stored.sha256, now=now)

    with _Acting(app, u["org_admin"]):
        draft_bid = bids.create_bid(u["org_admin"], open_tender, f"org:{home.id}", now)
        bids.update_bid(u["org_admin"], draft_bid.id, draft_bid.version,
                        price=Decimal("90000"), currency="GBP",
                        proposal=t("bid-proposal", "We will fix it."),
                        members=[bids.MemberLine(home.id, BidRole.LEAD, Decimal("100"))],
                        now=now)
        draft_doc = bid_document(u["org_admin"], draft_bid.id, draft_bid.version,
                                 t("bid-doc", "method"))
    with _Acting(app, u["alliance_lead"]):
        sealed = bids.create_bid(u["alliance_lead"], open_tender,
                                 f"alliance:{alliance.id}:{lead.id}", now)
        bids.add_alliance_members(u["alliance_lead"], sealed.id, sealed.version, now)
        sealed_doc = bid_document(u["alliance_lead"], sealed.id, sealed.version,
                                  t("bid2-doc", "alliance-method"))
        bids.update_bid(u["alliance_lead"], sealed.id, sealed.version,
                        price=Decimal("95000"), currency="GBP",
                        proposal=t("bid2-proposal", "Together we fix it."),
                        members=_shares(sealed, lead.id), now=now)
        bids.request_approval(u["alliance_lead"], sealed.id, sealed.version, now)
    for actor, org in ((u["alliance_lead"], lead), (u["alliance_member"], ally)):
        with _Acting(app, actor):
            bids.approve(actor, sealed.id, org.id, sealed.version, now)
    # The alliance's bid on the other tender waits for both members' approval.
    with _Acting(app, u["alliance_lead"]):
        pending_bid = bids.create_bid(u["alliance_lead"], other,
                                      f"alliance:{alliance.id}:{lead.id}", now)
        bids.add_alliance_members(u["alliance_lead"], pending_bid.id, pending_bid.version, now)
        bids.update_bid(u["alliance_lead"], pending_bid.id, pending_bid.version,
                        price=Decimal("40000"), currency="GBP",
                        proposal=t("bid4-proposal", "Lights on."),
                        members=_shares(pending_bid, lead.id), now=now)
        bids.request_approval(u["alliance_lead"], pending_bid.id, pending_bid.version, now)
    with _Acting(app, u["org_admin"]):
        late = bids.create_bid(u["org_admin"], closing, f"org:{home.id}", now)
        late_doc = bid_document(u["org_admin"], late.id, late.version, t("bid3-doc", "plan"))
        bids.update_bid(u["org_admin"], late.id, late.version, price=Decimal("70000"),
                        currency="GBP", proposal=t("bid3-proposal", "Resurface it."),
                        members=[bids.MemberLine(home.id, BidRole.LEAD, Decimal("100"))],
                        now=now)
        bids.request_approval(u["org_admin"], late.id, late.version, now)
    with _Acting(app, u["org_admin"]):
        bids.approve(u["org_admin"], late.id, home.id, late.version, now)
    # The deadline passes (as `flask tenders close-due` would record it).
    db.session.execute(update(Tender).where(Tender.id == closing.id).values(
        deadline=now - timedelta(hours=1), status=TenderStatus.CLOSED))
    db.session.commit()
    world.ids.update(bid_draft=draft_bid.id, bid_sealed=sealed.id, bid_closed=late.id,
                     bid_pending=pending_bid.id,
                     bid_draft_doc=draft_doc.id, bid_sealed_doc=sealed_doc.id,
                     bid_closed_doc=late_doc.id,
                     bid_draft_member=draft_bid.members[0].id,
                     bid_sealed_member=next(m.id for m in sealed.members
                                            if m.organisation_id == ally.id))

    # Saved search, API tokens (one read-write token per actor), mail for the admin outbox.
    with _Acting(app, u["org_admin"]):
        saved = alerts.save_search(u["org_admin"], MultiDict({"q": "roof"}),
                                   label=t("saved-search", "Roofs near me"))
    world.ids["saved_search"] = saved.id
    for actor, row in users.items():
        with _Acting(app, row):
            token, secret = api_services.create_token(
                row, t(f"token-{actor}", f"{actor} script"), "read-write", None, now)
        world.secrets[f"token_{actor}"] = secret
        world.ids[f"token_{actor}"] = token.id
    from marketplace.models import EmailMessage

    world.ids["mail_message"] = db.session.scalar(
        db.select(db.func.max(EmailMessage.id)))
    from marketplace.auth import services as auth_services

    with _Acting(app, None), _captured_tokens(auth_services) as tokens:
        auth_services.request_password_reset(u["member"].email, now)
    world.ids["reset_token"] = tokens[-1]
    from marketplace.models import Notification

    for actor, row in users.items():
        first = db.session.scalar(db.select(db.func.min(Notification.id)).where(
            Notification.user_id == row.id))
        if first is not None:
            world.ids[f"notification_{actor}"] = first
    world.ids.update(org_home="home", org_lead="lead", org_ally="ally", org_buyer="buyer",
                     org_outsider="outsider", org_home_id=home.id, org_lead_id=lead.id,
                     org_ally_id=ally.id, org_buyer_id=buyer.id, org_outsider_id=outsider.id,
                     user_member=u["member"].id, user_outsider=u["outsider"].id)
    from marketplace.models import Bid, ProjectExample

    for key in ("bid_draft", "bid_sealed", "bid_closed", "bid_pending"):
        world.ids[f"{key}_v"] = db.session.get(Bid, world.ids[key]).version
    for key in ("tender_open", "tender_closed", "tender_draft", "tender_other"):
        world.ids[f"{key}_v"] = db.session.get(Tender, world.ids[key]).version
    for key in ("project_confirmed", "project_unconfirmed"):
        world.ids[f"{key}_v"] = db.session.get(ProjectExample, world.ids[key]).version
    world.ids["alliance_v"] = db.session.get(Alliance, alliance.id).version
    world.ids["profile_home_v"] = _version(db.session.get(Organisation, home.id))
    for actor, row in users.items():
        world.ids[f"uid_{actor}"] = row.id
    world.fields = stored
    db.session.commit()
    return world


# -- a world shared by many tests: one build, restored after each test that writes -----------

class Snapshot:
    """Every row of every table (reference tables aside) and the upload folder, taken once and
    put back after a test that may have written. Core statements: the ORM's append-only
    guards on audit events and frozen bid versions protect the app, not this fixture."""

    def __init__(self, app, keep_tables=frozenset({"cpv_codes", "alembic_version"})):
        self.app = app
        self.tables = [t for t in db.metadata.sorted_tables if t.name not in keep_tables]
        self.rows = self.read()
        self.upload_dir = Path(app.config["UPLOAD_DIR"])
        self.files = {p.relative_to(self.upload_dir): p.read_bytes()
                      for p in self.upload_dir.rglob("*") if p.is_file()}

    def read(self) -> dict[str, list[dict]]:
        db.session.remove()
        with db.engine.connect() as conn:
            return {t.name: [dict(r) for r in conn.execute(t.select()).mappings()]
                    for t in self.tables}

    def restore(self) -> None:
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(self.tables):
                conn.execute(table.delete())
            for table in self.tables:
                if self.rows[table.name]:
                    conn.execute(table.insert(), self.rows[table.name])
        for path in self.upload_dir.rglob("*"):
            if path.is_file() and path.relative_to(self.upload_dir) not in self.files:
                path.unlink()
        for relative, data in self.files.items():
            target = self.upload_dir / relative
            if not target.exists() or target.read_bytes() != data:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)

    def digest(self) -> dict[str, list[str]]:
        """Table contents in a comparable form (row order is not part of the state)."""
        return {name: sorted(repr(sorted(row.items())) for row in rows)
                for name, rows in self.read().items()}


@contextmanager
def shared_world(database_url: str, instance: str, *, text=plain_text, **config):
    """An app with its own context and a built world, for a module-scoped fixture. Each
    request gets a fresh ``g`` and ends its transaction, as the suite's ``app`` fixture does."""
    from flask import request_started, request_tearing_down

    from tests.conftest import build_app, clean_database

    app = build_app(database_url, instance, **config)

    def fresh_globals(_sender, **_extra):
        for name in list(g):
            g.pop(name)

    def end_transaction(_sender, **_extra):
        db.session.rollback()

    with app.app_context():
        clean_database()
        request_started.connect(fresh_globals, app)
        request_tearing_down.connect(end_transaction, app)
        try:
            world = build_world(app, text=text)
            yield app, world, Snapshot(app)
        finally:
            request_started.disconnect(fresh_globals, app)
            request_tearing_down.disconnect(end_transaction, app)
            clean_database()
            db.engine.dispose()


def client_for(app, world: World, actor: str):
    """A test client logged in (fresh) as ``actor``; API calls carry the actor's token."""
    from tests.conftest import session_identifier

    client = app.test_client()
    if actor != "anonymous":
        # The World's User objects may be detached (the snapshot ends sessions): reload.
        user = db.session.get(User, world.ids[f"uid_{actor}"])
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
            session["_id"] = session_identifier(client)
            session["auth_at"] = datetime.now(UTC).timestamp()
        db.session.rollback()
    return client


def api_headers(world: World, actor: str) -> dict:
    secret = world.secrets.get(f"token_{actor}")
    return {"Authorization": f"Bearer {secret}"} if secret else {}


def fill(template: str, world: World) -> str:
    return template.format(**world.ids)


@contextmanager
def _captured_tokens(module):
    """Record the secrets a service module draws (they are only ever e-mailed)."""
    drawn: list[str] = []
    original = module.new_token

    def recording():
        token, token_hash = original()
        drawn.append(token)
        return token, token_hash

    module.new_token = recording
    try:
        yield drawn
    finally:
        module.new_token = original


def _version(org: Organisation) -> int:
    return org.profile.version if org.profile is not None else 0


def _membership(org: Organisation, user: User) -> Membership:
    return db.session.scalar(db.select(Membership).where(
        Membership.organisation_id == org.id, Membership.user_id == user.id))


def _shares(bid, lead_id: int) -> list:
    bid = db.session.get(type(bid), bid.id)
    lines = []
    for member in bid.members:
        lead = member.organisation_id == lead_id
        lines.append(bids.MemberLine(member.organisation_id,
                                     BidRole.LEAD if lead else BidRole.MEMBER,
                                     Decimal("60") if lead else Decimal("40")))
    return lines
