"""Personal API tokens on the account page: created with CSRF, shown once, revocable."""

import pytest
from sqlalchemy import select

from marketplace.extensions import db as _db
from marketplace.models import ApiToken
from tests.conftest import html

pytestmark = pytest.mark.csrf


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def csrf_of(page, action):
    form = html(page).find("form", attrs={"action": action})
    return form.find("input", attrs={"name": "csrf_token"})["value"]


def test_create_shows_the_token_once_and_it_works(client, make_user, login_as):
    user = login_as(make_user())
    account = client.get("/account")
    assert html(account).find(id="api-tokens")
    token = csrf_of(account, "/account/api-tokens")
    response = client.post("/account/api-tokens", data={
        "csrf_token": token, "name": "sync", "scope": "read-write", "expires_in_days": "30"})
    assert response.status_code == 200
    secret = html(response).find(id="api-token-value")["value"]
    assert secret.startswith("gld_") and len(secret) > 40
    assert response.headers["Cache-Control"] == "no-store"
    row = _db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert row.scope.value == "read-write" and row.expires_at is not None
    assert secret not in row.token_hash
    # Never again: the account page shows only the prefix.
    again = client.get("/account").get_data(as_text=True)
    assert secret not in again and row.prefix in again
    api = client.get("/api/v1/tenders", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 200


def test_create_without_csrf_is_refused(client, make_user, login_as):
    login_as(make_user())
    response = client.post("/account/api-tokens", data={"name": "x", "scope": "read"})
    assert response.status_code == 400
    assert _db.session.scalar(select(ApiToken)) is None


def test_invalid_form_shows_errors(client, make_user, login_as):
    login_as(make_user())
    token = csrf_of(client.get("/account"), "/account/api-tokens")
    response = client.post("/account/api-tokens", data={
        "csrf_token": token, "name": "", "scope": "admin", "expires_in_days": "7"})
    assert response.status_code == 400
    assert len(html(response).select(".field-error")) >= 2
    assert _db.session.scalar(select(ApiToken)) is None


def test_revoke_needs_csrf_and_only_works_on_own_tokens(client, make_user, login_as):
    from datetime import UTC, datetime

    from marketplace.api.services import create_token

    owner, other = make_user(), make_user()
    mine, secret = create_token(owner, "mine", "read", None, datetime.now(UTC))
    theirs, _ = create_token(other, "theirs", "read", None, datetime.now(UTC))
    _db.session.commit()
    login_as(owner)
    url = f"/account/api-tokens/{mine.id}/revoke"
    assert client.post(url).status_code == 400  # no CSRF token
    account = client.get("/account")
    token = csrf_of(account, url)
    assert client.post(f"/account/api-tokens/{theirs.id}/revoke",
                       data={"csrf_token": token}).status_code == 404
    response = client.post(url, data={"csrf_token": token})
    assert response.status_code == 302
    _db.session.expire_all()
    assert _db.session.get(ApiToken, mine.id).revoked_at is not None
    assert _db.session.get(ApiToken, theirs.id).revoked_at is None
    api = client.get("/api/v1/tenders", headers={"Authorization": f"Bearer {secret}"})
    assert api.status_code == 401


def test_anonymous_cannot_manage_tokens(app):
    client = app.test_client()
    response = client.get("/account")
    assert response.status_code == 302
