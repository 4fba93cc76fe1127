"""A small world in which, for every state-changing route, one actor is allowed to use it.

Built through the services (and, for uploads, through the real routes) so the rows are the
ones the app itself writes. Every fuzzed form gets a fresh world: an accepted example may
change it (dissolve an alliance, delete a project), which is allowed; the next examples then
run against the changed world.
"""

import io
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from PIL import Image
from sqlalchemy import select

from marketplace.alliances import services as alliances
from marketplace.api import services as api_services
from marketplace.bids import services as bids
from marketplace.extensions import db
from marketplace.models import (
    Bid,
    BidDocument,
    Notification,
    OrgInvitation,
    OrgRole,
    PasswordResetToken,
    ProjectPhoto,
    SavedSearch,
    TeamingKind,
    Tender,
    TenderDocument,
    TenderStatus,
    User,
)
from marketplace.projects import services as projects
from marketplace.tenders import clarifications, teaming
from marketplace.tenders.lifecycle import close_if_due
from marketplace.tokens import new_token
from tests.bidding import acting, approve_all, give_profile, make_tender, start_bid
from tests.conftest import PASSWORD, session_identifier

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 80, 40)).save(out, "PNG")
    return out.getvalue()


@dataclass
class World:
    users: dict[str, User]
    ids: dict[str, int | str] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)


def log_in(client, user: User | None) -> None:
    """Plant a fresh session for ``user`` (None: anonymous), as conftest's login_as does, by
    signing the cookie directly (a session_transaction per example costs more than the
    request being tested)."""
    app = client.application
    name = app.config["SESSION_COOKIE_NAME"]
    if user is None:
        client.delete_cookie(name)
        return
    if not hasattr(client, "fuzz_identifier"):
        client.fuzz_identifier = session_identifier(client)
    session = {"_user_id": user.get_id(), "_fresh": True, "_id": client.fuzz_identifier,
               "auth_at": datetime.now(UTC).timestamp()}
    value = app.session_interface.get_signing_serializer(app).dumps(session)
    client.set_cookie(name, value)


