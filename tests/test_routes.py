"""Denied by default (SECURITY.md 9): every route answers anonymous users with a redirect to
the login page, unless it is listed here as public.

A route that is added without being listed fails this test: decide whether it is public
and put it in the right set. URL parameters are filled generically (ints 1, strings "x"),
so nothing needs to exist for a route to be checked.
"""

from urllib.parse import urlsplit

from tests.conftest import html, route_requests

# Anyone may use these without logging in (still subject to their own object checks: a
# missing or hidden object is 404).
PUBLIC = {
    "static",
    "main.index", "main.about", "main.healthz",
    "auth.login", "auth.register", "auth.forgot_password",
    "orgs.show",                    # an organisation's public page
    # Public pages of later blueprints (their authors' decision, recorded here).
    "profiles.directory", "profiles.logo",
    "alliances.index", "alliances.show",
    "projects.index", "projects.show", "projects.photo", "projects.organisation_projects",
    "tenders.index", "tenders.show", "tenders.cpv_lookup", "tenders.download_document",
    "search.index",                 # the search box (public data only)
    # The JSON API's public reads (anonymous callers see public data) and the OCDS feed.
    "api.list_organisations", "api.get_organisation", "api.list_alliances", "api.get_alliance",
    "api.list_projects", "api.get_project", "api.list_tenders", "api.get_tender",
    "api.tender_matches", "api.search", "api.openapi_document", "api.docs", "ocds.releases",
}
# Reached from an e-mailed single-use token, not a session: an unknown token is 404.
TOKEN_ROUTES = {"auth.reset_password"}
# JSON APIs answer 401 rather than redirecting to an HTML login page.
API_PREFIX = "/api/"


def is_login_redirect(response) -> bool:
    return (response.status_code in (302, 303)
            and urlsplit(response.headers["Location"]).path == "/login")


def test_every_route_is_public_or_needs_login(app):
    client = app.test_client()
    wrong = []
    for endpoint, method, url in route_requests(app):
        response = client.open(url, method=method)
        if endpoint in PUBLIC:
            ok = response.status_code < 500 and not is_login_redirect(response)
        elif endpoint in TOKEN_ROUTES:
            ok = response.status_code == 404
        elif url.startswith(API_PREFIX):
            ok = response.status_code == 401
        else:
            ok = is_login_redirect(response)
        if not ok:
            wrong.append(f"{method} {url} ({endpoint}) -> {response.status_code} "
                         f"{response.headers.get('Location', '')}")
    assert wrong == [], "not on the public lists, yet reachable anonymously:\n" + "\n".join(wrong)


def test_login_redirect_keeps_where_the_user_was_going(app):
    client = app.test_client()
    response = client.get("/dashboard")
    location = urlsplit(response.headers["Location"])
    assert (location.path, location.query) == ("/login", "next=%2Fdashboard")


def test_the_lists_name_only_existing_endpoints(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert (PUBLIC | TOKEN_ROUTES) - endpoints == set()


def test_home_page_says_what_guild_is_and_invites_sign_up(client):
    page = html(client.get("/"))
    assert page.h1.get_text(strip=True)
    assert page.find("a", href="/register")
    assert page.find("a", href="/login")


def test_home_page_for_a_logged_in_user_links_the_dashboard(client, make_user, login_as):
    login_as(make_user())
    page = html(client.get("/"))
    assert page.find("a", href="/dashboard")
    assert not page.find("a", href="/register")


def test_unknown_methods_are_405_not_500(client):
    response = client.delete("/login")
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}
