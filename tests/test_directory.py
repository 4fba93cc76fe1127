"""The /businesses directory: filters, distance, sorting, pagination, robustness."""

from datetime import date, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from marketplace.geo import bounding_box, haversine_km
from marketplace.models import (
    Certification,
    Organisation,
    Profile,
    ProfileCapability,
    ProfileCpvCode,
    SizeBand,
)
from tests.conftest import html

TODAY = date.today()


@pytest.fixture
def businesses(db, make_org, utc_now):
    def add(name, *, town=None, lat=None, lon=None, cpv=(), tags=(), size=None, certs=(),
            published_days_ago=10, hidden=False, buyer=False, radius=None):
        org = make_org(name=name, summary=f"{name} summary", is_buyer=buyer,
                       hidden_at=utc_now if hidden else None)
        org.profile = Profile(
            description=f"About {name}", town=town, lat=lat, lon=lon, size=size,
            service_radius_km=radius,
            published_at=None if published_days_ago is None
            else utc_now - timedelta(days=published_days_ago),
            capabilities=[ProfileCapability(tag=t) for t in tags],
            cpv_codes=[ProfileCpvCode(code=c) for c in cpv],
            certifications=[Certification(name=n, valid_until=u) for n, u in certs])
        db.session.commit()
        return org

    add("Bristol Roofing", town="Bristol", lat=51.4545, lon=-2.5879, cpv=["45261000"],
        tags=["flat roofing", "lead work"], size=SizeBand.SMALL, radius=30,
        certs=[("ISO 9001", TODAY + timedelta(days=10))], published_days_ago=3)
    add("Bath Joinery", town="Bath", lat=51.3811, lon=-2.3590, cpv=["45420000"],
        tags=["joinery"], size=SizeBand.MICRO, radius=10,
        certs=[("CHAS", TODAY - timedelta(days=1))], published_days_ago=20)
    add("Swindon Digital", town="Swindon", lat=51.5558, lon=-1.7797, cpv=["72000000"],
        tags=["user research"], size=SizeBand.MEDIUM, published_days_ago=1)
    add("Anywhere Cleaning", cpv=["90910000"], tags=["office cleaning"],
        certs=[("SafeContractor", None)])
    add("Hidden Roofing", town="Bristol", lat=51.45, lon=-2.58, cpv=["45261000"], hidden=True)
    add("Draft Roofing", town="Bristol", lat=51.45, lon=-2.58, cpv=["45261000"],
        published_days_ago=None)
    add("Bristol City Council", town="Bristol", lat=51.45, lon=-2.58, buyer=True)


def names(response) -> list[str]:
    return [a.get_text(strip=True) for a in html(response).select(".business-card h3 a")]


def notes(response) -> list[str]:
    return [p.get_text(" ", strip=True) for p in html(response).select(".directory-results "
                                                                       ".notice")]


ALL_LISTED = ["Anywhere Cleaning", "Bath Joinery", "Bristol Roofing", "Swindon Digital"]


def test_lists_only_published_visible_businesses_by_name(client, businesses):
    response = client.get("/businesses")
    assert response.status_code == 200
    assert names(response) == ALL_LISTED
    assert html(response).find("h2", id="results-h").get_text(strip=True).startswith(
        "4 businesses")


@pytest.mark.parametrize("query,expected", [
    ("division=45", ["Bath Joinery", "Bristol Roofing"]),
    ("division=45&group=452", ["Bristol Roofing"]),
    ("division=45&group=452&cpv_class=4526", ["Bristol Roofing"]),
    ("division=45&group=454&cpv_class=4542", ["Bath Joinery"]),
    ("division=45&group=452&cpv_class=4542", ["Bristol Roofing"]),  # stray class dropped
    ("division=72&group=452", ["Swindon Digital"]),  # group from another division dropped
    ("tag=Lead+Work", ["Bristol Roofing"]),
    ("tag=lead", []),  # tags match whole
    ("size=micro", ["Bath Joinery"]),
    ("cert=ISO+9001", ["Bristol Roofing"]),
    ("cert=*", ["Anywhere Cleaning", "Bristol Roofing"]),  # CHAS expired: not counted
    ("q=roofing", ["Bristol Roofing"]),
    ("q=bath+joinery", ["Bath Joinery"]),
    ("q=100%25", []),
    ("q=_", []),
    ("near=Bristol&within=25", ["Bath Joinery", "Bristol Roofing"]),
    ("near=Bristol&within=5", ["Bristol Roofing"]),
    ("near=bristol&within=100&sort=distance", ["Bristol Roofing", "Bath Joinery",
                                                "Swindon Digital"]),
    ("near=Bristol&within=100&sort=newest", ["Swindon Digital", "Bristol Roofing",
                                             "Bath Joinery"]),
    ("sort=newest", ["Swindon Digital", "Bristol Roofing", "Anywhere Cleaning",
                     "Bath Joinery"]),
    ("division=45&near=Bath&within=50&size=small&cert=ISO+9001&tag=flat+roofing",
     ["Bristol Roofing"]),
])
def test_filters(client, businesses, query, expected):
    response = client.get("/businesses?" + query)
    assert response.status_code == 200
    assert names(response) == expected


