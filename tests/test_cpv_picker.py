"""The CPV picker: search by words and by number, the hierarchy, suggestions, add/remove."""

import pytest
from sqlalchemy import select

from marketplace import cpv
from marketplace.models import ProfileCpvCode
from tests.conftest import flashes, html


def test_search_by_words_matches_stems_and_word_starts():
    codes = [h.code for h in cpv.search_codes("roofs")]
    assert "45261000" in codes  # "Erection and related works of roof frames and coverings"
    assert "45420000" in [h.code for h in cpv.search_codes("carpent")]
    hits = cpv.search_codes("electrical installation")
    assert "45310000" in [h.code for h in hits]
    assert all("electric" in h.label.lower() for h in hits)


def test_search_by_number_prefix_lists_the_hierarchy_top_down():
    hits = cpv.search_codes("4526")
    assert hits[0].code == "45260000" and hits[0].level_name == "class"
    assert all(h.code.startswith("4526") for h in hits)
    assert [h.level for h in hits] == sorted(h.level for h in hits)
    assert [h.code for h in cpv.search_codes("45261000-2")] == ["45261000"]
    assert cpv.search_codes("45")[0].level_name == "division"


def test_hits_carry_their_path_division_group_class():
    hit = cpv.search_codes("45261210")[0]
    assert [code for code, _ in hit.path] == ["45000000", "45200000", "45260000", "45261000",
                                              "45261200"]
    assert hit.path[0][1] == "Construction work"


@pytest.mark.parametrize("query", ["", "   ", "!!!", "the and of", "x" * 500, "\x00", "99999"])
def test_odd_queries_return_nothing_without_error(query):
    assert isinstance(cpv.search_codes(query), list)


def test_suggestions_rank_the_trade_first_and_say_why():
    hits = cpv.suggest_codes(
        "We repair and replace slate and tile roofs, and insulate roofs for housing "
        "associations.", ["slate roofing", "roof repair", "roof insulation"], limit=5)
    assert hits[0].code.startswith("4526")  # roof works, not e.g. "Slate" the material
    assert all(h.matched for h in hits)
    assert hits == sorted(hits, key=lambda h: -h.score)
    top = cpv.suggest_codes("pest control for councils",
                            ["pest prevention contracts", "wasp nest removal"], limit=3)
    assert top[0].code == "90922000"


def test_suggestions_skip_codes_already_chosen_and_empty_text():
    first = cpv.suggest_codes("", ["roof repair"], limit=1)[0].code
    again = cpv.suggest_codes("", ["roof repair"], exclude={first}, limit=3)
    assert first not in [h.code for h in again]
    assert cpv.suggest_codes("", []) == []


def test_children_and_prefix_labels():
    divisions = cpv.children("")
    assert len(divisions) == 45 and ("45", "Construction work") in divisions
    assert all(len(p) == 3 and p.startswith("45") for p, _ in cpv.children("45"))
    assert all(len(p) == 4 and p.startswith("452") for p, _ in cpv.children("452"))
    assert cpv.children("4526") == []
    assert cpv.prefix_label("4526") == "Roof works and other special trade construction works"
    assert cpv.prefix_label("45a") is None and cpv.prefix_label("") is None


# -- the picker pages ----------------------------------------------------------------------

@pytest.fixture
def owner(make_user, make_org, login_as):
    user = make_user()
    make_org(user, slug="picker-co", name="Picker Co")
    login_as(user)
    return user


def codes_of(db) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(ProfileCpvCode.code).order_by(ProfileCpvCode.code)))


