"""The matching panel on a tender page and "tenders for you" on the dashboard."""

import pytest

from marketplace.extensions import db
from marketplace.search_outbox import record_change
from tests.alliance_helpers import confirm, post_project
from tests.conftest import html
from tests.search.ui_helpers import BATH, BRISTOL, SWINDON, alliance, business, index_now, tender

SEALED = "SEALED-MARKER-7f3a"


@pytest.fixture
def world(app, make_org, make_user):
    owner = make_user()
    roof = business(make_org, "Bristol Roofing", owner=owner, town="Bristol", place=BRISTOL,
                    radius=40, description="Slate roof repairs and flat roofing for schools.",
                    tags=["flat roofing", "leadwork"], cpv=["45261000"],
                    certs=["ISO 9001"])
    partner = business(make_org, "Bath Joinery", town="Bath", place=BATH, radius=20,
                       description="Joinery for schools.", tags=["joinery"],
                       cpv=["45421000"])
    far = business(make_org, "Swindon Roofing", town="Swindon", place=SWINDON, radius=10,
                   description="Roof repairs and flat roofing.", tags=["roofing"],
                   cpv=["45261000"])
    project = post_project(app, owner, roof, [(partner, "Joinery")],
                           title="School roof renewal")
    confirm(app, partner.memberships[0].user, project, partner)
    record_change("organisation", roof.id)
    db.session.commit()
    buyer_user = make_user()
    buyer = make_org(buyer_user, name="Bath Council", is_buyer=True)
    t = tender(buyer, "Roof repairs at Bath schools",
               description="Repair slate roofs and flat roofing on three school buildings.",
               cpv=["45261000"], place=BATH, town="Bath",
               requirements=[("certification", "ISO 9001"), ("certification", "CHAS")])
    alliance("Severn Roofing Alliance", [roof, partner])
    index_now()
    return {"owner": owner, "roof": roof, "partner": partner, "far": far, "tender": t,
            "buyer": buyer, "buyer_user": buyer_user}


def matches(response) -> list[str]:
    return [a.get_text(strip=True) for a in html(response).select(".match-panel .match h3 a")]


def reasons_of(response, name) -> list[str]:
    for li in html(response).select(".match-panel .match"):
        if li.select_one("h3 a").get_text(strip=True) == name:
            return [r.get_text(" ", strip=True) for r in li.select(".reason")]
    raise AssertionError(f"{name} not in the panel")


def test_panel_ranks_firms_and_alliances(client, world):
    r = client.get(f"/tenders/{world['tender'].id}")
    assert r.status_code == 200
    found = matches(r)
    assert found[0] in ("Bristol Roofing", "Severn Roofing Alliance")
    assert {"Bristol Roofing", "Severn Roofing Alliance", "Swindon Roofing"} <= set(found)
    assert "Bath Council" not in found  # never the buyer itself
    assert found.index("Bristol Roofing") < found.index("Swindon Roofing")


def test_explanations_say_why(client, world):
    r = client.get(f"/tenders/{world['tender'].id}")
    why = " | ".join(reasons_of(r, "Bristol Roofing"))
    assert "Mentions" in why and "“slate”" in why
    assert "Same class of CPV as the tender: 4526" in why and "(their code 45261000)" in why
    assert "Holds the required ISO 9001" in why
    assert "Lacks CHAS" in why
    assert "km away, within its 40 km service area" in why
    assert "1 confirmed project with partners" in why
    bad = [li for li in html(r).select(".match-panel .reason-bad")]
    assert any("Lacks CHAS" in li.get_text() for li in bad)
    far = " | ".join(reasons_of(r, "Swindon Roofing"))
    assert "outside its 10 km service area" in far


def test_panel_reveals_nothing_about_bids(app, client, world):
    from marketplace.bids import services as bids
    from marketplace.clock import now

    with app.test_request_context():
        bid = bids.create_bid(world["owner"], world["tender"], f"org:{world['roof'].id}", now())
        bid.proposal = SEALED
        db.session.commit()
    index_now()
    for user in (None, world["buyer_user"]):
        if user is not None:
            with client.session_transaction() as s:
                s["_user_id"] = user.get_id()
                s["_fresh"] = True
        body = client.get(f"/tenders/{world['tender'].id}").get_data(as_text=True)
        assert SEALED not in body
        panel = html(client.get(f"/tenders/{world['tender'].id}")).select_one(".match-panel")
        assert "bid" not in panel.get_text(" ").lower()


def test_dashboard_tenders_for_you_with_reasons(client, world, login_as):
    login_as(world["owner"])
    r = client.get("/dashboard")
    assert r.status_code == 200
    section = html(r).select_one(".tenders-for-you")
    assert section.select_one("h2").get_text(strip=True) == "Tenders for Bristol Roofing"
    assert [a.get_text(strip=True) for a in section.select(".match h3 a")] == [
        "Roof repairs at Bath schools"]
    why = " | ".join(li.get_text(" ", strip=True) for li in section.select(".reason"))
    assert "Same class of CPV as the tender: 4526" in why and "(your code 45261000)" in why
    assert "You hold the required ISO 9001" in why and "You lack CHAS" in why
    assert "within your 40 km service area" in why


def test_dashboard_without_fitting_tenders_says_so(client, world, login_as, make_user,
                                                   make_org):
    user = make_user()
    business(make_org, "Cake Shop", owner=user, description="Wedding cakes.", tags=["cakes"])
    index_now()
    login_as(user)
    section = html(client.get("/dashboard")).select_one(".tenders-for-you")
    assert "No open tender fits Cake Shop yet" in section.get_text(" ", strip=True)


def test_pages_render_when_the_index_is_broken(client, world, login_as, monkeypatch):
    from marketplace.search import service

    def boom(*a, **k):
        raise RuntimeError("index unavailable")

    monkeypatch.setattr(service, "matches_for_tender", boom)
    monkeypatch.setattr(service, "tenders_for_organisation", boom)
    assert client.get(f"/tenders/{world['tender'].id}").status_code == 200
    login_as(world["owner"])
    assert client.get("/dashboard").status_code == 200
