"""Accounts: password policy and hashing, login throttling, fresh login, reset tokens, safe
``next=``, security log lines (SECURITY.md 1, 2, 6, 7, 12, 21)."""

import hashlib
import json
import logging
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import time_machine
from argon2 import PasswordHasher
from sqlalchemy import func, select

from marketplace.config import Defaults
from marketplace.data.passwords import common_passwords
from marketplace.logging_utils import OneLineUTCFormatter
from marketplace.models import EmailMessage, PasswordResetToken, User
from marketplace.passwords import hash_password
from tests.conftest import FAST_HASH, PASSWORD, flashes, form_errors, html, log_in

ROOT = Path(__file__).resolve().parent.parent
REDIS_TEST_URL = "redis://127.0.0.1:6379/15"
WRONG = "not the right passphrase"


def register(client, email="new@example.com", password=PASSWORD, name="New Person"):
    return client.post("/register", data={"email": email, "display_name": name,
                                          "password": password, "confirm": password})


def user_by_email(db, email) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def client_from(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def heading(response) -> str:
    return html(response).h1.get_text(" ", strip=True)


# -- pages -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "title"), [
    ("/login", "Log in"),
    ("/register", "Join Guild"),
    ("/password/forgot", "Reset your password"),
])
def test_auth_pages_render(client, url, title):
    response = client.get(url)
    assert response.status_code == 200
    assert heading(response) == title
    page = html(response)
    assert page.find("form", method="post")
    assert page.find("input", attrs={"name": "email"})


def test_account_page_shows_both_forms(client, make_user, login_as):
    login_as(make_user("me@example.com"))
    page = html(client.get("/account"))
    assert page.h1.get_text(strip=True) == "Your account"
    # The API tokens section (marketplace/api) follows the two account forms.
    assert [h.get_text(strip=True) for h in page.find_all("h2")] == [
        "Change password", "Change e-mail address", "API tokens"]


# -- passwords (SECURITY.md 1) -----------------------------------------------------------------

def test_register_logs_the_new_user_in(client, db):
    response = register(client, "New@Example.com ")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    assert user_by_email(db, "new@example.com") is not None
    assert heading(client.get("/dashboard")) == "Hello, New Person"


@pytest.mark.parametrize(("password", "accepted"), [
    ("x" * 11, False),
    ("correct horse", True),          # 13
    ("y" * 12, True),
    ("z" * 128, True),
    ("z" * 129, False),
])
def test_password_length_limits(client, db, password, accepted):
    response = register(client, password=password)
    assert (user_by_email(db, "new@example.com") is not None) is accepted
    if not accepted:
        assert response.status_code == 200
        assert any("characters" in e for e in form_errors(response))


def test_any_unicode_password_is_accepted_and_works(client, db, app):
    password = "日本語のパスワード🔐 żółć ❤️"
    assert register(client, password=password).status_code == 302
    client.post("/logout")
    fresh = app.test_client()
    assert log_in(fresh, "new@example.com", password).status_code == 302
    assert log_in(app.test_client(), "new@example.com", password[:-1]).status_code == 200


def test_long_password_is_never_truncated(client, app):
    password = "".join(chr(ord("a") + i % 26) for i in range(100))
    assert register(client, password=password).status_code == 302
    nearly = password[:-1] + "!"
    refused = log_in(app.test_client(), "new@example.com", nearly)
    assert refused.status_code == 200
    assert "The e-mail address or password is not right." in form_errors(refused)
    assert log_in(app.test_client(), "new@example.com", password).status_code == 302


COMMON_LONG = sorted(p for p in common_passwords() if len(p) >= 12)[:3]


@pytest.mark.parametrize("password", [*COMMON_LONG, COMMON_LONG[0].upper()])
def test_common_passwords_are_refused(client, db, password):
    assert len(password) >= 12
    response = register(client, password=password)
    assert response.status_code == 200
    assert any("most common" in e for e in form_errors(response))
    assert user_by_email(db, "new@example.com") is None


@pytest.mark.parametrize("password", ["newpersonality@example.com", "NEWPERSONALITY@EXAMPLE.COM",
                                      "newpersonality", "Anastasia Brown"])
def test_email_or_name_as_password_is_refused(client, db, password):
    response = register(client, "newpersonality@example.com", password=password,
                        name="Anastasia Brown")
    assert any("Do not use your" in e for e in form_errors(response))
    assert user_by_email(db, "newpersonality@example.com") is None