def build_world(app, make_user, make_org) -> World:
    now = datetime.now(UTC)
    u = {name: make_user(f"{name}@example.com", name=name.title())
         for name in ("buyer", "lead", "partner", "third", "plain", "invitee")}
    u["admin"] = make_user("admin@example.com", name="Admin", site_admin=True)
    u["victim"] = make_user("victim@example.com", name="Victim")  # for admin suspend
    w = World(users=u)

    buyer = make_org(u["buyer"], name="Town Council", slug="town-council", is_buyer=True)
    lead = make_org(u["lead"], name="Lead Roofing", slug="lead-roofing",
                    members={u["plain"]: "member"})
    partner = make_org(u["partner"], name="Partner Scaffolds", slug="partner-scaffolds")
    third = make_org(u["third"], name="Third Electrics", slug="third-electrics")
    give_profile(lead, capabilities=["roofing"], cpv=["45261000"],
                 certs=[("ISO 9001", date(2099, 1, 1))])
    lead.summary = "Roofs since 1999."
    lead.profile.description = "Flat and pitched roofs."
    lead.profile.town = "Bath"
    give_profile(partner, capabilities=["scaffolding"], cpv=["45262100"])
    give_profile(third, capabilities=["electrics"], cpv=["45310000"])
    give_profile(buyer, capabilities=["buying"])
    w.ids.update(buyer_org=buyer.id, lead_org=lead.id, partner_org=partner.id,
                 third_org=third.id, lead_slug=lead.slug)
    w.ids["plain_membership"] = next(m.id for m in lead.memberships if m.user_id == u["plain"].id)
    w.ids["cert"] = lead.profile.certifications[0].id

    # Tenders: open (bidding, questions, teaming), draft (edit, publish, documents), closed
    # (past its deadline with a submitted bid: award, shortlist, disqualify, unsuccessful).
    open_tender = make_tender(buyer, title="Roof repairs")
    draft = make_tender(buyer, title="Draft works", status=TenderStatus.DRAFT)
    closing = make_tender(buyer, title="Closed works", deadline=now + timedelta(hours=2))
    w.ids.update(open_tender=open_tender.id, draft_tender=draft.id, closed_tender=closing.id)

    from tests.bidding import Team

    team = Team(open_tender, buyer, u["buyer"], lead, u["lead"], [partner], [u["partner"]])
    bid = start_bid(app, team, request=False)
    w.ids["bid"] = bid.id
    w.ids["bid_partner_member"] = next(m.id for m in bid.members
                                       if m.organisation_id == partner.id)
    # A second bid (partner leads, lead is a member) waiting for approvals.
    team2 = Team(open_tender, buyer, u["buyer"], partner, u["partner"], [third], [u["third"]])
    awaiting = start_bid(app, team2)
    w.ids["awaiting_bid"] = awaiting.id
    team3 = Team(closing, buyer, u["buyer"], lead, u["lead"], [partner], [u["partner"]])
    submitted = start_bid(app, team3)
    approve_all(app, team3, submitted)
    w.ids["submitted_bid"] = submitted.id

    with acting(app, u["lead"]):
        q = clarifications.ask_question(u["lead"], lead, open_tender, "Is scaffolding needed?",
                                        now)
        db.session.commit()
        w.ids["question"] = q.id
    with acting(app, u["partner"]):
        post = teaming.post_on_board(u["partner"], partner, open_tender,
                                     TeamingKind.PARTNER_WANTED, "roofers", "Join us", now)
        db.session.commit()
        w.ids["teaming_post"] = post.id

    with acting(app, u["lead"]):
        alliance = alliances.create_alliance(u["lead"], lead, name="Severn Alliance",
                                             summary="Builders together")
        inv = alliances.invite_organisation(u["lead"], alliance, partner, now)
        alliances.accept_invitation(u["partner"], inv, now)
        pending = alliances.invite_organisation(u["lead"], alliance, third, now)
        db.session.commit()
        w.ids.update(alliance=alliance.id, alliance_slug=alliance.slug,
                     alliance_invitation=pending.id)
        w.ids["alliance_partner_member"] = next(m.id for m in alliance.members
                                                if m.organisation_id == partner.id)
        # An alliance bid with only its lead on it: the other members can be added.
        alliance_bid = bids.create_bid(u["lead"], db.session.get(Tender, open_tender.id),
                                       f"alliance:{alliance.id}:{lead.id}", now)
        db.session.commit()
        w.ids["alliance_bid"] = alliance_bid.id
        project = projects.create_project(
            u["lead"], lead, projects.ProjectData(title="School refurbishment", year=2024,
                                                  place="Bristol"),
            [(partner, "Scaffolding"), (third, "Electrics")], now)
        db.session.commit()
        w.ids["project"] = project.id
        w.ids["partner_credit"] = project.credit_for(partner.id).id
        w.ids["third_credit"] = project.credit_for(third.id).id
        # Credits only for alliance members: it can be linked to the alliance.
        project2 = projects.create_project(
            u["lead"], lead, projects.ProjectData(title="Depot roof", year=2023, place="Bath"),
            [(partner, "Scaffolding")], now)
        db.session.commit()
        w.ids["project2"] = project2.id

    token, token_hash = new_token()
    invitation = OrgInvitation(organisation_id=lead.id, email="invitee@example.com",
                               role=OrgRole.MEMBER, token_hash=token_hash,
                               invited_by_id=u["lead"].id, expires_at=now + timedelta(days=7))
    reset, reset_hash = new_token()
    db.session.add_all([
        invitation,
        PasswordResetToken(user_id=u["invitee"].id, token_hash=reset_hash,
                           expires_at=now + timedelta(hours=1)),
        Notification(user_id=u["lead"].id, kind="test", title="Hello", link="/dashboard"),
        SavedSearch(user_id=u["lead"].id, params={"q": "roof"}, label="Roofs"),
    ])
    db.session.commit()
    w.secrets.update(org_token=token, reset=reset)
    w.ids["org_invitation"] = invitation.id
    w.ids["notification"] = db.session.scalar(select(Notification.id).where(
        Notification.user_id == u["lead"].id).order_by(Notification.id))
    w.ids["saved_search"] = db.session.scalar(select(SavedSearch.id))

    with acting(app, u["lead"]):
        api_token, _ = api_services.create_token(u["lead"], "old", "read", None, now)
        _, buyer_secret = api_services.create_token(u["buyer"], "fuzz", "read-write", None, now)
        _, lead_secret = api_services.create_token(u["lead"], "fuzz", "read-write", None, now)
        db.session.commit()
    w.ids["api_token"] = api_token.id
    w.secrets.update(buyer_api=buyer_secret, lead_api=lead_secret)

    _upload_files(app, w)

    # Past the deadline only now: the submitted bid went in while the tender was open. Closed
    # as the clock would, so that no fuzzed request is the one that happens to close it.
    closing = db.session.get(Tender, closing.id)
    closing.deadline = now - timedelta(minutes=5)
    close_if_due(closing, now)
    db.session.commit()
    db.session.expire_all()
    return w


def _upload_files(app, w: World) -> None:
    """Documents and images through the real routes, so files and rows match."""
    client = app.test_client()
    u, ids = w.users, w.ids

    def post(url, data):
        response = client.post(url, data=data, content_type="multipart/form-data")
        assert response.status_code in (302, 303), (url, response.status_code)

    log_in(client, u["buyer"])
    draft = db.session.get(Tender, ids["draft_tender"])
    post(f"/tenders/{draft.id}/documents",
         {"version": str(draft.version), "file": (io.BytesIO(PDF), "spec.pdf")})
    ids["tender_document"] = db.session.scalar(select(TenderDocument.id).where(
        TenderDocument.tender_id == draft.id))

    log_in(client, u["lead"])
    bid = db.session.get(Bid, ids["bid"])
    post(f"/bids/{bid.id}/documents",
         {"version": str(bid.version), "file": (io.BytesIO(PDF), "method.pdf")})
    ids["bid_document"] = db.session.scalar(select(BidDocument.id).where(
        BidDocument.bid_id == bid.id))
    post(f"/projects/{ids['project']}/photos",
         {"photo": (io.BytesIO(png()), "site.png"), "caption": "Site"})
    ids["photo"] = db.session.scalar(select(ProjectPhoto.id))
    post(f"/orgs/{ids['lead_slug']}/profile/logo", {"logo": (io.BytesIO(png()), "logo.png")})
    db.session.expire_all()


__all__ = ["PASSWORD", "PDF", "World", "build_world", "log_in", "png"]
