"""Organisations: create, invite, roles, remove, leave, always an owner, the acting
organisation, members page permissions, the dashboard (issue 1/7, item 4)."""

import re
import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from marketplace.models import EmailMessage, Membership, Organisation, OrgInvitation, OrgRole
from tests.conftest import flashes, form_errors, html, log_in

INVITE_LINK = re.compile(r"https?://[^/\s]+(/invitations/(\S+))")


def role_of(db, org, user) -> OrgRole | None:
    db.session.expire_all()
    m = db.session.scalar(select(Membership).where(Membership.organisation_id == org.id,
                                                   Membership.user_id == user.id))
    return m.role if m else None


def membership(db, org, user) -> Membership:
    return db.session.scalar(select(Membership).where(Membership.organisation_id == org.id,
                                                      Membership.user_id == user.id))


def owners(db, org) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Membership).where(
        Membership.organisation_id == org.id, Membership.role == OrgRole.OWNER))


def change_role(client, org, target_membership, role):
    return client.post(f"/orgs/{org.slug}/members/{target_membership.id}/role",
                       data={"role": role})


# -- create ------------------------------------------------------------------------------------

def create(client, name, slug="", summary="We build things."):
    return client.post("/orgs/new", data={"name": name, "slug": slug, "summary": summary})


def test_create_page(client, make_user, login_as):
    login_as(make_user())
    page = html(client.get("/orgs/new"))
    assert page.h1.get_text(strip=True) == "Create an organisation"
    assert {i["name"] for i in page.select("form input, form textarea")} >= {
        "name", "slug", "summary"}


def test_create_makes_the_creator_owner_with_a_slug_from_the_name(client, db, make_user,
                                                                   login_as):
    user = login_as(make_user())
    response = create(client, "Bristol Joinery Ltd")
    assert response.headers["Location"] == "/orgs/bristol-joinery-ltd"
    org = db.session.scalar(select(Organisation).where(Organisation.slug == "bristol-joinery-ltd"))
    assert (org.name, org.summary) == ("Bristol Joinery Ltd", "We build things.")
    assert role_of(db, org, user) == OrgRole.OWNER
    with client.session_transaction() as session:
        assert session["acting_org_id"] == org.id


def test_same_name_gets_a_numbered_slug(client, make_user, login_as):
    login_as(make_user())
    assert create(client, "Café Über").headers["Location"] == "/orgs/cafe-uber"
    assert create(client, "Cafe uber").headers["Location"] == "/orgs/cafe-uber-2"
    assert create(client, "CAFÉ ÜBER!").headers["Location"] == "/orgs/cafe-uber-3"


@pytest.mark.parametrize("name", ["New", "Admin", "Switch"])
def test_reserved_words_never_become_slugs(client, make_user, login_as, name):
    login_as(make_user())
    assert create(client, name).headers["Location"] == f"/orgs/{name.lower()}-2"


@pytest.mark.parametrize(("slug", "error"), [
    ("taken", "This web address is taken; choose another."),
    ("new", "This web address is taken; choose another."),
    ("Bad Slug!", "Use lower-case letters"),
    ("-dash", "Use lower-case letters"),
])
def test_bad_or_taken_slugs_are_refused(client, db, make_user, make_org, login_as, slug, error):
    make_org(slug="taken")
    login_as(make_user())
    before = db.session.scalar(select(func.count(Organisation.id)))
    response = create(client, "Someone Else", slug=slug)
    assert response.status_code == 200
    assert any(e.startswith(error) for e in form_errors(response))
    assert db.session.scalar(select(func.count(Organisation.id))) == before


def test_anonymous_cannot_create(client, db):
    response = create(client, "Sneaky")
    assert response.headers["Location"].startswith("/login")
    assert db.session.scalar(select(func.count(Organisation.id))) == 0


# -- invitations -------------------------------------------------------------------------------

