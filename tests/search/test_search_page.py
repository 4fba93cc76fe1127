"""/search end to end: rows written with their outbox rows, indexed, then the page parsed."""

from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.models import SizeBand, TenderStatus
from tests.conftest import html
from tests.search.ui_helpers import BATH, BRISTOL, SWINDON, alliance, business, index_now, tender

XSS = '<script>alert("pwned")</script><img src=x onerror=alert(1)>'


@pytest.fixture
def world(make_org):
    roof = business(make_org, "Bristol Roofing", town="Bristol", place=BRISTOL,
                    description=f"Slate roofs and lead work for schools. {XSS} Tendering "
                                "for councils since 1998.",
                    tags=["flat roofing", "leadwork"], cpv=["45261000"],
                    certs=["ISO 9001"], size=SizeBand.SMALL)
    joinery = business(make_org, "Bath Joinery", town="Bath", place=BATH,
                       description="Bespoke staircases and sash windows.", tags=["joinery"],
                       cpv=["45421000"], size=SizeBand.MICRO)
    digital = business(make_org, "Swindon Digital", town="Swindon", place=SWINDON,
                       description="Accessible websites and user research for councils.",
                       tags=["web design"], cpv=["72212000"], size=SizeBand.MEDIUM)
    business(make_org, "Draft Roofers", town="Bristol", place=BRISTOL,
             description="Roofing too, but not published.", tags=["roofing"], published=False)
    business(make_org, "漢語建築", description="我們承接公開投標的建築工程。", tags=["建築"])
    buyer = make_org(name="Avonmere Council", is_buyer=True)
    tender(buyer, "Roof repairs at three schools", description="Replace slate roofs.",
           cpv=["45261000"], place=BATH, town="Bath")
    tender(buyer, "Council website rebuild", description="A new accessible website.",
           cpv=["72212000"], place=SWINDON, town="Swindon", status=TenderStatus.AWARDED)
    alliance("Severn Roofing Alliance", [roof, joinery], summary="Roofers and joiners")
    index_now()
    return {"roof": roof, "joinery": joinery, "digital": digital}


def titles(response) -> list[str]:
    return [a.get_text(strip=True) for a in html(response).select(".search-hit h3 a")]


def tab_counts(response) -> dict[str, int]:
    out = {}
    for a in html(response).select(".search-tabs a"):
        count = a.select_one(".tab-count")
        label = a.get_text(" ", strip=True).rsplit(" ", 1)[0] if count else a.get_text(strip=True)
        out[label] = int(count.get_text()) if count else None
    return out


def notices(response) -> list[str]:
    return [p.get_text(" ", strip=True) for p in html(response).select(".search-results .notice")]


def test_empty_page_invites_a_search(client):
    r = client.get("/search")
    assert r.status_code == 200
    assert html(r).select_one(".search-start") is not None


def test_one_box_over_every_kind_with_counts_per_tab(client, world):
    r = client.get("/search?q=roofing")
    assert r.status_code == 200
    found = titles(r)
    assert "Bristol Roofing" in found and "Severn Roofing Alliance" in found
    assert "Roof repairs at three schools" in found
    assert "Draft Roofers" not in found  # unpublished profiles are not searchable
    counts = tab_counts(r)
    assert counts["Businesses"] == 1 and counts["Alliances"] == 1 and counts["Tenders"] == 1
    assert counts["All"] == sum(v for k, v in counts.items() if k != "All")
    # the tab narrows the hits but keeps the counts of every kind
    r = client.get("/search?q=roofing&kind=tender")
    assert titles(r) == ["Roof repairs at three schools"]
    assert tab_counts(r)["Businesses"] == 1
    current = html(r).select_one(".search-tabs a[aria-current=page]")
    assert current.get_text(" ", strip=True).startswith("Tenders")


def test_tab_links_are_bookmarkable_and_keep_the_query(client, world):
    r = client.get("/search?q=roofing&near=Bath&within=50")
    link = next(a for a in html(r).select(".search-tabs a") if "Alliances" in a.get_text())
    args = parse_qs(urlsplit(link["href"]).query)
    assert args == {"q": ["roofing"], "kind": ["alliance"], "near": ["Bath"], "within": ["50"]}


@pytest.mark.parametrize("query,expected,absent", [
    ("q=roofing&division=45&group=452&cpv_class=4526", "Bristol Roofing", "Bath Joinery"),
    ("q=councils&size=medium", "Swindon Digital", "Bristol Roofing"),
    ("q=councils&cert=ISO+9001", "Bristol Roofing", "Swindon Digital"),
    ("q=roofs&near=Bristol&within=10", "Bristol Roofing", "Roof repairs at three schools"),
    ("q=website&status=awarded", "Council website rebuild", "Swindon Digital"),
])
def test_filters(client, world, query, expected, absent):
    r = client.get("/search?" + query)
    assert r.status_code == 200
    assert expected in titles(r)
    assert absent not in titles(r)


def test_town_filter_shows_distance_and_unknown_town_is_a_note(client, world):
    r = client.get("/search?q=roofing&near=Bath&within=25&kind=organisation")
    place = html(r).select_one(".search-hit-place").get_text(" ", strip=True)
    assert "km from Bath" in place
    r = client.get("/search?q=roofing&near=Atlantis")
    assert any("Atlantis" in n for n in notices(r))
    assert "Bristol Roofing" in titles(r)