def test_passwords_are_hashed_with_argon2id(client, db):
    register(client)
    stored = user_by_email(db, "new@example.com").password_hash
    assert stored.startswith("$argon2id$v=19$")
    assert PASSWORD not in stored


def test_production_uses_argon2_cffi_defaults(app):
    assert Defaults.PASSWORD_HASH_PARAMS == {}
    app.config["PASSWORD_HASH_PARAMS"] = {}
    default = PasswordHasher()
    assert hash_password("whatever it is, long").startswith(
        f"$argon2id$v=19$m={default.memory_cost},t={default.time_cost},p={default.parallelism}$")


def test_outdated_hash_is_replaced_at_login(client, db, make_user):
    weaker = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1)
    user = make_user("old@example.com")
    user.password_hash = weaker.hash(PASSWORD)
    db.session.commit()
    old_hash = user.password_hash

    assert log_in(client, "old@example.com").status_code == 302
    new_hash = user_by_email(db, "old@example.com").password_hash
    assert new_hash != old_hash
    assert f"m={FAST_HASH['memory_cost']}," in new_hash
    assert log_in(client.application.test_client(), "old@example.com").status_code == 302


# -- login throttling (SECURITY.md 2) ----------------------------------------------------------

class TestAddressLimit:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "LOGIN_LIMIT_PER_ADDRESS": "3 per minute"}

    def test_too_many_logins_from_one_address_get_429(self, client, caplog):
        codes = [log_in(client, f"x{i}@example.com", WRONG).status_code for i in range(4)]
        assert codes == [200, 200, 200, 429]
        response = log_in(client, "x@example.com", WRONG)
        assert response.status_code == 429
        assert heading(response) == "Too many attempts"
        assert any("event=throttled" in r.getMessage() for r in caplog.records)

    def test_other_addresses_are_not_affected(self, client, app):
        for _ in range(4):
            log_in(client, "x@example.com", WRONG)
        other = client_from(app, "192.0.2.7")
        assert log_in(other, "x@example.com", WRONG).status_code == 200


class TestAccountLimit:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "LOGIN_LIMIT_PER_ACCOUNT": "2 per minute"}

    def test_one_account_from_many_addresses_gets_429(self, app):
        codes = [log_in(client_from(app, f"192.0.2.{i}"), "victim@example.com", WRONG).status_code
                 for i in range(1, 4)]
        assert codes == [200, 200, 429]


def test_failures_lock_the_account_until_the_lock_expires(client, db, make_user, app):
    make_user("lock@example.com")
    threshold = app.config["ACCOUNT_LOCK_THRESHOLD"]
    start = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(threshold):
            assert log_in(client, "lock@example.com", WRONG).status_code == 200
        user = user_by_email(db, "lock@example.com")
        assert user.failed_login_count == threshold
        assert user.locked_until == start + timedelta(minutes=1)

        # Even the right password is refused while the lock lasts.
        response = log_in(client, "lock@example.com")
        assert response.status_code == 200
        assert form_errors(response) == [
            "Too many failed attempts. Try again in 1 minute, or reset your password."]

        clock.shift(timedelta(seconds=61))
        assert log_in(client, "lock@example.com").status_code == 302
        user = user_by_email(db, "lock@example.com")
        assert (user.failed_login_count, user.locked_until) == (0, None)


def test_repeated_locks_grow_longer(client, db, make_user, app):
    make_user("lock@example.com")
    threshold = app.config["ACCOUNT_LOCK_THRESHOLD"]
    start = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(threshold):
            log_in(client, "lock@example.com", WRONG)
        clock.shift(timedelta(seconds=61))
        log_in(client, "lock@example.com", WRONG)
        user = user_by_email(db, "lock@example.com")
        assert user.locked_until == start + timedelta(seconds=61) + timedelta(minutes=2)


class TestConcurrentFailures:
    @pytest.fixture
    def app_config(self):
        return {"ACCOUNT_LOCK_THRESHOLD": 1000}

    def test_failures_are_counted_atomically(self, app, db, make_user):
        make_user("race@example.com")
        n = 8
        barrier = threading.Barrier(n)
        codes = []

        def attempt():
            client = app.test_client()
            barrier.wait()
            codes.append(log_in(client, "race@example.com", WRONG).status_code)

        threads = [threading.Thread(target=attempt) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert codes == [200] * n
        assert user_by_email(db, "race@example.com").failed_login_count == n


@pytest.fixture
def redis_db():
    redis = pytest.importorskip("redis")
    conn = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1)
    try:
        conn.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis is not reachable at {REDIS_TEST_URL}; start redis-server to run")
    conn.flushdb()
    yield conn
    conn.flushdb()