def test_distance_is_shown_and_service_area_flagged(client, businesses):
    page = html(client.get("/businesses?near=Bath&within=25&sort=distance"))
    cards = page.select(".business-card")
    assert [c.find("h3").get_text(strip=True) for c in cards] == ["Bath Joinery",
                                                                  "Bristol Roofing"]
    expected = haversine_km(51.3811, -2.359, 51.4545, -2.5879)
    assert f"{expected:.1f} km" in cards[1].get_text()
    assert "Serves Bath" in cards[1].get_text()  # 30 km radius covers Bath
    assert "Serves Bath" in cards[0].get_text()


def test_hierarchical_selects_show_the_next_level(client, businesses):
    page = html(client.get("/businesses"))
    assert page.find("select", id="division")
    assert page.find("select", id="group") is None
    page = html(client.get("/businesses?division=45"))
    groups = [o["value"] for o in page.find("select", id="group").find_all("option")]
    assert "452" in groups and all(g == "" or g.startswith("45") for g in groups)
    assert page.find("select", id="cpv_class") is None
    page = html(client.get("/businesses?division=45&group=452"))
    classes = [o["value"] for o in page.find("select", id="cpv_class").find_all("option")]
    assert "4526" in classes and all(c == "" or c.startswith("452") for c in classes)


def test_filter_form_is_a_plain_get_form(client, businesses):
    form = html(client.get("/businesses")).find("form", attrs={"role": "search"})
    assert form["method"] == "get" and form["action"] == "/businesses"
    assert form.find("input", attrs={"name": "csrf_token"}) is None


def test_pagination_keeps_every_filter_in_the_url(client, businesses, monkeypatch):
    from marketplace.profiles import views

    monkeypatch.setattr(views, "PER_PAGE", 1)
    url = "/businesses?division=45&near=Bristol&within=25&sort=distance"
    page = html(client.get(url))
    assert [a.get_text() for a in page.select(".business-card h3 a")] == ["Bristol Roofing"]
    next_link = page.find("a", rel="next")["href"]
    params = parse_qs(urlsplit(next_link).query)
    assert params == {"division": ["45"], "near": ["Bristol"], "within": ["25"],
                      "sort": ["distance"], "page": ["2"]}
    second = client.get(next_link)
    assert names(second) == ["Bath Joinery"]
    assert html(second).find("a", rel="prev")
    # Tag links on cards add to, not replace, the current filters.
    tag_link = html(second).find("a", class_="tag", string="joinery")["href"]
    assert parse_qs(urlsplit(tag_link).query)["division"] == ["45"]


@pytest.mark.parametrize("query,note", [
    ("page=abc", None),
    ("page=-3", None),
    ("page=99999", "only 1 page"),
    ("page=99999999999999999999", None),
    ("near=Atlantis", "do not know the town"),
    ("near=Bristol&within=abc", "not a distance"),
    ("near=Bristol&within=-5", "from 1 to 500"),
    ("near=Bristol&within=100000", "from 1 to 500"),
    ("size=enormous", "unknown size"),
    ("cert=CHAS", "No listed business holds"),
    ("sort=distance", "Choose a town"),
    ("sort=DROP+TABLE", None),
    ("division=99", "unknown CPV division"),
    ("division=4%27%3B--", "unknown CPV division"),
    ("q=" + "x" * 500, "ignored the search filter"),
    ("q=%00%01", "control characters"),
    ("tag=" + "y" * 200, "ignored the capability filter"),
    ("near=%0d%0aSet-Cookie:x", "do not know the town"),
    ("near=Bris%00tol", "ignored the near town filter"),
    ("division=45&division=46&group[]=1", None),
])
def test_bad_parameters_never_fail(client, businesses, query, note):
    response = client.get("/businesses?" + query)
    assert response.status_code == 200
    if note:
        assert any(note.lower() in n.lower() for n in notes(response)), notes(response)


def test_businesses_link_in_navigation(client):
    page = html(client.get("/"))
    assert page.find("a", href="/businesses", string="Businesses")


def test_bounding_box_contains_the_circle():
    box = bounding_box(51.45, -2.59, 25)
    for bearing_lat, bearing_lon in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        # Walk just inside 25 km along each axis: the point must be in the box.
        lat = 51.45 + bearing_lat * 0.2245
        lon = -2.59 + bearing_lon * 0.36
        if haversine_km(51.45, -2.59, lat, lon) <= 25:
            assert box.min_lat <= lat <= box.max_lat and box.min_lon <= lon <= box.max_lon
    assert haversine_km(51.4545, -2.5879, 51.3811, -2.3590) == pytest.approx(18.0, abs=0.5)
    polar = bounding_box(89.9, 0, 50)
    assert (polar.min_lon, polar.max_lon) == (-180.0, 180.0)
    edge = bounding_box(0, 179.9, 50)
    assert (edge.min_lon, edge.max_lon) == (-180.0, 180.0)


def test_organisation_filter_ignores_hidden_in_every_path(client, businesses, db):
    for query in ("", "?near=Bristol&within=5", "?division=45", "?sort=newest"):
        listed = names(client.get("/businesses" + query))
        assert "Hidden Roofing" not in listed and "Draft Roofing" not in listed
        assert "Bristol City Council" not in listed
    assert db.session.scalar(select(func.count(Organisation.id))) == 7
