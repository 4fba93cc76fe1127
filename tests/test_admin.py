"""Site admin: `flask users create-admin`, the admin pages, suspension and moderation
(issue 1/7, item 5)."""

import pytest
from sqlalchemy import select

from marketplace.models import User
from marketplace.passwords import verify_password
from tests.conftest import flashes, html, log_in

ADMIN_PASSWORD = "the admin's own long passphrase"
ADMIN_PAGES = {"/admin/": "Overview", "/admin/users": "Users",
               "/admin/organisations": "Organisations", "/admin/mail": "Mail outbox"}


def find_user(db, email) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


# -- flask users create-admin ------------------------------------------------------------------

def test_create_admin_reads_the_password_from_the_environment(runner, db):
    result = runner.invoke(args=["users", "create-admin", "Boss@Example.com"],
                           env={"GUILD_ADMIN_PASSWORD": ADMIN_PASSWORD})
    assert result.exit_code == 0, result.output
    assert "boss@example.com is a site admin." in result.output
    user = find_user(db, "boss@example.com")
    assert user.is_site_admin
    assert verify_password(user.password_hash, ADMIN_PASSWORD)
    assert ADMIN_PASSWORD not in result.output


def test_create_admin_prompts_when_no_password_is_set(runner, db, monkeypatch):
    monkeypatch.delenv("GUILD_ADMIN_PASSWORD", raising=False)
    result = runner.invoke(args=["users", "create-admin", "boss@example.com"],
                           input=f"{ADMIN_PASSWORD}\n{ADMIN_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert verify_password(find_user(db, "boss@example.com").password_hash, ADMIN_PASSWORD)


@pytest.mark.parametrize("password", ["short", "qwerty123456", "boss@example.com"])
def test_create_admin_refuses_weak_passwords(runner, db, password):
    result = runner.invoke(args=["users", "create-admin", "boss@example.com"],
                           env={"GUILD_ADMIN_PASSWORD": password})
    assert result.exit_code != 0
    assert "Error:" in result.output
    assert find_user(db, "boss@example.com") is None


def test_create_admin_without_any_password_fails(runner, db, monkeypatch):
    monkeypatch.delenv("GUILD_ADMIN_PASSWORD", raising=False)
    result = runner.invoke(args=["users", "create-admin", "boss@example.com"], input="")
    assert result.exit_code != 0
    assert find_user(db, "boss@example.com") is None


def test_create_admin_promotes_an_existing_account(runner, db, make_user):
    user = make_user("existing@example.com")
    old_hash = user.password_hash
    result = runner.invoke(args=["users", "create-admin", "existing@example.com"])
    assert result.exit_code == 0, result.output
    user = find_user(db, "existing@example.com")
    assert user.is_site_admin and user.password_hash == old_hash


# -- admin pages -------------------------------------------------------------------------------

@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_pages_need_a_site_admin(client, make_user, login_as, url):
    assert client.get(url).headers["Location"].startswith("/login")
    login_as(make_user())
    denied = client.get(url)
    assert denied.status_code == 403
    assert html(denied).h1.get_text(strip=True) == "Not allowed"
    login_as(make_user(site_admin=True))
    page = client.get(url)
    assert page.status_code == 200
    assert html(page).h1.get_text(strip=True) == ADMIN_PAGES[url]


def test_admin_post_routes_refuse_normal_users(client, db, make_user, login_as):
    victim = make_user()
    login_as(make_user())
    assert client.post(f"/admin/users/{victim.id}/suspend").status_code == 403
    assert not find_user(db, victim.email).is_suspended


def test_users_page_lists_and_searches(client, make_user, login_as):
    make_user("alice@example.com", name="Alice Archer")
    make_user("bob@example.com", name="Bob Baker")
    login_as(make_user("root@example.com", site_admin=True))
    emails = [td.get_text(strip=True) for td in html(client.get(
        "/admin/users", query_string={"q": "alice"})).select("td[data-label=E-mail]")]
    assert emails == ["alice@example.com"]


def test_suspend_and_reinstate(client, db, make_user, login_as, app):
    target = make_user("target@example.com")
    admin = login_as(make_user("root@example.com", site_admin=True))
    page = html(client.get("/admin/users"))
    row = next(tr for tr in page.select("tbody tr") if "target@example.com" in tr.get_text())
    assert row.find("button", string="Suspend")
    own = next(tr for tr in page.select("tbody tr") if "root@example.com" in tr.get_text())
    assert not own.find("button")

    response = client.post(f"/admin/users/{target.id}/suspend")
    assert flashes(client.get(response.headers["Location"])) == [
        "target@example.com is suspended and logged out everywhere."]
    assert find_user(db, "target@example.com").is_suspended
    assert log_in(app.test_client(), "target@example.com").status_code == 200

    client.post(f"/admin/users/{target.id}/reinstate")
    assert not find_user(db, "target@example.com").is_suspended
    assert log_in(app.test_client(), "target@example.com").status_code == 302

    client.post(f"/admin/users/{admin.id}/suspend")
    assert not find_user(db, "root@example.com").is_suspended


def test_suspending_a_missing_user_is_404(client, make_user, login_as):
    login_as(make_user(site_admin=True))
    assert client.post("/admin/users/999999/suspend").status_code == 404


def test_hidden_organisation_is_404_for_the_public(client, db, make_user, make_org, login_as,
                                                   app):
    member = make_user()
    org = make_org(member, name="Rogue Roofers")
    url = f"/orgs/{org.slug}"
    assert client.get(url).status_code == 200
    login_as(make_user(site_admin=True))
    client.post(f"/admin/organisations/{org.id}/hide")
    assert client.get(url).status_code == 200  # site admins still see it

    public = app.test_client()
    assert public.get(url).status_code == 404
    outsider = app.test_client()
    log_in(outsider, make_user().email)
    assert outsider.get(url).status_code == 404
    insider = app.test_client()
    log_in(insider, member.email)
    assert insider.get(url).status_code == 200

    client.post(f"/admin/organisations/{org.id}/show")
    assert public.get(url).status_code == 200


def test_mail_outbox_lists_messages(client, db, make_user, login_as, app):
    make_user("forgetful@example.com")
    app.test_client().post("/password/forgot", data={"email": "forgetful@example.com"})
    login_as(make_user(site_admin=True))
    page = html(client.get("/admin/mail"))
    rows = page.select("tbody tr")
    assert len(rows) == 1
    assert rows[0].select_one("td[data-label=To]").get_text(strip=True) == (
        "forgetful@example.com")
    link = rows[0].find("a", string="Reset your Guild password")
    message = html(client.get(link["href"]))
    assert message.h1.get_text(strip=True) == "Reset your Guild password"
    # No mail server: the outbox is how the demo delivers, so the link is readable here.
    assert "/password/reset/" in message.select_one(".mail-body").get_text()
