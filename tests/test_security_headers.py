"""Response headers and a strict CSP that the pages really keep (SECURITY.md 19)."""

import pytest

from tests.conftest import html, route_requests
from tests.test_routes import PUBLIC

CSP_DIRECTIVES = {"default-src": "'self'", "object-src": "'none'", "base-uri": "'none'",
                  "frame-ancestors": "'none'"}


def csp(response) -> dict[str, str]:
    policy = response.headers["Content-Security-Policy"]
    return {d.split()[0]: " ".join(d.split()[1:]) for d in policy.split(";") if d.strip()}


def inline_code(response) -> list[str]:
    """Everything a strict CSP would block: inline scripts, style elements and attributes,
    event-handler attributes, javascript: links."""
    if response.mimetype != "text/html":
        return []
    page = html(response)
    found = [f"<script> {s.get_text()[:60]!r}" for s in page.find_all("script")
             if not s.get("src")]
    found += [f"<style> {s.get_text()[:60]!r}" for s in page.find_all("style")]
    for tag in page.find_all(True):
        for attr, value in tag.attrs.items():
            if attr == "style" or attr.startswith("on"):
                found.append(f"<{tag.name} {attr}={value!r}>")
            if attr in ("href", "src", "action") and str(value).strip().lower().startswith(
                    "javascript:"):
                found.append(f"<{tag.name} {attr}={value!r}>")
    return found


def assert_secure_page(response, url):
    policy = csp(response)
    for directive, value in CSP_DIRECTIVES.items():
        assert policy.get(directive) == value, (url, directive)
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"], url
    assert response.headers["X-Content-Type-Options"] == "nosniff", url
    assert response.headers["Referrer-Policy"] in (
        "no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"), url
    assert inline_code(response) == [], url


@pytest.fixture
def world(db, make_user, make_org):
    owner = make_user("owner@example.com", name="Olive Owner")
    admin = make_user("root@example.com", site_admin=True)
    org = make_org(owner, name="Severn Stoneworks", slug="severn-stoneworks")
    return owner, admin, org


ANONYMOUS_PAGES = ["/", "/about", "/login", "/register", "/password/forgot",
                   "/orgs/severn-stoneworks", "/no-such-page", "/password/reset/nope",
                   "/login?next=//evil.com"]
MEMBER_PAGES = ["/dashboard", "/account", "/orgs/new", "/orgs/severn-stoneworks",
                "/orgs/severn-stoneworks/members", "/reauthenticate", "/"]
ADMIN_PAGES = ["/admin/", "/admin/users", "/admin/organisations", "/admin/mail",
               "/orgs/severn-stoneworks/members"]


def test_anonymous_pages(client, world):
    for url in ANONYMOUS_PAGES:
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert_secure_page(response, url)
        assert "no-store" not in response.headers.get("Cache-Control", ""), url
        assert "Strict-Transport-Security" not in response.headers, url


def test_every_public_get_route(app, world):
    client = app.test_client()
    for endpoint, method, url in route_requests(app):
        if endpoint in PUBLIC and endpoint != "static" and method == "GET":
            assert_secure_page(client.get(url), url)


def test_logged_in_pages_are_not_cached(client, world, login_as):
    owner, admin, _ = world
    for user, urls in ((owner, MEMBER_PAGES), (admin, ADMIN_PAGES)):
        login_as(user)
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, url
            assert_secure_page(response, url)
            assert "no-store" in response.headers["Cache-Control"], url


def test_form_errors_and_error_pages_keep_the_policy(client, world, login_as):
    response = client.post("/register", data={"email": "bad", "password": "x"})
    assert response.status_code == 200
    assert_secure_page(response, "/register (errors)")
    login_as(world[0])
    assert_secure_page(client.get("/admin/"), "/admin/ (403)")


def test_static_files_are_nosniff(client):
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"


class TestProduction:
    @pytest.fixture
    def app_config(self):
        return {"GUILD_ENV": "production", "TRUSTED_HOSTS": ["localhost"]}

    def test_hsts_only_in_production(self, client, world):
        for url in ("/", "/login", "/no-such-page"):
            response = client.get(url)
            assert response.headers["Strict-Transport-Security"].startswith("max-age="), url
            assert int(response.headers["Strict-Transport-Security"].split("=")[1].split(";")[0]
                       ) >= 15_552_000  # at least 180 days
            assert_secure_page(response, url)
