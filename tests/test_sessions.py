"""Sessions and cookies: a new session on login, old cookies die on logout, password change
and suspension, cookie lifetimes and flags (SECURITY.md 3, 4, 5)."""

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from marketplace.models import User
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


# -- replayed cookies, every way a session ends, in development and production ----------------

PRODUCTION = {"GUILD_ENV": "production", "SECRET_KEY": "a production-like secret key " * 2,
              "TRUSTED_HOSTS": ["localhost"]}
CONFIGS = pytest.mark.parametrize("app_config", [{}, PRODUCTION],
                                  ids=["development", "production"])
COOKIE_SETS = {"session": (SESSION_COOKIE,), "remember": (REMEMBER_COOKIE,),
               "both": (SESSION_COOKIE, REMEMBER_COOKIE)}


def end_by_logout(app, client, user):
    assert client.post("/logout").status_code == 302


def end_by_password_change(app, client, user):
    response = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.headers["Location"] == "/account"


def end_by_suspension(app, client, user):
    admin = app.test_client()
    assert log_in(admin, "root@example.com").status_code == 302
    assert admin.post(f"/admin/users/{user.id}/suspend").status_code == 302


ENDINGS = {"logout": end_by_logout, "password-change": end_by_password_change,
           "suspension": end_by_suspension}


def replaying_client(app, names, cookies):
    other = app.test_client()
    for name in names:
        other.set_cookie(name, cookies[name])
    return other


@CONFIGS
@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize("kind", COOKIE_SETS)
def test_replayed_cookies_are_treated_as_anonymous(app, client, db, make_user, app_config,
                                                   ending, kind):
    make_user("root@example.com", site_admin=True)
    user = make_user("me@example.com")
    log_in(client, "me@example.com", remember=True)
    cookies = captured_cookies(client)
    names = COOKIE_SETS[kind]
    # Before: the cookies alone open a logged-in page, so the test can see them die.
    assert replaying_client(app, names, cookies).get("/account").status_code == 200

    ENDINGS[ending](app, client, user)

    for url in ("/dashboard", "/account", "/account/password", "/bids", "/admin/users"):
        response = replaying_client(app, names, cookies).get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url
    replayer = replaying_client(app, names, cookies)
    home = replayer.get("/")
    assert home.status_code == 200
    assert "Log out" not in home.get_data(as_text=True)  # the page is the anonymous one
    assert "no-store" not in home.headers.get("Cache-Control", "")
    # No fresh cookie is minted from the dead one.
    assert set_cookies(home).get(REMEMBER_COOKIE, {}).get("value", "") in ("", '""')
    # Nor can the replayed cookies change anything.
    before = db.session.get(User, user.id)
    db.session.refresh(before)
    email = before.email
    changed = replaying_client(app, names, cookies).post(
        "/account/email", data={"email": "thief@example.com", "password": PASSWORD})
    assert changed.status_code == 302
    assert changed.headers["Location"].startswith("/login")
    db.session.refresh(before)
    assert before.email == email


def test_reinstatement_does_not_revive_old_cookies(app, logged_in, make_user):
    user, cookies = logged_in
    admin = app.test_client()
    log_in(admin, make_user("admin@example.com", site_admin=True).email)
    admin.post(f"/admin/users/{user.id}/suspend")
    assert admin.post(f"/admin/users/{user.id}/reinstate").status_code == 302
    assert_cookies_dead(app, cookies)
    # The person logs in again and gets working cookies of the new generation.
    assert log_in(app.test_client(), "me@example.com").status_code == 302


def test_a_second_device_is_logged_out_by_logout_on_the_first(app, client, logged_in):
    _, _ = logged_in
    laptop = app.test_client()
    log_in(laptop, "me@example.com")
    assert laptop.get("/dashboard").status_code == 200
    client.post("/logout")
    # The laptop keeps its own (still validly signed) cookie jar: it is logged out all the same.
    assert laptop.get("/dashboard").status_code == 302