OTHER_WORKER = """
import json, sys
from tests.conftest import build_app, log_in
app = build_app(sys.argv[1], sys.argv[2], RATELIMIT_ENABLED=True, REDIS_URL=sys.argv[3],
                LOGIN_LIMIT_PER_ADDRESS="4 per minute")
client = app.test_client()
print(json.dumps([log_in(client, "w@example.com", "wrong wrong wrong").status_code
                  for _ in range(2)]))
"""


class TestSharedCounters:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "REDIS_URL": REDIS_TEST_URL,
                "LOGIN_LIMIT_PER_ADDRESS": "4 per minute"}

    def test_workers_share_the_address_count_through_redis(self, client, redis_db,
                                                           database_url, tmp_path):
        assert [log_in(client, "w@example.com", WRONG).status_code for _ in range(3)] == [
            200, 200, 200]
        # Another worker: a separate process with its own app and its own memory.
        result = subprocess.run(
            [sys.executable, "-c", OTHER_WORKER, database_url, str(tmp_path / "worker"),
             REDIS_TEST_URL], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr[-2000:]
        assert json.loads(result.stdout.strip().splitlines()[-1]) == [200, 429]
        assert log_in(client, "w@example.com", WRONG).status_code == 429
        assert redis_db.keys("LIMITS*")


# -- fresh login for sensitive changes (SECURITY.md 6) -----------------------------------------

@pytest.mark.parametrize(("url", "data"), [
    ("/account/password", {"current_password": PASSWORD, "new_password": "a brand new passphrase",
                           "confirm": "a brand new passphrase"}),
    ("/account/email", {"email": "changed@example.com", "password": PASSWORD}),
])
def test_sensitive_changes_need_a_recent_login(client, db, make_user, login_as, url, data):
    user = login_as(make_user("me@example.com"), fresh=False)
    old_hash = user.password_hash

    for response in (client.get(url), client.post(url, data=data)):
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/reauthenticate"
    unchanged = user_by_email(db, "me@example.com")
    assert unchanged.password_hash == old_hash

    page = client.get("/reauthenticate", query_string={"next": url})
    assert heading(page) == "Confirm it's you"
    wrong = client.post("/reauthenticate", query_string={"next": url}, data={"password": WRONG})
    assert form_errors(wrong) == ["That password is not right."]
    response = client.post("/reauthenticate", query_string={"next": url},
                           data={"password": PASSWORD})
    assert response.headers["Location"] == url

    done = client.post(url, data=data)
    assert done.status_code == 302
    assert done.headers["Location"] == "/account"
    changed = db.session.get(User, user.id)
    db.session.refresh(changed)
    assert (changed.password_hash != old_hash) or changed.email == "changed@example.com"


def test_a_login_is_fresh_for_fifteen_minutes_only(client, make_user):
    make_user("me@example.com")
    start = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        log_in(client, "me@example.com")
        assert client.get("/account/password").status_code == 200
        clock.shift(timedelta(minutes=16))
        response = client.get("/account/password")
        assert response.status_code == 302
        assert urlsplit(response.headers["Location"]).path == "/reauthenticate"


def test_password_change_checks_the_current_password_and_policy(client, make_user, db):
    make_user("me@example.com")
    log_in(client, "me@example.com")
    wrong = client.post("/account/password", data={
        "current_password": WRONG, "new_password": "another long passphrase",
        "confirm": "another long passphrase"})
    assert wrong.status_code == 400
    assert "Your current password is not right." in form_errors(wrong)
    weak = client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": "short", "confirm": "short"})
    assert weak.status_code == 400
    assert any("at least 12" in e for e in form_errors(weak))


# -- password reset tokens (SECURITY.md 7) -----------------------------------------------------

RESET_LINK = re.compile(r"https?://[^/\s]+(/password/reset/(\S+))")


def request_reset(client, email):
    return client.post("/password/forgot", data={"email": email})


def reset_mail(db, email) -> EmailMessage:
    return db.session.scalars(select(EmailMessage).where(EmailMessage.to_address == email)
                              .order_by(EmailMessage.id.desc())).first()


def reset_link(db, email) -> tuple[str, str]:
    path, token = RESET_LINK.search(reset_mail(db, email).body_text).groups()
    return path, token


NEW_PASSWORD = "my freshly reset passphrase"


def test_reset_link_is_mailed_and_works_once(client, db, make_user, app):
    make_user("me@example.com")
    response = request_reset(client, "me@example.com")
    assert response.headers["Location"] == "/login"
    message = reset_mail(db, "me@example.com")
    assert message.subject == "Reset your Guild password"
    assert message.sensitive
    path, _ = reset_link(db, "me@example.com")

    form = client.get(path)
    assert form.status_code == 200
    assert heading(form) == "Choose a new password"
    done = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.headers["Location"] == "/login"
    assert log_in(app.test_client(), "me@example.com", NEW_PASSWORD).status_code == 302
    assert log_in(app.test_client(), "me@example.com", PASSWORD).status_code == 200

    again = client.get(path)
    assert again.status_code == 404
    assert heading(again) == "This link does not work"
    replay = client.post(path, data={"password": "yet another passphrase",
                                     "confirm": "yet another passphrase"})
    assert replay.status_code == 404
    assert log_in(app.test_client(), "me@example.com", NEW_PASSWORD).status_code == 302


def test_reset_refuses_weak_password_and_keeps_the_link(client, db, make_user):
    make_user("me@example.com")
    request_reset(client, "me@example.com")
    path, _ = reset_link(db, "me@example.com")
    weak = client.post(path, data={"password": "short", "confirm": "short"})
    assert weak.status_code == 200
    assert any("at least 12" in e for e in form_errors(weak))
    assert client.get(path).status_code == 200


def test_reset_link_expires_after_an_hour(client, db, make_user):
    make_user("me@example.com")
    start = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
    with time_machine.travel(start, tick=False) as clock:
        request_reset(client, "me@example.com")
        path, _ = reset_link(db, "me@example.com")
        clock.shift(timedelta(minutes=59))
        assert client.get(path).status_code == 200
        clock.shift(timedelta(minutes=1))
        assert client.get(path).status_code == 404
        response = client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
        assert response.status_code == 404


def test_a_new_reset_kills_older_links(client, db, make_user):
    make_user("me@example.com")
    request_reset(client, "me@example.com")
    first, _ = reset_link(db, "me@example.com")
    request_reset(client, "me@example.com")
    second, _ = reset_link(db, "me@example.com")
    assert first != second
    client.post(second, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert client.get(first).status_code == 404


def test_unknown_email_gets_the_same_answer(client, db, make_user, app):
    make_user("me@example.com")
    other = app.test_client()
    known, unknown = request_reset(client, "me@example.com"), request_reset(other, "no@example.com")
    assert (unknown.status_code, unknown.headers["Location"]) == (
        known.status_code, known.headers["Location"])
    known_flash, unknown_flash = flashes(client.get("/login")), flashes(other.get("/login"))
    assert known_flash and known_flash == unknown_flash
    assert db.session.scalar(select(func.count(EmailMessage.id)).where(
        EmailMessage.to_address == "no@example.com")) == 0


def test_reset_tokens_are_hashed_and_never_logged(client, db, make_user, caplog_all):
    make_user("me@example.com")
    request_reset(client, "me@example.com")
    path, token = reset_link(db, "me@example.com")
    client.get(path)
    client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})

    row = db.session.scalar(select(PasswordResetToken))
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in {row.token_hash, str(row.id)}
    assert caplog_all.records, "the flow should have logged something"
    assert token not in caplog_all.text
    assert not any(token in str(r.args) for r in caplog_all.records)


