"""Open redirects (SECURITY.md 12), beyond the list in test_auth.py: more hostile shapes, every
place that redirects to a user-supplied target (login, already-logged-in login, fresh login,
inbox links), and a property test that whatever ``is_safe_next`` accepts a browser resolves to
this site."""

import re
from urllib.parse import urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from marketplace.extensions import db
from marketplace.models import Notification
from marketplace.security import is_safe_next
from tests.conftest import PASSWORD, log_in
from tests.test_auth import HOSTILE_NEXT

SITE = "https://guild.example"
MORE_HOSTILE = [
    "//evil.com", "/\\evil.com", "java\nscript:alert(1)", "https://evil.com",
    "%2F%2Fevil.com", "%2f%2fevil.com", "%5C%5Cevil.com", "/%09/evil.com".replace("%09", "\t"),
    "\\evil.com", "/\\\\evil.com", "//\\evil.com", "\\//evil.com", "/\x0b/evil.com",
    "/\x0c/evil.com", "\x1f//evil.com", "/\x00evil.com", "//evil.com:443", "//evil.com#/",
    "https:\\\\evil.com", "https:///evil.com", "http://127.0.0.1", "//127.0.0.1", "//0x7f.1",
    "//[::1]/", "javascript://%0aalert(1)", "vbscript:msgbox(1)", "data:,x", "blob:x",
    "//\uff45vil.com", "\uff0f\uff0fevil.com", "\u3000//evil.com", "https:evil.com",
    "mailto:a@evil.com",
    "?next=//evil.com", "#//evil.com", "", " ", "\t", "/" * 2, "//",
    "/" + "\\" * 3, "\r\n/evil.com", "/ok\r\nLocation: //evil.com", "//evil%2Ecom",
]
SAME_SITE = ["/", "/dashboard", "/orgs/new?x=1&y=2", "/tenders/1#bids", "/a/../b",
             "/%2F%2Fevil.com", "/%5Cevil.com", "/search?q=%2F%2Fevil.com", "/ok//evil.com"]


def browser_resolves(target: str, base: str = SITE + "/login") -> str:
    """Where a browser sends ``Location: target`` (WHATWG URL parser, special scheme): leading
    and trailing C0 controls and spaces dropped, tab and newlines removed anywhere, ``\\``
    read as ``/``."""
    cleaned = target.strip("".join(chr(c) for c in range(33)))
    cleaned = re.sub(r"[\t\n\r]", "", cleaned).replace("\\", "/")
    return urljoin(base, cleaned)


def same_site(location: str) -> bool:
    parts = urlsplit(browser_resolves(location))
    return (parts.scheme, parts.netloc) == ("https", "guild.example")


@pytest.mark.parametrize("target", sorted(set(MORE_HOSTILE + HOSTILE_NEXT)))
def test_hostile_targets_are_refused(target):
    assert not is_safe_next(target)


@pytest.mark.parametrize("target", SAME_SITE)
def test_same_site_paths_are_accepted_and_stay_on_the_site(target):
    assert is_safe_next(target)
    assert same_site(target)


def test_the_oracle_itself_sees_the_classic_escapes():
    # If the model of the browser were wrong, the property test below would prove nothing.
    for escape in ("//evil.com", "/\\evil.com", "/\t/evil.com", " //evil.com",
                   "http:evil.com", "\\\\evil.com"):
        assert not same_site(escape), escape


URL_ALPHABET = st.sampled_from([*"/\\:.@%?#&=;ab ~-_", "\t", "\n", "\r", "\x00", "\x7f",
                                "evil.com", "http", "javascript", "\uff45", "\uff0f", "%2F",
                                "%5C"])


@settings(max_examples=400, deadline=None)
@given(st.lists(URL_ALPHABET, max_size=12).map("".join))
def test_anything_accepted_resolves_to_this_site(target):
    if is_safe_next(target):
        assert same_site(target), repr(target)
        assert urlsplit(browser_resolves(target)).path.startswith("/")


# -- through the routes ------------------------------------------------------------------------

@pytest.mark.parametrize("target", MORE_HOSTILE)
def test_login_and_logged_in_login_ignore_hostile_next(client, make_user, target):
    make_user("me@example.com")
    response = log_in(client, "me@example.com", next=target)
    assert response.headers["Location"] == "/dashboard"
    again = client.get("/login", query_string={"next": target})
    assert again.headers["Location"] == "/dashboard"


@pytest.mark.parametrize("target", MORE_HOSTILE[:20])
def test_fresh_login_ignores_hostile_next(client, make_user, login_as, target):
    login_as(make_user(), fresh=False)
    response = client.post("/reauthenticate", query_string={"next": target},
                           data={"password": PASSWORD})
    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize("link", ["//evil.com", "/\\evil.com", "https://evil.com",
                                  "javascript:alert(1)", "/\t/evil.com", "%2F%2Fevil.com"])
def test_inbox_links_never_leave_the_site(client, make_user, login_as, link):
    me = login_as(make_user())
    row = Notification(user_id=me.id, kind="x", title="Hostile", link=link)
    db.session.add(row)
    db.session.commit()
    response = client.post(f"/inbox/{row.id}/open")
    assert response.status_code == 302
    assert response.headers["Location"] == "/inbox"


def test_every_redirect_in_a_route_walk_stays_on_the_site(app, client, make_user, login_as):
    """No route, given hostile parameters, answers with a Location off this site."""
    from tests.conftest import route_requests

    login_as(make_user())
    hostile = {"next": "//evil.com", "url": "https://evil.com", "return_to": "//evil.com",
               "redirect": "//evil.com", "back": "//evil.com"}
    for _, method, url in route_requests(app):
        if method not in ("GET", "POST"):
            continue
        response = client.open(url, method=method, query_string=hostile)
        location = response.headers.get("Location")
        if location is not None:
            assert same_site(location), (method, url, location)
