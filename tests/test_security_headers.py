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


# -- every GET route under the production configuration (issue 8 item 5) -----------------------
# Real objects fill the URL parameters, so the walk sees the pages themselves (and their forms,
# scripts and styles), not just 404s; the generic walk then covers the error pages.

PRODUCTION = {"GUILD_ENV": "production", "SECRET_KEY": "a production-like secret key " * 2,
              "TRUSTED_HOSTS": ["localhost"]}
HSTS_MIN_SECONDS = 15_552_000  # 180 days


@pytest.fixture
def market(app, db, make_user, make_org):
    """A tender with a joint bid awaiting approval, an alliance and a buyer: enough for every
    object URL to name something real."""
    from tests.bidding import build_team, make_alliance, start_bid

    team = build_team(app, make_user, make_org, partners=1)
    bid = start_bid(app, team)
    alliance = make_alliance("Roof Alliance", team.lead, team.partners[0])
    admin = make_user("root@example.com", site_admin=True)
    values = {"slug": team.lead.slug, "tender_id": team.tender.id, "bid_id": bid.id,
              "org_id": team.lead.id, "alliance_id": alliance.id}
    return team, admin, values


def real_get_urls(app, values: dict) -> list[tuple[str, str]]:
    adapter = app.url_map.bind("localhost")
    urls = []
    for endpoint, method, generic in route_requests(app):
        if method != "GET":
            continue
        rule = next(r for r in app.url_map.iter_rules(endpoint))
        known = {name: values[name] for name in rule._converters if name in values}
        url = adapter.build(endpoint, {**dict.fromkeys(rule._converters, 1), **known})
        urls.append((endpoint, url if known else generic))
    return urls


def assert_production_headers(response, url, *, logged_in: bool, endpoint: str = ""):
    where = f"{url} ({response.status_code})"
    assert response.headers["X-Content-Type-Options"] == "nosniff", where
    hsts = response.headers["Strict-Transport-Security"]
    assert int(hsts.split("max-age=")[1].split(";")[0]) >= HSTS_MIN_SECONDS, where
    if endpoint == "static":
        return
    assert_secure_page(response, where)
    if logged_in:
        assert "no-store" in response.headers.get("Cache-Control", ""), where


class TestEveryGetRouteInProduction:
    @pytest.fixture
    def app_config(self):
        return PRODUCTION

    def walk(self, app, client, urls, *, logged_in):
        statuses = []
        for endpoint, url in urls:
            response = client.get(url)
            assert response.status_code < 500, url
            assert_production_headers(response, url, logged_in=logged_in, endpoint=endpoint)
            statuses.append(response.status_code)
        return statuses

    def test_anonymous(self, app, client, market):
        _, _, values = market
        urls = real_get_urls(app, values) + [
            (e, u) for e, m, u in route_requests(app) if m == "GET"]
        statuses = self.walk(app, client, urls, logged_in=False)
        assert statuses.count(200) >= 10  # public pages really rendered, not only redirects

    @pytest.mark.parametrize("who", ["lead", "buyer", "admin"])
    def test_logged_in(self, app, client, market, login_as, who):
        team, admin, values = market
        user = {"lead": team.lead_owner, "buyer": team.buyer_owner, "admin": admin}[who]
        login_as(user)
        urls = real_get_urls(app, values) + [
            (e, u) for e, m, u in route_requests(app) if m == "GET"]
        statuses = self.walk(app, client, urls, logged_in=True)
        assert statuses.count(200) >= 25
        # The walk itself must not have logged the user out (that would void the checks).
        assert client.get("/dashboard").status_code == 200


class TestErrorPagesInProduction:
    """404, 405, 400 (bad Host, CSRF), 413 and 500: the error pages keep every header."""

    @pytest.fixture
    def app_config(self):
        return {**PRODUCTION, "TESTING": False, "WTF_CSRF_ENABLED": True,
                "MAX_CONTENT_LENGTH": 64 * 1024}

    @pytest.fixture
    def crash(self, app):
        def fail():
            raise RuntimeError("boom")

        app.add_url_rule("/_test/crash", "test_crash", fail)

    def error_responses(self, client):
        yield 404, "/no-such-page", client.get("/no-such-page")
        yield 404, "/orgs/no-such-org", client.get("/orgs/no-such-org")
        yield 405, "/logout (GET)", client.get("/logout")
        yield 400, "/login (no CSRF)", client.post("/login", data={"email": "a@b.c"})
        yield 413, "/login (big body)", client.post(
            "/login", data={"email": "x" * (128 * 1024)})
        yield 500, "/_test/crash", client.get("/_test/crash")

    def test_anonymous_error_pages(self, client, crash):
        for status, url, response in self.error_responses(client):
            assert response.status_code == status, url
            assert_production_headers(response, url, logged_in=False)

    def test_logged_in_error_pages(self, client, crash, make_user, login_as):
        login_as(make_user())
        for status, url, response in self.error_responses(client):
            assert response.status_code == status, url
            assert_production_headers(response, url, logged_in=True)

    def test_untrusted_host_gets_a_plain_400_with_the_headers(self, client):
        response = client.get("/", headers={"Host": "evil.example"})
        assert response.status_code == 400
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert csp(response)["default-src"] == "'self'"
        assert "Strict-Transport-Security" in response.headers


class TestProductionInternalErrors:
    """SECURITY.md 20 under the production configuration (TESTING off, as deployed)."""

    SECRET = "internal detail 5e1b: never shown"

    @pytest.fixture
    def app_config(self):
        return {**PRODUCTION, "TESTING": False}

    @pytest.fixture
    def crash(self, app):
        def fail():
            raise RuntimeError(self.SECRET)

        app.add_url_rule("/_test/crash", "test_crash", fail)
        app.add_url_rule("/api/v1/_test/crash", "test_api_crash", fail)

    def logged_lines(self, caplog) -> list[str]:
        import logging

        from marketplace.logging_utils import OneLineUTCFormatter

        formatter = next(h.formatter for h in logging.getLogger("marketplace").handlers
                         if isinstance(h.formatter, OneLineUTCFormatter))
        return [formatter.format(r) for r in caplog.records if r.name == "marketplace.errors"]

    @pytest.mark.parametrize("accept", ["text/html", "application/json"])
    def test_no_traceback_and_the_reference_is_in_the_log(self, app, client, crash, caplog,
                                                          accept):
        import re

        assert not app.debug and not app.testing
        response = client.get("/_test/crash", headers={"Accept": accept})
        assert response.status_code == 500
        body = response.get_data(as_text=True)
        for leak in (self.SECRET, "Traceback", "RuntimeError", 'File "', "site-packages"):
            assert leak not in body
        if accept == "application/json":
            reference = response.get_json()["error"]["reference"]
        else:
            reference = html(response).select_one(".reference").get_text(strip=True)
        assert re.fullmatch(r"[0-9a-f]{12}", reference)
        lines = [line for line in self.logged_lines(caplog) if f"ref={reference}" in line]
        # One log line carries the reference, the path and the traceback (escaped to one line).
        assert len(lines) == 1
        assert "\n" not in lines[0]
        assert "path=/_test/crash" in lines[0] and self.SECRET in lines[0]
        assert "Traceback" in lines[0]

    def test_api_500_has_the_documented_shape_and_no_traceback(self, client, crash):
        response = client.get("/api/v1/_test/crash")
        assert response.status_code == 500
        error = response.get_json()["error"]
        assert error["code"] == "server_error" and len(error["reference"]) == 12
        assert self.SECRET not in response.get_data(as_text=True)
        assert_production_headers(response, "/api/v1/_test/crash", logged_in=False)
