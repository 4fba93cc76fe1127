"""Alliances: create, public page, edit, dissolve, invitations, membership, authorization."""

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from marketplace.alliances import services as alliances
from marketplace.alliances.overview import overview
from marketplace.clock import now
from marketplace.errors import InvalidState, PermissionDenied, ValidationFailed
from marketplace.models import (
    ActivityEvent,
    AllianceInvitation,
    AllianceMember,
    AllianceRole,
    AuditEvent,
    EmailMessage,
    Notification,
    Profile,
    ProfileCapability,
    ProfileCpvCode,
    SearchOutbox,
)
from tests.alliance_helpers import XSS, build_world
from tests.conftest import flashes, html


@pytest.fixture
def world(app, make_user, make_org):
    return build_world(app, make_user, make_org)


def member_roles(db, alliance) -> dict[int, AllianceRole]:
    db.session.expire_all()
    return {m.organisation_id: m.role for m in db.session.scalars(
        select(AllianceMember).where(AllianceMember.alliance_id == alliance.id))}


def invite(app, db, world, org, when=None):
    with app.test_request_context():
        inv = alliances.invite_organisation(world.lead_user, world.alliance, org, when or now())
        db.session.commit()
        return inv


# -- create, page, edit, dissolve ----------------------------------------------------------

def test_create_makes_the_creating_organisation_lead(client, db, login_as, make_user, make_org):
    user = make_user()
    org = make_org(user, name="Avon Carpentry")
    login_as(user)
    response = client.post("/alliances/new", data={
        "organisation_id": str(org.id), "name": "Avon Build Partners",
        "summary": "Carpenters and electricians", "description": "We **build**.",
        "service_area": "Bristol"})
    assert response.status_code == 302
    member = db.session.scalar(select(AllianceMember))
    assert member.organisation_id == org.id and member.role == AllianceRole.LEAD
    assert member.alliance.slug == "avon-build-partners"
    assert ("alliance", member.alliance_id) in {
        (r.kind, r.object_id) for r in db.session.scalars(select(SearchOutbox))}
    page = html(client.get("/alliances/avon-build-partners"))
    assert page.h1.get_text(strip=True) == "Avon Build Partners"
    assert page.select_one(".prose strong").get_text() == "build"


def test_create_needs_an_organisation_the_user_manages(client, db, login_as, make_user,
                                                        make_org):
    owner, plain = make_user(), make_user()
    org = make_org(owner, members={plain: "member"})
    login_as(plain)
    page = html(client.get("/alliances/new"))
    assert "owner or admin" in page.select_one(".empty").get_text()
    response = client.post("/alliances/new", data={"organisation_id": str(org.id),
                                                   "name": "Sneaky alliance"})
    assert response.status_code == 200
    assert db.session.scalar(select(AllianceMember)) is None


def test_create_rejects_bad_input_without_saving(client, db, login_as, make_user, make_org):
    user = make_user()
    org = make_org(user)
    login_as(user)
    for name in ("", "x", "a" * 121, "bad\x00name"):
        response = client.post("/alliances/new", data={"organisation_id": str(org.id),
                                                       "name": name})
        assert response.status_code == 200
    response = client.post("/alliances/new", data={"organisation_id": "999999",
                                                   "name": "Valid name"})
    assert response.status_code == 200
    assert db.session.scalar(select(AllianceMember)) is None