def test_plain_search_and_add_works_without_javascript(client, db, owner):
    page = html(client.get("/orgs/picker-co/profile/cpv?q=roof+repair"))
    rows = page.select("#cpv-results li")
    assert rows
    first = rows[0]
    form = first.find("form")
    assert form["action"] == "/orgs/picker-co/profile/cpv/add" and form["method"] == "post"
    code = form.find("input", attrs={"name": "code"})["value"]
    assert first.select(".cpv-path li")  # the hierarchy is shown
    response = client.post(form["action"], data={"code": code, "q": "roof repair"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/orgs/picker-co/profile/cpv?q=roof+repair")
    assert codes_of(db) == [code]
    page = html(client.get("/orgs/picker-co/profile/cpv?q=roof+repair"))
    assert "On your profile" in page.select("#cpv-results li")[0].get_text()


def test_suggestions_are_offered_with_one_click_add(client, db, owner):
    client.post("/orgs/picker-co/profile/edit", data={
        "name": "Picker Co", "summary": "Roofers", "description": "Slate and tile roof repair.",
        "capabilities": "roof repair, slate roofing", "version": "0"})
    page = html(client.get("/orgs/picker-co/profile/cpv"))
    suggested = page.select("#suggest-h ~ ul li")
    assert suggested
    code = suggested[0].find("input", attrs={"name": "code"})["value"]
    assert "Matched:" in suggested[0].get_text()
    assert client.post("/orgs/picker-co/profile/cpv/add", data={"code": code}).status_code == 302
    assert codes_of(db) == [code]
    page = html(client.get("/orgs/picker-co/profile/cpv"))
    assert code not in [i["value"] for i in page.select("#suggest-h ~ ul input[name=code]")]


@pytest.mark.parametrize("code,message", [
    ("99999999", "not a CPV code"),
    ("4526", "Choose a CPV code"),
    ("abcdefgh", "Choose a CPV code"),
    ("", "Choose a CPV code"),
])
def test_invalid_codes_are_refused(client, db, owner, code, message):
    response = client.post("/orgs/picker-co/profile/cpv/add", data={"code": code},
                           follow_redirects=True)
    assert response.status_code == 200
    assert any(message in f for f in flashes(response))
    assert codes_of(db) == []


def test_duplicate_add_and_remove_unknown(client, db, owner):
    client.post("/orgs/picker-co/profile/cpv/add", data={"code": "45261000"})
    response = client.post("/orgs/picker-co/profile/cpv/add", data={"code": "45261000"},
                           follow_redirects=True)
    assert any("already" in f for f in flashes(response))
    response = client.post("/orgs/picker-co/profile/cpv/remove", data={"code": "45000000"},
                           follow_redirects=True)
    assert any("not on your profile" in f for f in flashes(response))
    assert client.post("/orgs/picker-co/profile/cpv/remove",
                       data={"code": "45261000"}).status_code == 302
    assert codes_of(db) == []


def test_code_limit(client, db, owner, monkeypatch):
    from marketplace.profiles import services

    monkeypatch.setattr(services, "MAX_CPV_CODES", 2)
    for code in ("45261000", "45261100"):
        client.post("/orgs/picker-co/profile/cpv/add", data={"code": code})
    response = client.post("/orgs/picker-co/profile/cpv/add", data={"code": "45261200"},
                           follow_redirects=True)
    assert any("up to 2" in f for f in flashes(response))
    assert len(codes_of(db)) == 2


def test_typeahead_json(client, owner):
    data = client.get("/cpv/search?q=4526").get_json()
    assert data["results"][0] == {
        "code": "45260000", "label": "Roof works and other special trade construction works",
        "level": "class", "path": ["Construction work",
                                    "Works for complete or part construction and civil "
                                    "engineering work"]}
    assert client.get("/cpv/search?q=" + "x" * 300).get_json() == {"results": []}
    assert client.get("/cpv/search").get_json() == {"results": []}


def test_picker_page_enhancement_hooks(client, owner):
    page = html(client.get("/orgs/picker-co/profile/cpv"))
    form = page.find("form", attrs={"data-cpv-typeahead": True})
    assert form["method"] == "get" and form["data-endpoint"] == "/cpv/search"
    assert page.find("script", src="/static/js/cpv-picker.js")
