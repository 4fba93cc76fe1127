"""XSS crawl (SECURITY.md item 15): a distinct marker in every stored text field users write,
then every GET page as every actor. The raw marker (a live <script>) never appears in HTML;
each marker is shown, as text, on some page, unless listed in NOT_SHOWN with the reason.

The world (tests/world.py, built with ``xss_text``) stores the marker
``<script>alert("xss-FIELD")</script>"'&`` through the services, so every field keeps it
exactly (file names, which lose everything up to a slash on upload, get
``<img src=x onerror=alert("xss-FIELD")>"'&``). A page "shows" a field when the parsed
page text contains the whole marker: the browser would display it as characters, which
needs every ``<``, ``"``, ``'`` and ``&`` to have been escaped. JSON answers are checked for
their content type (application/json: a browser never renders them as HTML).
"""

import tomllib
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from tests.authz.harness import get_urls, send
from tests.world import (
    ACTORS,
    XSS_FILE_PREFIX,
    XSS_PREFIX,
    client_for,
    fill,
    shared_world,
    xss_marker,
    xss_text,
)

MATRIX = tomllib.loads((Path(__file__).parent / "authz" / "matrix.toml").read_text())["case"]
JSON_PREFIXES = ("/api/", "/ocds/")

# Fields stored but never shown verbatim on any page, and why.
NOT_SHOWN = {
    "alliance-invite-msg": "an invitation's message is shown only while the invitation is "
                           "pending; this one was accepted (the pending one, "
                           "alliance-invite-home, is shown)",
}


@pytest.fixture(scope="module")
def crawl(_schema, database_url, tmp_path_factory):
    with shared_world(database_url, str(tmp_path_factory.mktemp("xss")), text=xss_text) as env:
        app, world, _snapshot = env
        # Index the world, so search pages show results (and their snippets) too.
        from marketplace.extensions import db
        from marketplace.search.indexer import run_once
        from marketplace.search.service import close_searchers

        db.session.commit()
        run_once(app.config["SEARCH_INDEX_DIR"], lock_timeout=10)
        pages = []
        for url in get_urls(app, MATRIX):
            for actor in ACTORS:
                response = send(client_for(app, world, actor), world, actor, "GET", url, None)
                pages.append((fill(url, world), actor, response))
        yield world, pages
        close_searchers()


def test_no_page_contains_a_live_marker(crawl):
    """No HTML answer holds a raw marker; any other answer that holds one is JSON or a
    download, which a browser does not render as a page."""
    _world, pages = crawl
    live = []
    for url, actor, response in pages:
        raw = XSS_PREFIX.encode() in response.data or XSS_FILE_PREFIX.encode() in response.data
        download = response.headers.get("Content-Disposition", "").startswith("attachment")
        if raw and (response.mimetype == "text/html"
                    or not (response.mimetype == "application/json" or download)):
            live.append(f"{url} as {actor} ({response.mimetype})")
    assert live == []


def test_markers_in_headers_only_name_attachments(crawl):
    """A document's name travels in Content-Disposition; the file is an attachment that the
    browser may not sniff or render. No other header carries user text."""
    _world, pages = crawl
    bad, attachments = [], 0
    for url, actor, response in pages:
        for name, value in response.headers.items():
            if "alert(" not in value and "<" not in value:
                continue
            attachments += 1
            if not (name == "Content-Disposition" and value.startswith("attachment;")
                    and response.headers.get("X-Content-Type-Options") == "nosniff"
                    and "\n" not in value and "\r" not in value):
                bad.append(f"{url} as {actor}: {name}: {value}")
    assert bad == []
    assert attachments > 0  # the document names were seen in their download headers


def test_every_marker_is_shown_escaped_somewhere(crawl):
    world, pages = crawl
    text = "\n".join(BeautifulSoup(response.get_data(as_text=True), "html.parser").get_text()
                     for _url, _actor, response in pages
                     if response.mimetype == "text/html" and response.status_code == 200)
    unseen = {name for name in world.fields if xss_marker(name) not in text}
    assert sorted(unseen) == sorted(NOT_SHOWN), f"not shown: {sorted(unseen)}"


def test_search_results_show_the_markers_as_text(crawl):
    """Search snippets are built from indexed text with highlighting (Markup): the results
    page for the markers' words shows them as text, never live."""
    world, pages = crawl
    page = next(r for url, actor, r in pages
                if url == "/search?q=script+alert" and actor == "anonymous")
    text = BeautifulSoup(page.get_data(as_text=True), "html.parser").get_text()
    assert page.status_code == 200
    assert sum(1 for name in world.fields if f"xss-{name}" in text) >= 3


def test_json_answers_are_served_as_json(crawl):
    _world, pages = crawl
    wrong = [f"{url} as {actor}: {response.status_code} {response.mimetype}"
             for url, actor, response in pages
             if url.startswith(JSON_PREFIXES) and url != "/api/v1/docs"
             and response.mimetype != "application/json"]
    assert wrong == []
    assert any(url.startswith(JSON_PREFIXES) for url, _a, _r in pages)


# Bid text per bid, and who may read it (SECURITY.md item 23): the alliance's bids are sealed
# to the alliance's organisations (the member without role belongs to the lead), the home
# organisation's draft to home; the closed tender's bid is open to its buyer after the deadline.
SEALED = {
    "xss-bid2-": {"alliance_lead", "alliance_member", "member"},  # submitted, before deadline
    "xss-bid4-": {"alliance_lead", "alliance_member", "member"},  # awaiting approval
    "xss-bid-": {"org_admin", "member"},                          # home's draft
    "xss-bid3-": {"org_admin", "member", "buyer"},                # submitted, deadline passed
}


def test_bid_text_reaches_only_those_who_may_read_it(crawl):
    _world, pages = crawl
    leaks, seen = [], set()
    for url, actor, response in pages:
        body = response.data.decode("utf-8", "replace")
        for marker, readers in SEALED.items():
            if marker in body:
                seen.add(marker)
                if actor not in readers:
                    leaks.append(f"{marker} on {url} as {actor}")
    assert leaks == []
    assert seen == set(SEALED)  # each bid's text was found by its readers