def test_public_page_combines_published_profiles_by_cpv_division(app, client, db, world):
    db.session.add(Profile(organisation_id=world.lead_org.id, town="Bath", region="South West",
                           service_radius_km=40, published_at=now(),
                           capabilities=[ProfileCapability(tag="sash window repair")],
                           cpv_codes=[ProfileCpvCode(code="45421000")]))
    db.session.add(Profile(organisation_id=world.member_org.id, town="Keynsham",
                           published_at=now(),
                           capabilities=[ProfileCapability(tag="rewiring"),
                                         ProfileCapability(tag="Sash Window Repair")],
                           cpv_codes=[ProfileCpvCode(code="45311000"),
                                      ProfileCpvCode(code="71000000")]))
    db.session.add(Profile(organisation_id=world.outsider_org.id, published_at=None,
                           capabilities=[ProfileCapability(tag="never shown")]))
    db.session.commit()
    page = html(client.get(f"/alliances/{world.alliance.slug}"))
    members = {row.select_one("a").get_text(strip=True): row.select_one(".badge").get_text()
               for row in page.select(".member-row")}
    assert members == {"Lead Joinery": "lead", "Member Electrics": "member"}
    tags = [li.get_text(" ", strip=True) for li in page.select(".tag-cloud li")]
    assert tags[0] == "sash window repair \u00d72" and "rewiring" in tags
    divisions = [d.get_text(strip=True) for d in page.select(".division-code")]
    assert divisions == ["45", "71"]
    assert "Construction work" in page.select_one(".division-label").get_text()
    area = page.select_one("[aria-labelledby=area-h]").get_text(" ", strip=True)
    assert "Bath" in area and "Keynsham" in area and "40 km" in area
    assert "never shown" not in page.get_text()
    # Unpublishing a profile takes it out of the alliance's cover.
    profile = db.session.scalar(select(Profile).where(
        Profile.organisation_id == world.member_org.id))
    profile.published_at = None
    db.session.commit()
    data = overview(world.alliance)
    assert [d.code for d in data.divisions] == ["45"]


def test_edit_by_lead_only_with_version_check(app, client, db, login_as, world):
    url = f"/alliances/{world.alliance.slug}/edit"
    for user in (world.member_user, world.plain_user, world.outsider_user):
        login_as(user)
        assert client.get(url).status_code == 403
        assert client.post(url, data={"name": "Hijacked", "version": "1"}).status_code == 403
    login_as(world.lead_user)
    page = html(client.get(url))
    version = page.select_one("input[name=version]")["value"]
    response = client.post(url, data={"name": "Severn Builders", "summary": "New summary",
                                      "version": version})
    assert response.status_code == 302
    db.session.expire_all()
    assert world.alliance.name == "Severn Builders"
    stale = client.post(url, data={"name": "Lost update", "version": version})
    assert stale.status_code == 200
    assert "Someone else changed" in stale.get_data(as_text=True)
    db.session.expire_all()
    assert world.alliance.name == "Severn Builders"


def test_dissolve_keeps_history_and_stops_changes(app, client, db, login_as, world):
    login_as(world.member_user)
    assert client.post(f"/alliances/{world.alliance.slug}/dissolve").status_code == 403
    login_as(world.lead_user)
    response = client.post(f"/alliances/{world.alliance.slug}/dissolve")
    assert response.status_code == 302
    db.session.expire_all()
    assert world.alliance.dissolved_at is not None
    page = html(client.get(f"/alliances/{world.alliance.slug}"))
    assert "Dissolved" in page.select_one(".alliance-hero").get_text()
    assert len(page.select(".member-row")) == 2  # members stay on the record
    assert "dissolved" in page.select_one(".activity").get_text()
    assert world.alliance.slug not in client.get("/alliances").get_data(as_text=True)
    with app.test_request_context(), pytest.raises((InvalidState, PermissionDenied)):
        alliances.invite_organisation(world.lead_user, world.alliance, world.outsider_org, now())
    assert client.get(f"/alliances/{world.alliance.slug}/edit").status_code == 403


# -- invitations ---------------------------------------------------------------------------

def test_invitation_reaches_owners_and_admins_by_dashboard_and_email(app, client, db, login_as,
                                                                       world):
    login_as(world.lead_user)
    response = client.post(f"/alliances/{world.alliance.slug}/invite",
                           data={"organisation": "Outsider Roofing", "message": "Join us"})
    assert response.status_code == 302
    mails = {m.to_address for m in db.session.scalars(select(EmailMessage))
             if "Outsider Roofing" in m.subject}
    assert mails == {world.outsider_user.email, world.admin_user.email}
    assert db.session.scalar(select(Notification).where(
        Notification.user_id == world.admin_user.id, Notification.kind == "alliance_invitation"))
    for user in (world.outsider_user, world.admin_user):
        login_as(user)
        panel = html(client.get("/dashboard")).select_one(".collab-inbox")
        assert "Severn Builders Alliance" in panel.get_text()
        assert panel.find("button", string="Accept")
    login_as(world.member_user)
    assert html(client.get("/dashboard")).select_one(".collab-inbox") is None