def test_reset_link_is_404_for_nonsense_tokens(client):
    assert client.get("/password/reset/" + "x" * 300).status_code == 404
    assert client.get("/password/reset/nope").status_code == 404


# -- safe next= (SECURITY.md 12) ---------------------------------------------------------------

HOSTILE_NEXT = [
    "//evil.com", "///evil.com", "////evil.com", "/\\evil.com", "\\\\evil.com", "\\/evil.com",
    "/\\/evil.com", "https://evil.com", "http://evil.com/", "HTTPS://evil.com", "http:evil.com",
    "http:/evil.com", "https:/\\evil.com", "//evil.com/%2F..", "java\nscript:alert(1)",
    "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>alert(1)</script>",
    " //evil.com", "\t//evil.com", "/\t/evil.com", "/\n/evil.com", "/\r\n/evil.com",
    "\x00//evil.com", "/\x7f/evil.com", "evil.com", "@evil.com", "//evil.com@guild.example",
    "//localhost@evil.com", "https://localhost.evil.com", "%2F%2Fevil.com", "ftp://evil.com",
    "//%65vil.com", "/" + "a" * 3000,
]
# Accepted on purpose: a path with encoded slashes stays a path on this site.
SAME_SITE_NEXT = ["/orgs/new", "/account?tab=1", "/%2F%2Fevil.com", "/a/b#c"]


