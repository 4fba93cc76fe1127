import pytest
from helpers import ORGS, build

from marketplace.search.matching import haversine_km, match_tender, tenders_for

ROOF_TENDER = {"id": "t1", "title": "School roof repairs", "description":
               "Repair of slate roofs and gutters at two primary schools.",
               "cpv_codes": ["45261000"], "lat": 53.81, "lon": -1.56,
               "requirements": [{"type": "certification", "value": "ISO 9001"}]}


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    extra = [
        # same class code, but far away from the tender
        {"id": 10, "name": "Distant Roofers", "description": "Roof repairs and slate roofs.",
         "cpv_codes": ["45261000"], "lat": 57.15, "lon": -2.09, "service_radius_km": 30},
        # only the division in common, close by, text partly matching
        {"id": 11, "name": "Generalist Works", "description": "Repairs of schools and "
         "general works.", "cpv_codes": ["45400000"], "lat": 53.8, "lon": -1.55,
         "service_radius_km": 40},
    ]
    return build(tmp_path_factory.mktemp("m"), orgs=ORGS + extra, tenders=[
        dict(ROOF_TENDER, id=100, title="Roof repairs framework"),
        {"id": 101, "title": "Website redesign", "description": "Accessible council website",
         "cpv_codes": ["72413000"], "lat": 53.9, "lon": -1.1},
        {"id": 102, "title": "Closed roof job", "description": "roof repairs",
         "cpv_codes": ["45261000"], "status": "closed"},
    ])


def test_haversine():
    assert haversine_km(53.8, -1.55, 53.8, -1.55) == 0
    assert 255 < haversine_km(51.5, -0.12, 53.48, -2.24) < 270  # London - Manchester


def test_class_match_ranks_above_division_only(ix):
    with ix.searcher() as s:
        ms = match_tender(s, ROOF_TENDER)
    order = [m.doc_id for m in ms]
    assert order[0] == "org:1"
    assert order.index("org:1") < order.index("org:11")
    assert order.index("org:3") < order.index("org:11")
    assert all(m.kind in ("organisation", "alliance") for m in ms)


def test_reasons_list_codes_terms_certs_and_distance(ix):
    with ix.searcher() as s:
        best = {m.doc_id: m for m in match_tender(s, ROOF_TENDER)}
    r = best["org:1"].reasons
    assert r.cpv[0].code == "45261000" and r.cpv[0].level == "class"
    assert r.cpv[0].prefix == "4526" and not r.cpv_inferred
    assert {"roofs", "repairs"} <= set(r.terms) or {"roof", "repairs"} & set(r.terms)
    assert r.certifications_covered == ["iso 9001"] and r.certifications_missing == []
    assert r.within_radius is True and r.distance_km < 5
    assert r.track_record == 3
    div = best["org:11"].reasons
    assert [o.level for o in div.cpv] == ["division"] and div.cpv[0].prefix == "45"
    assert div.certifications_missing == ["iso 9001"]
    assert best["org:1"].components["cert"] == 1.0 and best["org:11"].components["cert"] == 0.0


def test_distance_outside_radius_is_penalised(ix):
    with ix.searcher() as s:
        best = {m.doc_id: m for m in match_tender(s, ROOF_TENDER)}
    far, near = best["org:10"], best["org:3"]
    assert far.reasons.within_radius is False and far.reasons.distance_km > 300
    assert far.components["geo"] < 0
    assert best["org:1"].score > far.score
    # no tender place: no distance reasons, no penalty
    with ix.searcher() as s:
        noplace = {m.doc_id: m for m in match_tender(s, dict(ROOF_TENDER, lat=None))}
    assert noplace["org:10"].reasons.distance_km is None
    assert noplace["org:10"].components["geo"] == 0
    assert near.reasons.within_radius is False  # Plymouth is far from Leeds too


def test_tender_without_codes_gets_inferred_codes(ix):
    tender = {"id": "t2", "title": "Slate roof repairs", "description": "roofing and gutters"}
    with ix.searcher() as s:
        ms = match_tender(s, tender, top=5)
    assert ms[0].doc_id in ("org:1", "org:3", "org:10")
    assert ms[0].reasons.cpv_inferred and ms[0].reasons.cpv[0].code == "45261000"


def test_empty_and_odd_tenders_do_not_raise(ix):
    with ix.searcher() as s:
        assert match_tender(s, {"id": 1, "title": ""}) == []
        match_tender(s, {"id": 1, "title": "*** ((", "cpv_codes": ["bad"], "lat": "x"})
        ms = match_tender(s, {"id": 1, "title": "zzzz", "cpv_codes": ["45261000"]})
        assert ms and ms[0].reasons.terms == []


def test_kinds_parameter(ix):
    with ix.searcher() as s:
        ms = match_tender(s, ROOF_TENDER, kinds=("tender",))
    assert ms and all(m.kind == "tender" for m in ms)


def test_tenders_for_uses_the_same_scorer(ix):
    org = dict(ORGS[0])
    with ix.searcher() as s:
        ms = tenders_for(s, org, top=5)
    ids = [m.doc_id for m in ms]
    assert ids[0] == "tender:100"
    assert "tender:102" not in ids  # closed tenders are not offered
    r = ms[0].reasons
    assert r.cpv[0].level == "class" and r.within_radius is True
    assert r.certifications_covered == ["iso 9001"]
    assert ms[0].to_dict()["reasons"]["cpv"][0]["code"] == "45261000"
