"""Saving a search from /search, listing and deleting it (dashboard and its own page)."""

from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from marketplace.extensions import db
from marketplace.models import SavedSearch
from marketplace.search import alerts
from tests.conftest import flashes, html
from tests.search.ui_helpers import business, index_now


@pytest.fixture
def user(make_user, make_org, login_as):
    u = make_user()
    business(make_org, "Bristol Roofing", owner=u, description="Roofing.", tags=["roofing"])
    index_now()
    return login_as(u)


def saved_rows(user_id):
    return list(db.session.scalars(db.select(SavedSearch).where(SavedSearch.user_id == user_id)))


def test_save_this_search_keeps_the_canonical_parameters(client, user):
    page = html(client.get("/search?q=roofing&near=bath&within=10&size=bogus&page=2"))
    form = page.select_one("form.save-search")
    assert form is not None and form["method"] == "post"
    r = client.post(form["action"], data={"name": "Roofs near Bath"})
    assert r.status_code == 302
    assert parse_qs(urlsplit(r.headers["Location"]).query)["q"] == ["roofing"]
    [row] = saved_rows(user.id)
    assert row.label == "Roofs near Bath"
    # the town is canonical, the unknown size and the page are dropped
    assert row.params == {"q": "roofing", "near": "Bath", "within": "10"}


def test_saving_twice_keeps_one(client, user):
    for _ in range(2):
        client.post("/search/save?q=roofing", data={"name": ""})
    assert len(saved_rows(user.id)) == 1
    assert saved_rows(user.id)[0].label == "roofing"


def test_saving_without_words_is_refused_kindly(client, user):
    r = client.post("/search/save?division=45", data={"name": "x"}, follow_redirects=True)
    assert r.status_code == 200
    assert any("Enter some words" in f for f in flashes(r))
    assert saved_rows(user.id) == []


def test_save_needs_a_login_and_a_post(client, make_user):
    assert client.post("/search/save?q=roofing").status_code == 302  # to the login page
    assert client.get("/search/save?q=roofing").status_code == 405
    assert html(client.get("/search?q=roofing")).select_one("form.save-search") is None


def test_listed_on_the_dashboard_and_its_page_with_a_link_back(client, user):
    client.post("/search/save?q=roofing&kind=organisation", data={"name": "My roofs"})
    for url, selector in (("/dashboard", ".saved-searches"), ("/search/saved", ".saved-list")):
        section = html(client.get(url)).select_one(selector)
        link = section.select_one("a[href^='/search?']")
        assert link.get_text(strip=True) == "My roofs"
        assert parse_qs(urlsplit(link["href"]).query) == {"q": ["roofing"]}
        assert "“roofing”" in section.get_text(" ", strip=True)


def test_delete_own_saved_search(client, user):
    client.post("/search/save?q=roofing", data={"name": ""})
    [row] = saved_rows(user.id)
    form = html(client.get("/search/saved")).select_one(".saved-list form")
    r = client.post(form["action"])
    assert r.status_code == 302 and r.headers["Location"].endswith("/search/saved")
    assert saved_rows(user.id) == []
    assert client.post(f"/search/saved/{row.id}/delete").status_code == 404


def test_another_users_saved_search_is_404(app, client, user, make_user):
    other = make_user()
    with app.test_request_context():
        theirs = alerts.save_search(other, MultiDict({"q": "secret plans"}))
        db.session.commit()
    r = client.post(f"/search/saved/{theirs.id}/delete")
    assert r.status_code == 404
    assert db.session.get(SavedSearch, theirs.id) is not None
    assert "secret plans" not in client.get("/search/saved").get_data(as_text=True)
    assert "secret plans" not in client.get("/dashboard").get_data(as_text=True)


def test_delete_needs_csrf(app, client, user):
    client.post("/search/save?q=roofing", data={"name": ""})
    [row] = saved_rows(user.id)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        r = client.post(f"/search/saved/{row.id}/delete")
        assert r.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert saved_rows(user.id) != []