def lands_on_this_site(location: str) -> bool:
    parts = urlsplit(location)
    return (location.startswith("/") and not location.startswith("//") and "\\" not in location
            and not parts.scheme and not parts.netloc
            and not any(ord(c) < 33 or ord(c) == 127 for c in location))


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_hostile_next_falls_back_to_the_dashboard(client, make_user, target):
    make_user("me@example.com")
    response = log_in(client, "me@example.com", next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    # Already logged in: the login page redirects through the same check.
    again = client.get("/login", query_string={"next": target})
    assert again.headers["Location"] == "/dashboard"


@pytest.mark.parametrize("target", SAME_SITE_NEXT)
def test_same_site_next_is_honoured(client, make_user, target):
    make_user("me@example.com")
    response = log_in(client, "me@example.com", next=target)
    assert response.headers["Location"] == target
    assert lands_on_this_site(response.headers["Location"])


@pytest.mark.parametrize("target", HOSTILE_NEXT[:12])
def test_reauthenticate_next_is_checked_too(client, make_user, login_as, target):
    login_as(make_user("me@example.com"), fresh=False)
    response = client.post("/reauthenticate", query_string={"next": target},
                           data={"password": PASSWORD})
    assert response.headers["Location"] == "/account"


def test_login_required_redirect_carries_a_relative_next(client):
    response = client.get("/account")
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert location.query == "next=%2Faccount"


# -- security log (SECURITY.md 21) -------------------------------------------------------------

def security_lines(caplog) -> list[str]:
    """The log lines as the app's own handler writes them (UTC, one line per event)."""
    formatter = next(h.formatter for h in logging.getLogger("marketplace").handlers
                     if isinstance(h.formatter, OneLineUTCFormatter))
    return [formatter.format(r) for r in caplog.records if r.name == "marketplace.security"]


@pytest.fixture
def new_york_clock(monkeypatch):
    """A local zone far from UTC, so that local timestamps would show."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is not available on this platform")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_logins_are_logged_in_utc_with_actor(client, make_user, caplog, new_york_clock):
    user = make_user("me@example.com")
    with time_machine.travel(datetime(2030, 6, 1, 12, 0, 5, tzinfo=UTC), tick=False):
        log_in(client, "me@example.com", WRONG)
        log_in(client, "me@example.com")
    failed, success = security_lines(caplog)
    assert failed.startswith("2030-06-01T12:00:05Z WARNING marketplace.security: "
                             "event=login_failed actor=anonymous target=email:me@example.com")
    assert success.startswith("2030-06-01T12:00:05Z WARNING marketplace.security: "
                              f"event=login actor=user:{user.id} target=user:{user.id}")
    assert "ip=127.0.0.1" in success
    assert PASSWORD not in caplog.text and WRONG not in caplog.text


def test_newlines_in_user_input_cannot_forge_log_lines(client, caplog):
    forged = "me@example.com\n2030-01-01T00:00:00Z WARNING marketplace.security: event=login"
    log_in(client, forged, WRONG)
    lines = security_lines(caplog)
    assert len(lines) == 1
    assert "\n" not in lines[0] and "\r" not in lines[0]
    assert "me@example.com\\n2030-01-01" in lines[0]


def test_denied_access_is_logged_with_actor(client, make_user, login_as, caplog):
    user = login_as(make_user())
    assert client.get("/admin/").status_code == 403
    assert any(line.split(": ", 1)[1].startswith(f"event=access_denied actor=user:{user.id}")
               for line in security_lines(caplog))