def test_invite_by_web_address_and_unknown_names(app, client, db, login_as, world):
    login_as(world.lead_user)
    url = f"/alliances/{world.alliance.slug}/invite"
    response = client.post(url, data={"organisation": "no such firm"}, follow_redirects=True)
    assert any("No organisation" in f for f in flashes(response))
    response = client.post(url, data={"organisation": world.member_org.slug},
                           follow_redirects=True)
    assert any("already a member" in f for f in flashes(response))
    client.post(url, data={"organisation": world.outsider_org.slug})
    response = client.post(url, data={"organisation": world.outsider_org.slug},
                           follow_redirects=True)
    assert any("already has a pending invitation" in f for f in flashes(response))
    assert len(db.session.scalars(select(AllianceInvitation)).all()) == 2


def test_accept_works_once(app, client, db, login_as, world):
    inv = invite(app, db, world, world.outsider_org)
    login_as(world.admin_user)  # an admin of the invited organisation may answer
    response = client.post(f"/alliance-invitations/{inv.id}/accept")
    assert response.status_code == 302
    assert member_roles(db, world.alliance)[world.outsider_org.id] == AllianceRole.MEMBER
    again = client.post(f"/alliance-invitations/{inv.id}/accept", follow_redirects=True)
    assert any("already answered" in f for f in flashes(again))
    decline = client.post(f"/alliance-invitations/{inv.id}/decline", follow_redirects=True)
    assert any("already answered" in f for f in flashes(decline))
    assert len(member_roles(db, world.alliance)) == 3
    joined = db.session.scalars(select(ActivityEvent).where(
        ActivityEvent.organisation_id == world.outsider_org.id)).all()
    assert [e.kind.value for e in joined] == ["member_joined"]


def test_decline_then_accept_is_refused(app, client, db, login_as, world):
    inv = invite(app, db, world, world.outsider_org)
    login_as(world.outsider_user)
    client.post(f"/alliance-invitations/{inv.id}/decline")
    client.post(f"/alliance-invitations/{inv.id}/accept")
    assert world.outsider_org.id not in member_roles(db, world.alliance)
    db.session.expire_all()
    assert inv.declined_at is not None and inv.accepted_at is None


def test_invitations_expire_after_14_days(app, client, db, login_as, world):
    inv = invite(app, db, world, world.outsider_org)
    assert inv.expires_at - inv.created_at == timedelta(days=14)
    with time_machine.travel(inv.expires_at + timedelta(seconds=1), tick=False):
        login_as(world.outsider_user)
        assert html(client.get("/dashboard")).select_one(".collab-inbox") is None
        response = client.post(f"/alliance-invitations/{inv.id}/accept", follow_redirects=True)
        assert any("expired" in f for f in flashes(response))
    assert world.outsider_org.id not in member_roles(db, world.alliance)
    with time_machine.travel(inv.expires_at - timedelta(seconds=1), tick=False):
        login_as(world.outsider_user)
        client.post(f"/alliance-invitations/{inv.id}/accept")
    assert world.outsider_org.id in member_roles(db, world.alliance)


def test_only_the_invited_organisations_managers_can_answer(app, client, db, login_as,
                                                            make_user, make_org, world):
    inv = invite(app, db, world, world.outsider_org)
    plain = make_user()
    db.session.add(world.outsider_org)
    from marketplace.models import Membership, OrgRole

    db.session.add(Membership(organisation_id=world.outsider_org.id, user_id=plain.id,
                              role=OrgRole.MEMBER))
    db.session.commit()
    for user in (world.lead_user, world.member_user, world.site_admin, plain):
        login_as(user)
        assert client.post(f"/alliance-invitations/{inv.id}/accept").status_code == 404
        assert client.post(f"/alliance-invitations/{inv.id}/decline").status_code == 404
    assert world.outsider_org.id not in member_roles(db, world.alliance)


