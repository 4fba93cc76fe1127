"""Sessions and cookies: a new session on login, old cookies die on logout, password change
and suspension, cookie lifetimes and flags (SECURITY.md 3, 4, 5)."""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from tests.conftest import PASSWORD, form_errors, log_in
from tests.test_auth import reset_link

SESSION_COOKIE = "guild_session"
REMEMBER_COOKIE = "guild_remember"
NEW_PASSWORD = "a completely new passphrase"


def set_cookies(response) -> dict[str, dict[str, str]]:
    """Set-Cookie headers as {name: {attribute (lower-case): value}}; flags map to ""."""
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        name, _, value = first.partition("=")
        attrs = {"value": value}
        for attribute in attributes:
            key, _, val = attribute.partition("=")
            attrs[key.lower()] = val
        cookies[name] = attrs
    return cookies


def captured_cookies(client) -> dict[str, str]:
    return {name: client.get_cookie(name).value for name in (SESSION_COOKIE, REMEMBER_COOKIE)
            if client.get_cookie(name) is not None}


def replay(app, **cookies) -> int:
    """Open the dashboard on a brand-new client that carries only the given cookies."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    response = other.get("/dashboard")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/login")
    return response.status_code


@pytest.fixture
def logged_in(app, client, make_user):
    """A user logged in through the form with remember-me, and their captured cookies, which
    must work on their own before the test kills them."""
    user = make_user("me@example.com")
    log_in(client, "me@example.com", remember=True)
    cookies = captured_cookies(client)
    assert set(cookies) == {SESSION_COOKIE, REMEMBER_COOKIE}
    assert replay(app, **{SESSION_COOKIE: cookies[SESSION_COOKIE]}) == 200
    assert replay(app, **{REMEMBER_COOKIE: cookies[REMEMBER_COOKIE]}) == 200
    return user, cookies


def assert_cookies_dead(app, cookies):
    assert replay(app, **{SESSION_COOKIE: cookies[SESSION_COOKIE]}) == 302
    assert replay(app, **{REMEMBER_COOKIE: cookies[REMEMBER_COOKIE]}) == 302
    assert replay(app, **cookies) == 302


def test_login_starts_a_new_session(client, make_user):
    make_user("me@example.com")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = client.get_cookie(SESSION_COOKIE).value
    log_in(client, "me@example.com")
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"]
    assert client.get_cookie(SESSION_COOKIE).value != before


def test_logout_kills_old_session_and_remember_cookies(app, client, logged_in):
    _, cookies = logged_in
    response = client.post("/logout")
    assert response.headers["Location"] == "/"
    assert client.get("/dashboard").status_code == 302
    assert_cookies_dead(app, cookies)


def test_password_change_kills_other_sessions_but_not_this_one(app, client, logged_in):
    _, cookies = logged_in
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.headers["Location"] == "/account"
    assert client.get("/dashboard").status_code == 200
    assert_cookies_dead(app, cookies)


def test_email_change_kills_other_sessions(app, client, logged_in):
    _, cookies = logged_in
    client.post("/account/email", data={"email": "new@example.com", "password": PASSWORD})
    assert client.get("/dashboard").status_code == 200
    assert_cookies_dead(app, cookies)


def test_password_reset_kills_every_session(app, client, logged_in, db):
    _, cookies = logged_in
    other = app.test_client()
    other.post("/password/forgot", data={"email": "me@example.com"})
    path, _ = reset_link(db, "me@example.com")
    other.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert client.get("/dashboard").status_code == 302
    assert_cookies_dead(app, cookies)


def test_suspension_kills_sessions_at_once_and_blocks_login(app, logged_in, make_user):
    user, cookies = logged_in
    admin = app.test_client()
    log_in(admin, make_user("admin@example.com", site_admin=True).email)
    response = admin.post(f"/admin/users/{user.id}/suspend")
    assert response.headers["Location"] == "/admin/users"
    assert_cookies_dead(app, cookies)

    refused = log_in(app.test_client(), "me@example.com")
    assert refused.status_code == 200
    assert form_errors(refused) == [
        "This account is suspended. Contact the site administrators."]


def test_cookie_lifetimes(app, client, make_user):
    make_user("me@example.com")
    assert app.config["PERMANENT_SESSION_LIFETIME"] <= timedelta(hours=24)
    assert app.config["REMEMBER_COOKIE_DURATION"] <= timedelta(days=30)
    started = datetime.now(UTC)
    cookies = set_cookies(log_in(client, "me@example.com", remember=True))
    session_expires = parsedate_to_datetime(cookies[SESSION_COOKIE]["expires"])
    remember_expires = parsedate_to_datetime(cookies[REMEMBER_COOKIE]["expires"])
    assert session_expires <= started + timedelta(hours=24, minutes=1)
    assert started + timedelta(days=29) < remember_expires <= started + timedelta(days=30,
                                                                                   minutes=1)


def test_no_remember_cookie_unless_asked(client, make_user):
    make_user("me@example.com")
    assert REMEMBER_COOKIE not in set_cookies(log_in(client, "me@example.com"))


class TestProductionCookies:
    @pytest.fixture
    def app_config(self):
        return {"GUILD_ENV": "production", "TRUSTED_HOSTS": ["localhost"]}

    def test_cookies_are_secure_httponly_and_lax(self, client, make_user):
        make_user("me@example.com")
        cookies = set_cookies(log_in(client, "me@example.com", remember=True))
        for name in (SESSION_COOKIE, REMEMBER_COOKIE):
            assert "secure" in cookies[name], name
            assert "httponly" in cookies[name], name
            assert cookies[name]["samesite"].lower() == "lax", name


def test_development_cookies_are_httponly_and_lax(client, make_user):
    make_user("me@example.com")
    cookies = set_cookies(log_in(client, "me@example.com", remember=True))
    for name in (SESSION_COOKIE, REMEMBER_COOKIE):
        assert "httponly" in cookies[name]
        assert cookies[name]["samesite"].lower() == "lax"
