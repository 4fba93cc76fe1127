from marketplace.search import cpv
from marketplace.search.documents import (
    alliance_document,
    normalise_requirements,
    organisation_document,
    project_document,
    tender_document,
)
from marketplace.search.schema import build_schema


def test_cpv_prefix_expansion_covers_every_level():
    terms = cpv.expand(["45321000-3"])
    assert terms == ["45", "453", "4532", "45321", "45321000"]
    assert cpv.expand(["45000000"]) == ["45", "45000000"]
    assert cpv.expand(["45300000"]) == ["45", "453", "45300000"]
    assert cpv.expand(["not a code", None]) == []


def test_cpv_labels_include_ancestors():
    labels = cpv.labels_for(["45321000"])
    assert labels[0] == "Thermal insulation work"
    assert "Construction work" in labels
    assert cpv.level_of_prefix("4532") == "class"
    assert cpv.level_of_prefix("453") == "group"
    assert cpv.level_of_prefix("45") == "division"


def test_organisation_document_fields():
    d = organisation_document({
        "id": 12, "name": "Acme Ltd", "description": "x" * 2000,
        "capabilities": ["roofing", "leadwork"], "cpv_codes": ["45261000"],
        "town": "  Leeds ", "region": "West Yorkshire", "lat": 53.8, "lon": -1.5,
        "service_radius_km": 25, "certifications": ["ISO 9001", {"name": "CHAS"}],
        "track_record": 2, "version": 7})
    assert d["doc_id"] == "org:12" and d["kind"] == "organisation" and d["version"] == 7
    assert set(d["cpv"].split()) == {"45", "452", "4526", "45261", "45261000"}
    assert "Roof works" in d["cpv_labels"] or "roof" in d["cpv_labels"].lower()
    assert d["town"] == "leeds" and d["_stored_town"] == "Leeds"
    assert d["certs"] == "iso 9001,chas"
    assert d["places"] == [(53.8, -1.5, 25.0)]
    assert len(d["_stored_body"]) == 600 and len(d["body"]) == 2000
    assert "cjk" not in d
    schema = build_schema()
    assert set(k for k in d if not k.startswith("_")) <= set(schema.names())


def test_minimal_and_messy_dicts():
    d = organisation_document({"id": "a", "name": "Only a name", "lat": "nan", "lon": None})
    assert d["doc_id"] == "org:a" and "lat" not in d and d["places"] == []
    t = tender_document({"id": 7, "title": "Roof repairs", "requirements": [
        "slate roofing", {"type": "certification", "name": "ISO 9001"},
        {"kind": "cpv", "code": "45261000-4"}, 42]})
    assert t["doc_id"] == "tender:7" and t["status"] == "open"
    assert "45261000" in t["cpv"].split() and t["certs"] == "iso 9001"
    assert "slate roofing" in t["capabilities"]


def test_requirements_normalisation():
    r = normalise_requirements(["a", {"type": "cert", "value": "ISO, 14001"}, {"code": "x"}])
    assert r == [{"type": "capability", "value": "a"},
                 {"type": "certification", "value": "iso 14001"}]
    assert normalise_requirements(None) == []


def test_alliance_merges_members_and_project_only_confirmed():
    a = alliance_document({"id": 3, "name": "North Roof Group", "members": [
        {"name": "A", "capabilities": ["roofing"], "cpv_codes": ["45261000"],
         "lat": 53.8, "lon": -1.5, "service_radius_km": 20},
        {"name": "B", "capabilities": ["scaffolding"], "cpv_codes": ["45262100"],
         "certifications": ["CHAS"], "lat": 54.0, "lon": -1.0}]})
    assert a["doc_id"] == "alliance:3"
    assert {"45261000", "45262100"} <= set(a["cpv"].split())
    assert len(a["places"]) == 2 and a["certs"] == "chas"
    p = project_document({"id": 4, "title": "School roof", "partners": [
        {"name": "Seen Ltd", "confirmed": True}, {"name": "Hidden Ltd", "confirmed": False}]})
    assert "Seen Ltd" in p["body"] and "Hidden Ltd" not in p["body"]


def test_cjk_text_goes_to_bigram_field():
    d = organisation_document({"id": 1, "name": "公開建築", "description": "投標"})
    assert "公開建築" in d["cjk"] and "投標" in d["cjk"]
