"""CSRF protection switched on, as in production (SECURITY.md 13): every POST route refuses a
request without a valid token, login and logout included."""

import pytest

from tests.conftest import PASSWORD, html, route_requests

pytestmark = pytest.mark.csrf

# Routes that authenticate each request some other way and so are exempt: the JSON API's
# writes take only a Bearer token (never the session cookie) and answer 401 without one.
CSRF_EXEMPT: set[str] = {"api.create_tender", "api.publish_tender"}


@pytest.fixture
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def csrf_token_from(response) -> str:
    return html(response).find("input", attrs={"name": "csrf_token"})["value"]


def post_routes(app):
    return [(e, url) for e, method, url in route_requests(app)
            if method == "POST" and e not in CSRF_EXEMPT]


def test_every_post_route_refuses_a_missing_token_anonymously(app):
    client = app.test_client()
    wrong = [f"{url} ({endpoint}) -> {r.status_code}" for endpoint, url in post_routes(app)
             if (r := client.post(url, data={"email": "a@example.com"})).status_code != 400]
    assert wrong == []


def test_every_post_route_refuses_a_missing_token_when_logged_in(app, client, make_user,
                                                                 login_as):
    login_as(make_user(site_admin=True))
    wrong = [f"{url} ({endpoint}) -> {r.status_code}" for endpoint, url in post_routes(app)
             if (r := client.post(url)).status_code != 400]
    assert wrong == []
    assert client.get("/dashboard").status_code == 200  # still logged in: nothing happened


def test_a_forged_token_is_refused(client, make_user):
    make_user("me@example.com")
    client.get("/login")
    response = client.post("/login", data={"email": "me@example.com", "password": PASSWORD,
                                           "csrf_token": "forged"})
    assert response.status_code == 400
    assert html(response).h1.get_text(strip=True) == "Form expired"


def test_login_and_logout_work_with_the_token(client, make_user):
    make_user("me@example.com")
    token = csrf_token_from(client.get("/login"))
    response = client.post("/login", data={"email": "me@example.com", "password": PASSWORD,
                                           "csrf_token": token})
    assert response.headers["Location"] == "/dashboard"
    dashboard = client.get("/dashboard")
    assert dashboard.status_code == 200

    assert client.post("/logout").status_code == 400
    assert client.get("/dashboard").status_code == 200
    logout_token = html(dashboard).select_one("form[action='/logout'] input[name=csrf_token]")
    assert client.post("/logout", data={"csrf_token": logout_token["value"]}
                       ).headers["Location"] == "/"
    assert client.get("/dashboard").status_code == 302


def test_a_token_from_another_session_is_refused(app, client, make_user):
    make_user("me@example.com")
    foreign_token = csrf_token_from(app.test_client().get("/login"))
    client.get("/login")
    response = client.post("/login", data={"email": "me@example.com", "password": PASSWORD,
                                           "csrf_token": foreign_token})
    assert response.status_code == 400


def test_csrf_failures_are_logged_as_security_events(client, caplog):
    client.post("/login", data={"email": "a@example.com", "password": "x"})
    events = [r.getMessage() for r in caplog.records if r.name == "marketplace.security"]
    assert len(events) == 1
    assert events[0].startswith("event=csrf_failure actor=anonymous")
    assert "path=/login" in events[0]


def test_forms_carry_the_token(client, make_user, login_as):
    for url in ("/login", "/register", "/password/forgot"):
        assert csrf_token_from(client.get(url))
    login_as(make_user())
    page = html(client.get("/account"))
    assert len(page.select("form[method=post] input[name=csrf_token]")) >= 3