def test_highlights_mark_matches_and_escape_user_text(client, world):
    r = client.get("/search?q=tendering&kind=organisation")
    body = r.get_data(as_text=True)
    assert "<script>alert" not in body and "onerror=alert(1)>" not in body
    snippet = html(r).select_one(".snippet")
    assert snippet.select("mark"), "the matched word is highlighted"
    assert all(m.get_text().lower().startswith("tender") for m in snippet.select("mark"))
    assert not snippet.find_all(lambda t: t.name not in ("mark",))  # no other tags
    text = snippet.get_text()
    assert "<script>" in text or "<img" in text  # shown as text, not markup


def test_stemming_phrases_and_prefixes(client, world):
    assert "Bristol Roofing" in titles(client.get("/search?q=tenders"))  # "Tendering"
    assert titles(client.get('/search?q="sash+windows"')) == ["Bath Joinery"]
    assert "Bath Joinery" not in titles(client.get('/search?q="windows+sash"'))
    assert "Bath Joinery" in titles(client.get("/search?q=stairc*"))


def test_did_you_mean_links_to_the_corrected_search(client, world):
    r = client.get("/search?q=jionery")
    link = html(r).select_one(".did-you-mean a")
    assert link is not None and link.get_text(strip=True) == "joinery"
    assert parse_qs(urlsplit(link["href"]).query)["q"] == ["joinery"]
    assert "Bath Joinery" in titles(client.get(link["href"]))


def test_chinese_is_found_end_to_end(client, world):
    assert titles(client.get("/search?q=投標")) == ["漢語建築"]
    assert titles(client.get("/search?q=建築工程")) == ["漢語建築"]


def test_pagination_keeps_the_filters(client, make_org):
    for i in range(23):
        business(make_org, f"Roofer {i:02d}", description="Roofing work.", tags=["roofing"])
    index_now()
    r = client.get("/search?q=roofing&kind=organisation")
    assert len(titles(r)) == 20
    nxt = html(r).select_one(".pager a[rel=next]")
    assert parse_qs(urlsplit(nxt["href"]).query) == {"q": ["roofing"], "kind": ["organisation"],
                                                      "page": ["2"]}
    assert len(titles(client.get(nxt["href"]))) == 3


@pytest.mark.parametrize("q", [
    "*", "?", "*ing", '"', '"unclosed phrase', "((", "a AND", "OR OR", "title:", "cpv:[1 TO",
    "roof~", "roof~0.5", "\\", "%", "_", "x" * 5000, "\x00\x01", "NOT", "-", "+", "^2",
    "field:value:other", "[a TO", "{}", "<script>", "roof^abc", "'", "💥", "\u202e",
])
def test_malformed_queries_answer_with_a_page(client, world, q):
    r = client.get("/search", query_string={"q": q})
    assert r.status_code == 200


def test_overlong_query_is_cut_with_a_note(client, world):
    r = client.get("/search", query_string={"q": "roofing " * 100})
    assert r.status_code == 200
    assert any("limited to 200 characters" in n for n in notices(r))


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(q=st.text(max_size=300), kind=st.sampled_from(["", "tender", "bogus"]),
       extra=st.text(max_size=20))
def test_any_text_never_errors(client, world, q, kind, extra):
    r = client.get("/search", query_string={"q": q, "kind": kind, "near": extra,
                                             "division": extra, "page": extra})
    assert r.status_code < 500


def test_bad_filter_values_are_ignored(client, world):
    r = client.get("/search?q=roofing&division=zz&size=huge&cert=Fake&status=draft"
                   "&page=-3&within=9999&near=Bath")
    assert r.status_code == 200
    assert "Bristol Roofing" in titles(r)
    assert len(notices(r)) >= 3


def test_nav_has_a_search_link(client):
    r = client.get("/search")
    link = html(r).select_one('nav a[href="/search"]')
    assert link is not None and link.get("aria-current") == "page"


def test_directory_and_tender_list_use_the_index_for_text(client, world):
    # stemming and Chinese come from the index; the directory's own filters still apply
    r = client.get("/businesses?q=tenders")
    names = [a.get_text(strip=True) for a in html(r).select(".business-card h3 a")]
    assert names == ["Bristol Roofing"]
    r = client.get("/businesses?q=投標")
    names = [a.get_text(strip=True) for a in html(r).select(".business-card h3 a")]
    assert names == ["漢語建築"]
    r = client.get("/businesses?q=councils&size=medium")
    names = [a.get_text(strip=True) for a in html(r).select(".business-card h3 a")]
    assert names == ["Swindon Digital"]
    r = client.get("/tenders?q=roof")  # "roofs" via the stemmer, not only LIKE
    assert "Roof repairs at three schools" in r.get_data(as_text=True)
    r = client.get('/tenders?q="slate+roofs"')
    assert "Roof repairs at three schools" in r.get_data(as_text=True)


def test_superscript_page_numbers_are_not_errors(client):
    # str.isdigit() accepts "¹"; int() does not
    for url in ("/search?q=roof&page=¹", "/businesses?page=¹", "/businesses?q=roof&page=²"):
        assert client.get(url).status_code == 200