class TestForgedRememberCookies:
    """The remember-me cookie names a session generation; only the current one works, and the
    signature cannot be bypassed."""

    def remember(self, app, payload: str) -> str:
        from flask_login.utils import encode_cookie

        with app.test_request_context():
            return encode_cookie(payload)

    def opens_dashboard(self, app, value: str) -> bool:
        return replay(app, **{REMEMBER_COOKIE: value}) == 200

    def test_current_generation_signed_with_the_key_works(self, app, make_user):
        user = make_user()
        assert self.opens_dashboard(app, self.remember(app, user.get_id()))

    @pytest.mark.parametrize("payload", ["{id}", "{id}:{next}", "{id}:{prev}", "{id}:", ":{gen}",
                                         "{id}:{gen}:0", "{id}:-{gen}", "{id}: {gen}",
                                         "0{id}:{gen}x", "{id}:{gen}\n"])
    def test_other_generations_and_shapes_are_refused(self, app, db, make_user, payload):
        user = make_user()
        user.session_generation = 5
        db.session.commit()
        value = payload.format(id=user.id, gen=5, next=6, prev=4)
        assert not self.opens_dashboard(app, self.remember(app, value)), value

    def test_a_bad_signature_is_refused(self, app, make_user):
        user = make_user()
        good = self.remember(app, user.get_id())
        payload, _, digest = good.partition("|")
        assert not self.opens_dashboard(app, f"{payload}|{'0' * len(digest)}")
        assert not self.opens_dashboard(app, payload)

    def test_a_cookie_signed_with_another_key_is_refused(self, app, make_user):
        user = make_user()
        key = app.config["SECRET_KEY"]
        app.config["SECRET_KEY"] = "some other deployment's key, also long"
        try:
            foreign = self.remember(app, user.get_id())
        finally:
            app.config["SECRET_KEY"] = key
        assert not self.opens_dashboard(app, foreign)


class TestProductionCookieLifetimesAndFlags:
    @pytest.fixture
    def app_config(self):
        return PRODUCTION

    def test_lifetimes(self, app, client, make_user):
        make_user("me@example.com")
        assert app.config["PERMANENT_SESSION_LIFETIME"] <= timedelta(hours=24)
        assert app.config["REMEMBER_COOKIE_DURATION"] <= timedelta(days=30)
        started = datetime.now(UTC)
        cookies = set_cookies(log_in(client, "me@example.com", remember=True))
        session_expires = parsedate_to_datetime(cookies[SESSION_COOKIE]["expires"])
        remember_expires = parsedate_to_datetime(cookies[REMEMBER_COOKIE]["expires"])
        assert started < session_expires <= started + timedelta(hours=24, minutes=1)
        assert remember_expires <= started + timedelta(days=30, minutes=1)

    def test_every_cookie_the_site_sets_is_secure_httponly_and_lax(self, app, client,
                                                                   make_user, db):
        from tests.conftest import route_requests

        make_user("me@example.com")
        responses = [client.get("/login"),
                     log_in(client, "me@example.com", remember=True)]
        responses += [client.get(url) for _, method, url in route_requests(app)
                      if method == "GET"]
        responses.append(client.post("/logout"))  # the deleting Set-Cookie headers too
        other = app.test_client()
        responses.append(other.post("/register", data={
            "email": "new@example.com", "display_name": "New", "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD}))
        seen = 0
        for response in responses:
            for name, attrs in set_cookies(response).items():
                seen += 1
                assert "secure" in attrs, (response.request.path, name)
                assert "httponly" in attrs, (response.request.path, name)
                assert attrs.get("samesite", "").lower() == "lax", (response.request.path, name)
                assert "domain" not in attrs, (response.request.path, name)
        assert seen >= 4


def test_a_session_restored_from_remember_me_is_not_fresh(app, logged_in):
    """A stolen remember-me cookie alone cannot change the password or e-mail (SECURITY 6)."""
    _, cookies = logged_in
    only_remember = app.test_client()
    only_remember.set_cookie(REMEMBER_COOKIE, cookies[REMEMBER_COOKIE])
    assert only_remember.get("/dashboard").status_code == 200
    for url in ("/account/password", "/account/email"):
        response = only_remember.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/reauthenticate"), url