def test_revoke_invitation(app, client, db, login_as, world):
    inv = invite(app, db, world, world.outsider_org)
    login_as(world.member_user)
    assert client.post(f"/alliances/{world.alliance.slug}/invitations/{inv.id}/revoke"
                       ).status_code == 403
    login_as(world.lead_user)
    client.post(f"/alliances/{world.alliance.slug}/invitations/{inv.id}/revoke")
    login_as(world.outsider_user)
    client.post(f"/alliance-invitations/{inv.id}/accept")
    assert world.outsider_org.id not in member_roles(db, world.alliance)


# -- membership ----------------------------------------------------------------------------

def test_leave_and_last_lead_cannot_leave(app, client, db, login_as, world):
    slug = world.alliance.slug
    login_as(world.lead_user)
    response = client.post(f"/alliances/{slug}/leave",
                           data={"organisation_id": str(world.lead_org.id)},
                           follow_redirects=True)
    assert any("last lead" in f for f in flashes(response))
    login_as(world.plain_user)  # a plain member cannot take the organisation out
    assert client.post(f"/alliances/{slug}/leave",
                       data={"organisation_id": str(world.lead_org.id)}).status_code == 404
    login_as(world.member_user)
    client.post(f"/alliances/{slug}/leave", data={"organisation_id": str(world.member_org.id)})
    assert member_roles(db, world.alliance) == {world.lead_org.id: AllianceRole.LEAD}
    assert "left" in html(client.get(f"/alliances/{slug}")).select_one(".activity").get_text()


def test_remove_by_leads_only(app, client, db, login_as, world):
    slug = world.alliance.slug
    member = db.session.scalar(select(AllianceMember).where(
        AllianceMember.organisation_id == world.member_org.id))
    lead = db.session.scalar(select(AllianceMember).where(
        AllianceMember.organisation_id == world.lead_org.id))
    login_as(world.member_user)
    assert client.post(f"/alliances/{slug}/members/{lead.id}/remove").status_code == 403
    login_as(world.lead_user)
    response = client.post(f"/alliances/{slug}/members/{lead.id}/remove", follow_redirects=True)
    assert any("last lead" in f for f in flashes(response))
    client.post(f"/alliances/{slug}/members/{member.id}/remove")
    assert world.member_org.id not in member_roles(db, world.alliance)
    assert db.session.scalar(select(Notification).where(
        Notification.user_id == world.member_user.id,
        Notification.kind == "alliance_member_removed"))
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "member_removed"))


def test_promote_demote_and_last_lead_cannot_step_down(app, client, db, login_as, world):
    slug = world.alliance.slug
    ids = {m.organisation_id: m.id for m in db.session.scalars(select(AllianceMember))}
    login_as(world.lead_user)
    response = client.post(f"/alliances/{slug}/members/{ids[world.lead_org.id]}/role",
                           data={"role": "member"}, follow_redirects=True)
    assert any("last lead" in f for f in flashes(response))
    client.post(f"/alliances/{slug}/members/{ids[world.member_org.id]}/role",
                data={"role": "lead"})
    client.post(f"/alliances/{slug}/members/{ids[world.lead_org.id]}/role",
                data={"role": "member"})
    assert member_roles(db, world.alliance) == {world.lead_org.id: AllianceRole.MEMBER,
                                                world.member_org.id: AllianceRole.LEAD}
    # The former lead lost its powers.
    assert client.get(f"/alliances/{slug}/edit").status_code == 403
    response = client.post(f"/alliances/{slug}/members/{ids[world.member_org.id]}/role",
                           data={"role": "member"})
    assert response.status_code == 403
    assert client.post(f"/alliances/{slug}/members/{ids[world.lead_org.id]}/role",
                       data={"role": "nonsense"}).status_code == 403


def test_lead_transfer_needs_a_fresh_login(app, client, db, login_as, world):
    member = db.session.scalar(select(AllianceMember).where(
        AllianceMember.organisation_id == world.member_org.id))
    login_as(world.lead_user, fresh=False)
    response = client.post(f"/alliances/{world.alliance.slug}/members/{member.id}/role",
                           data={"role": "lead"})
    assert response.status_code in (302, 401)
    assert member_roles(db, world.alliance)[world.member_org.id] == AllianceRole.MEMBER