@pytest.fixture
def team(make_user, make_org):
    """An organisation with an owner, an admin and a plain member."""
    owner, admin, member = make_user("owner@example.com"), make_user(
        "admin@example.com"), make_user("member@example.com")
    org = make_org(owner, name="Avon Builders", slug="avon-builders",
                   members={admin: "admin", member: "member"})
    return org, owner, admin, member


def invite(client, org, email, role="member"):
    return client.post(f"/orgs/{org.slug}/members/invite", data={"email": email, "role": role})


def invitation_path(db, email) -> str:
    message = db.session.scalars(select(EmailMessage).where(EmailMessage.to_address == email)
                                 .order_by(EmailMessage.id.desc())).first()
    assert message.sensitive
    return INVITE_LINK.search(message.body_text).group(1)


def test_invitation_is_mailed_and_accepted_once(client, db, team, make_user, login_as, app):
    org, owner, *_ = team
    login_as(owner)
    response = invite(client, org, "New.Person@example.com", "admin")
    assert response.headers["Location"] == f"/orgs/{org.slug}/members"
    assert flashes(client.get(response.headers["Location"]))[0].startswith(
        "Invitation sent to new.person@example.com")
    path = invitation_path(db, "new.person@example.com")

    invited = make_user("new.person@example.com")
    guest = app.test_client()
    log_in(guest, invited.email)
    page = html(guest.get(path))
    assert page.h1.get_text(strip=True) == "Join Avon Builders"
    assert page.find("button", string="Accept invitation")
    accepted = guest.post(path + "/accept")
    assert accepted.headers["Location"] == f"/orgs/{org.slug}"
    assert role_of(db, org, invited) == OrgRole.ADMIN

    again = guest.post(path + "/accept")
    assert "This invitation has expired or was already used." in flashes(
        guest.get(again.headers["Location"]))


def test_only_the_invited_address_can_accept(client, db, team, make_user, app):
    org, owner, *_ = team
    log_in(client, owner.email)
    invite(client, org, "invited@example.com")
    path = invitation_path(db, "invited@example.com")

    intruder = make_user("intruder@example.com")
    other = app.test_client()
    log_in(other, intruder.email)
    page = html(other.get(path))
    assert not page.find("button", string="Accept invitation")
    assert "sent to a different e-mail address" in page.select_one("main").get_text()
    other.post(path + "/accept")
    assert role_of(db, org, intruder) is None
    inv = db.session.scalar(select(OrgInvitation))
    other_id = other.post(f"/me/invitations/{inv.id}/accept")
    assert other_id.status_code == 404
    assert role_of(db, org, intruder) is None


def test_invitation_link_requires_login_and_unknown_tokens_are_404(client, make_user,
                                                                   login_as):
    assert client.get("/invitations/whatever").headers["Location"].startswith("/login")
    login_as(make_user())
    assert client.get("/invitations/whatever").status_code == 404
    assert client.post("/invitations/whatever/accept").status_code == 404


