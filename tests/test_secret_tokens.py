"""Reset and invitation tokens (SECURITY.md 7), beyond test_auth.py and test_orgs.py: both
kinds are random and long, stored only as a SHA-256, absent from every log line of the whole
flow (mail, visit, accept, an error on the token's own page), and the web server keeps no
access log that would record them."""

import hashlib
import re
import runpy
from pathlib import Path

import pytest
from sqlalchemy import select

from marketplace.models import EmailMessage, OrgInvitation, PasswordResetToken
from tests.conftest import log_in

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"https?://[^/\s]+(/(?:password/reset|invitations)/([A-Za-z0-9_\-]+))")
NEW_PASSWORD = "my freshly reset passphrase"


def links(db, to: str) -> list[tuple[str, str]]:
    db.session.expire_all()
    bodies = db.session.scalars(select(EmailMessage.body_text)
                                .where(EmailMessage.to_address == to)
                                .order_by(EmailMessage.id)).all()
    return [m.groups() for body in bodies for m in LINK.finditer(body)]


def assert_never_logged(caplog, token: str):
    assert caplog.records, "the flow should have logged something"
    for record in caplog.records:
        assert token not in record.getMessage(), record.name
        assert token not in str(record.args), record.name
        if record.exc_info:
            assert token not in str(record.exc_info[1]), record.name


def test_reset_tokens_are_random_long_and_distinct(client, db, make_user):
    make_user("me@example.com")
    for _ in range(5):
        client.post("/password/forgot", data={"email": "me@example.com"})
    tokens = [token for _, token in links(db, "me@example.com")]
    assert len(tokens) == len(set(tokens)) == 5
    assert all(len(t) >= 43 for t in tokens)  # 32 random bytes, URL-safe base64
    stored = set(db.session.scalars(select(PasswordResetToken.token_hash)))
    assert stored == {hashlib.sha256(t.encode()).hexdigest() for t in tokens}


@pytest.fixture
def invite(app, db, client, make_user, make_org, login_as):
    """Sends the invitations when the test calls it, so that its log lines are the test's."""
    owner = make_user("owner@example.com")
    org = make_org(owner, name="Avon Builders", slug="avon-builders")
    login_as(owner)

    def send(*emails):
        for email in emails:
            response = client.post(f"/orgs/{org.slug}/members/invite",
                                   data={"email": email, "role": "member"})
            assert response.status_code == 302

    return send


def test_invitation_tokens_are_random_long_and_stored_hashed(db, invite):
    invite("a@example.com", "b@example.com", "c@example.com")
    tokens = [token for email in ("a@example.com", "b@example.com", "c@example.com")
              for _, token in links(db, email)]
    assert len(tokens) == len(set(tokens)) == 3
    assert all(len(t) >= 43 for t in tokens)
    rows = db.session.scalars(select(OrgInvitation)).all()
    assert {r.token_hash for r in rows} == {
        hashlib.sha256(t.encode()).hexdigest() for t in tokens}
    for row in rows:
        assert all(t not in (row.token_hash, row.email) for t in tokens)


def test_invitation_tokens_never_reach_the_log(app, db, invite, make_user, caplog_all):
    invite("a@example.com")
    path, token = links(db, "a@example.com")[0]
    guest = app.test_client()
    log_in(guest, make_user("a@example.com").email)
    assert guest.get(path).status_code == 200
    guest.post(path + "/accept")
    guest.get(path)  # used: the refusal is logged the same way
    wrong = app.test_client()
    log_in(wrong, make_user("b@example.com").email)
    wrong.get(path)
    assert_never_logged(caplog_all, token)


class TestTokenPagesThatFail:
    @pytest.fixture
    def app_config(self):
        return {"ERRORS_RAISE": False}

    def test_an_error_on_a_token_page_logs_the_placeholder(self, app, client, db, make_user,
                                                           caplog_all, monkeypatch):
        """A 500 logs the path: the token in it must be replaced by ``<token>``."""
        from marketplace.auth import views

        make_user("me@example.com")
        client.post("/password/forgot", data={"email": "me@example.com"})
        path, token = links(db, "me@example.com")[0]

        def broken(*_args, **_kwargs):
            raise RuntimeError("database went away")

        monkeypatch.setattr(views, "render_template", broken)
        assert client.get(path).status_code == 500
        assert any("path=/password/reset/<token>" in r.getMessage()
                   for r in caplog_all.records)
        assert_never_logged(caplog_all, token)


def test_password_reset_flow_never_logs_the_token(app, client, db, make_user, caplog_all):
    make_user("me@example.com")
    client.post("/password/forgot", data={"email": "me@example.com"})
    path, token = links(db, "me@example.com")[0]
    client.get(path)
    client.post(path, data={"password": "short", "confirm": "short"})
    client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})  # replay
    assert_never_logged(caplog_all, token)


def test_gunicorn_keeps_no_access_log_of_token_urls():
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings.get("accesslog") in (None, "")