def test_service_rules_directly(app, db, world):
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            alliances.invite_organisation(world.member_user, world.alliance,
                                          world.outsider_org, now())
        with pytest.raises(ValidationFailed):
            alliances.invite_organisation(world.lead_user, world.alliance, world.member_org,
                                          now())
        with pytest.raises(PermissionDenied):
            alliances.create_alliance(world.plain_user, world.lead_org, name="Nope")
    db.session.rollback()
    with app.test_request_context():
        assert [(a.name, r) for a, r in alliances.alliances_of(world.member_org)] == [
            ("Severn Builders Alliance", AllianceRole.MEMBER)]
        assert alliances.alliances_of(world.outsider_org) == []


# -- authorization matrix: moved to tests/authz/matrix.toml (all routes x all actors) ------


def test_hidden_alliance_is_404_for_the_public(app, client, db, login_as, world):
    world.alliance.hidden_at = now()
    db.session.commit()
    assert client.get(f"/alliances/{world.alliance.slug}").status_code == 404
    login_as(world.outsider_user)
    assert client.get(f"/alliances/{world.alliance.slug}").status_code == 404
    login_as(world.plain_user)
    assert client.get(f"/alliances/{world.alliance.slug}").status_code == 200
    login_as(world.site_admin)
    assert client.get(f"/alliances/{world.alliance.slug}").status_code == 200


# -- output escaping -----------------------------------------------------------------------

def test_xss_marker_is_escaped_everywhere(app, client, db, login_as, make_user, make_org):
    user = make_user()
    org = make_org(user, name=f"Org {XSS}")
    other_user = make_user()
    other = make_org(other_user, name=f"Other {XSS}")
    login_as(user)
    client.post("/alliances/new", data={
        "organisation_id": str(org.id), "name": f"Alliance {XSS}", "summary": XSS,
        "description": f"{XSS}\n\n[link](javascript:alert(1))", "service_area": XSS})
    slug = db.session.scalar(select(AllianceMember)).alliance.slug
    client.post(f"/alliances/{slug}/invite", data={"organisation": other.slug, "message": XSS})
    pages = [client.get(u).get_data(as_text=True) for u in (
        f"/alliances/{slug}", f"/alliances/{slug}/members", "/alliances",
        f"/alliances/{slug}/edit")]
    login_as(other_user)
    pages.append(client.get("/dashboard").get_data(as_text=True))
    for body in pages:
        assert "<script>alert" not in body
        assert "href=\"javascript" not in body
    assert "&lt;script&gt;" in pages[0]
    assert "&lt;script&gt;alert" in pages[-1]


def test_demo_seed_has_alliances_projects_and_pending_items(app, db):
    from datetime import UTC, datetime

    from marketplace import seed
    from marketplace.models import Alliance, CreditStatus, ProjectCredit, ProjectExample
    from marketplace.projects import services as projects

    with app.test_request_context():
        seed.seed_demo("demo passphrase for the tests", now=datetime(2026, 3, 1, tzinfo=UTC))
        db.session.commit()
        live = db.session.scalars(select(Alliance).where(Alliance.dissolved_at.is_(None))).all()
        assert len(live) >= 8
        for alliance in live:
            data = overview(alliance)
            assert len({m.organisation.profile.town for m in data.members}) >= 1
            assert data.capabilities and data.divisions and data.leads
        public = [p for p in db.session.scalars(select(ProjectExample)) if p.is_public]
        assert len(public) >= 25
        assert db.session.scalar(select(AllianceInvitation).where(
            AllianceInvitation.accepted_at.is_(None))) is not None
        pending = db.session.scalars(select(ProjectCredit).where(
            ProjectCredit.status == CreditStatus.PENDING)).all()
        assert len(pending) >= 3
        harbourside = db.session.scalar(select(Alliance).where(
            Alliance.slug == "bristol-schools-refurb-group"))
        assert len(projects.confirmed_projects_for_alliance(harbourside)) == 3