def test_invitation_expires_after_fourteen_days(client, db, team, make_user, app):
    org, owner, *_ = team
    invited = make_user("late@example.com")
    start = datetime(2030, 3, 1, 10, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        log_in(client, owner.email)
        invite(client, org, invited.email)
        path = invitation_path(db, invited.email)
        clock.shift(timedelta(days=14))
        guest = app.test_client()
        log_in(guest, invited.email)
        page = html(guest.get(path))
        assert "expired or was already used" in page.select_one("main").get_text()
        guest.post(path + "/accept")
        assert role_of(db, org, invited) is None
        assert "Invitations for you" not in html(guest.get("/dashboard")).get_text()


def test_revoked_invitation_no_longer_works(client, db, team, make_user, app):
    org, owner, *_ = team
    log_in(client, owner.email)
    invite(client, org, "revoked@example.com")
    path = invitation_path(db, "revoked@example.com")
    inv = db.session.scalar(select(OrgInvitation))
    assert client.post(f"/orgs/{org.slug}/invitations/{inv.id}/revoke").status_code == 302
    guest = app.test_client()
    invited = make_user("revoked@example.com")
    log_in(guest, invited.email)
    guest.post(path + "/accept")
    assert role_of(db, org, invited) is None


def test_a_new_invitation_replaces_the_pending_one(client, db, team):
    org, owner, *_ = team
    log_in(client, owner.email)
    invite(client, org, "twice@example.com")
    invite(client, org, "twice@example.com", "admin")
    rows = db.session.scalars(select(OrgInvitation).order_by(OrgInvitation.id)).all()
    assert [r.revoked_at is not None for r in rows] == [True, False]


def test_members_cannot_invite_and_admins_cannot_invite_owners(client, db, team, login_as):
    org, _, admin, member = team
    login_as(member)
    assert invite(client, org, "x@example.com").status_code == 403
    login_as(admin)
    invite(client, org, "y@example.com", "owner")
    invite(client, org, "z@example.com", "admin")
    assert db.session.scalars(select(OrgInvitation.email)).all() == ["z@example.com"]


def test_inviting_an_existing_member_is_refused(client, db, team, login_as):
    org, owner, _, member = team
    login_as(owner)
    response = invite(client, org, member.email)
    assert "This person is already a member." in flashes(client.get(response.headers["Location"]))
    assert db.session.scalar(select(func.count(OrgInvitation.id))) == 0


def test_dashboard_shows_pending_invitations_and_accepts(client, db, team, make_user, app):
    org, owner, *_ = team
    log_in(client, owner.email)
    invite(client, org, "dash@example.com")
    invited = make_user("dash@example.com", name="Dana")
    guest = app.test_client()
    log_in(guest, invited.email)
    page = html(guest.get("/dashboard"))
    assert page.h1.get_text(strip=True) == "Hello, Dana"
    section = page.find("h2", string="Invitations for you").find_parent("section")
    assert "Avon Builders" in section.get_text()
    accept = section.find("button", string="Accept").find_parent("form")["action"]
    guest.post(accept)
    assert role_of(db, org, invited) == OrgRole.MEMBER
    page = html(guest.get("/dashboard"))
    assert not page.find("h2", string="Invitations for you")
    assert page.find("a", string="Avon Builders")


def test_declining_an_invitation(client, db, team, make_user, app):
    org, owner, *_ = team
    log_in(client, owner.email)
    invite(client, org, "no@example.com")
    guest = app.test_client()
    invited = make_user("no@example.com")
    log_in(guest, invited.email)
    guest.post(invitation_path(db, "no@example.com") + "/decline")
    assert role_of(db, org, invited) is None
    assert db.session.scalar(select(OrgInvitation)).declined_at is not None


# -- roles, removal, leaving, always an owner --------------------------------------------------

def test_admins_cannot_touch_owners_or_make_owners(client, db, team, login_as):
    org, owner, admin, member = team
    login_as(admin)
    change_role(client, org, membership(db, org, owner), "member")
    assert role_of(db, org, owner) == OrgRole.OWNER
    change_role(client, org, membership(db, org, member), "owner")
    assert role_of(db, org, member) == OrgRole.MEMBER
    client.post(f"/orgs/{org.slug}/members/{membership(db, org, owner).id}/remove")
    assert role_of(db, org, owner) == OrgRole.OWNER
    # What admins may do: promote and demote between member and admin.
    change_role(client, org, membership(db, org, member), "admin")
    assert role_of(db, org, member) == OrgRole.ADMIN


def test_only_owners_make_owners(client, db, team, login_as):
    org, owner, admin, _ = team
    login_as(owner)
    response = change_role(client, org, membership(db, org, admin), "owner")
    assert response.headers["Location"] == f"/orgs/{org.slug}/members"
    assert role_of(db, org, admin) == OrgRole.OWNER


def test_members_cannot_change_roles_or_remove(client, db, team, login_as):
    org, _, admin, member = team
    login_as(member)
    change_role(client, org, membership(db, org, admin), "member")
    client.post(f"/orgs/{org.slug}/members/{membership(db, org, admin).id}/remove")
    assert role_of(db, org, admin) == OrgRole.ADMIN


def test_invalid_role_value_is_refused(client, db, team, login_as):
    org, owner, _, member = team
    login_as(owner)
    change_role(client, org, membership(db, org, member), "emperor")
    assert role_of(db, org, member) == OrgRole.MEMBER


def test_the_last_owner_cannot_be_demoted_or_leave(client, db, team, login_as):
    org, owner, *_ = team
    login_as(owner)
    response = change_role(client, org, membership(db, org, owner), "admin")
    assert any("at least one owner" in f for f in flashes(client.get(response.headers["Location"])))
    assert role_of(db, org, owner) == OrgRole.OWNER
    response = client.post(f"/orgs/{org.slug}/leave")
    assert any("last owner" in f for f in flashes(client.get(response.headers["Location"])))
    assert role_of(db, org, owner) == OrgRole.OWNER


def test_an_owner_can_leave_when_another_owner_remains(client, db, team, login_as):
    org, owner, admin, _ = team
    membership(db, org, admin).role = OrgRole.OWNER
    db.session.commit()
    login_as(owner)
    assert client.post(f"/orgs/{org.slug}/leave").headers["Location"] == "/dashboard"
    assert role_of(db, org, owner) is None
    assert owners(db, org) == 1


def test_owner_removes_a_member_and_members_can_leave(client, db, team, login_as, app):
    org, owner, admin, member = team
    login_as(owner)
    client.post(f"/orgs/{org.slug}/members/{membership(db, org, admin).id}/remove")
    assert role_of(db, org, admin) is None
    login_as(member)
    client.post(f"/orgs/{org.slug}/leave")
    assert role_of(db, org, member) is None
    assert client.get(f"/orgs/{org.slug}/members").status_code == 404


def test_membership_ids_of_another_organisation_are_404(client, db, team, make_org, login_as):
    org, owner, *_ = team
    other = make_org()
    foreign = db.session.scalar(select(Membership).where(Membership.organisation_id == other.id))
    login_as(owner)
    assert change_role(client, org, foreign, "member").status_code == 404
    assert client.post(f"/orgs/{org.slug}/members/{foreign.id}/remove").status_code == 404
    assert owners(db, other) == 1


def demote_each_other(app, db, org, a, b):
    """Owners a and b demote each other at the same moment, each in its own request."""
    clients = {}
    for user in (a, b):
        clients[user.id] = app.test_client()
        log_in(clients[user.id], user.email)
    url = f"/orgs/{org.slug}/members/{{}}/role"
    target_of = {a.id: membership(db, org, b).id, b.id: membership(db, org, a).id}
    db.session.commit()  # the test's own session must hold no lock while the requests run
    barrier = threading.Barrier(2)
    codes, errors = [], []

    def run(actor_id):
        try:
            barrier.wait()
            response = clients[actor_id].post(url.format(target_of[actor_id]),
                                              data={"role": "member"})
            codes.append(response.status_code)
        except Exception as exc:  # a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(uid,)) for uid in target_of]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert codes == [302, 302]


def test_two_owners_demoting_each_other_at_once_leave_an_owner(app, db, make_user, make_org):
    a, b = make_user("a@example.com"), make_user("b@example.com")
    org = make_org(a, members={b: "owner"})
    for _ in range(3):
        demote_each_other(app, db, org, a, b)
        assert owners(db, org) == 1
        # Put both back as owners for the next round.
        for user in (a, b):
            membership(db, org, user).role = OrgRole.OWNER
        db.session.commit()


# -- the acting organisation -------------------------------------------------------------------

def test_switching_acting_organisation(client, db, make_user, make_org, login_as):
    user = login_as(make_user())
    first = make_org(user, name="Alpha Works")
    second = make_org(user, name="Beta Works")
    response = client.post("/orgs/switch", data={"organisation_id": str(second.id)})
    assert response.headers["Location"] == "/dashboard"
    page = html(client.get("/dashboard"))
    acting = page.select_one(".acting-org a")
    assert acting.get_text(strip=True) == "Beta Works"
    client.post("/orgs/switch", data={"organisation_id": str(first.id)})
    assert html(client.get("/dashboard")).select_one(".acting-org a").get_text(
        strip=True) == "Alpha Works"


@pytest.mark.parametrize("value", ["other", "abc", "", "1 OR 1=1", "9" * 20])
def test_switching_to_a_foreign_or_bad_id_fails(client, db, make_user, make_org, login_as,
                                                value):
    user = login_as(make_user())
    make_org(user, name="Mine")
    foreign = make_org(name="Not Mine")
    data = {"organisation_id": str(foreign.id) if value == "other" else value}
    assert client.post("/orgs/switch", data=data).status_code in (400, 404)
    with client.session_transaction() as session:
        assert session.get("acting_org_id") != foreign.id


def test_switch_to_foreign_org_is_404(client, make_user, make_org, login_as):
    login_as(make_user())
    foreign = make_org(name="Not Mine")
    assert client.post("/orgs/switch", data={"organisation_id": str(foreign.id)}
                       ).status_code == 404


def test_a_forged_session_cannot_act_for_another_organisation(client, make_user, make_org,
                                                              login_as):
    user = login_as(make_user())
    make_org(user, name="Mine Ltd")
    foreign = make_org(name="Victim Ltd")
    with client.session_transaction() as session:
        session["acting_org_id"] = foreign.id
    acting = html(client.get("/dashboard")).select_one(".acting-org a")
    assert acting.get_text(strip=True) == "Mine Ltd"


# -- members page ------------------------------------------------------------------------------

def test_members_page_for_outsiders_members_and_managers(client, team, make_user, login_as):
    org, owner, admin, member = team
    url = f"/orgs/{org.slug}/members"
    assert client.get(url).headers["Location"].startswith("/login")

    login_as(make_user())
    assert client.get(url).status_code == 404

    login_as(member)
    page = html(client.get(url))
    assert page.h1.get_text(strip=True) == "Members"
    assert len(page.select("tbody tr")) == 3
    assert not page.find("h2", string="Invite a colleague")
    assert not page.select("select[name=role]")

    login_as(admin)
    page = html(client.get(url))
    assert page.find("h2", string="Invite a colleague")
    # Admins get role forms for the member only: never for owners, never for themselves.
    assert len(page.select("tbody select[name=role]")) == 1

    login_as(owner)
    page = html(client.get(url))
    assert len(page.select("tbody select[name=role]")) == 2


def test_members_of_a_missing_org_is_404(client, make_user, login_as):
    login_as(make_user())
    assert client.get("/orgs/nope/members").status_code == 404


def test_dashboard_lists_my_organisations_with_roles(client, make_user, make_org, login_as):
    user = login_as(make_user(name="Morgan"))
    make_org(user, name="Gamma Glass")
    other_owner = make_user()
    make_org(other_owner, name="Delta Decor", members={user: "admin"})
    make_org(name="Not Mine")
    page = html(client.get("/dashboard"))
    assert page.h1.get_text(strip=True) == "Hello, Morgan"
    cards = {c.h3.get_text(strip=True): c.get_text(" ", strip=True)
             for c in page.select(".org-card")}
    assert set(cards) == {"Gamma Glass", "Delta Decor"}
    assert "Your role: owner" in cards["Gamma Glass"]
    assert "Your role: admin" in cards["Delta Decor"]


def test_empty_dashboard_invites_creating_an_organisation(client, make_user, login_as):
    login_as(make_user())
    page = html(client.get("/dashboard"))
    assert page.find("a", href="/orgs/new")
    assert page.select_one(".empty")
