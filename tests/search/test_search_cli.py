"""``flask search ...`` and ``flask match run`` on a tiny made-up dataset."""

import json

from marketplace.search import indexer
from marketplace.search.index import exists
from tests.search.test_pipeline import indexed, path_of, published_org

BUSINESSES = [
    {"id": "biz-roof", "name": "Brightwater Roofing", "description": "Roof repairs, slate "
     "and tile roofing, leadwork and gutters for schools.", "capabilities": ["roofing"],
     "cpv_codes": ["45261000"], "town": "Leeds", "lat": 53.8, "lon": -1.55,
     "service_radius_km": 40, "size": "sme"},
    {"id": "biz-web", "name": "Pixel Forge", "description": "Web design and software for "
     "councils.", "capabilities": ["web design"], "cpv_codes": ["72212000"], "town": "York"},
    {"id": "biz-garden", "name": "Greenleaf Gardens", "description": "Grounds maintenance "
     "and tree surgery for parks.", "capabilities": ["landscaping"],
     "cpv_codes": ["77310000"], "town": "Leeds"},
]
TENDERS = [
    {"id": "t-roof", "title": "Roof repairs at three schools", "description": "Slate roof "
     "repairs and new gutters.", "lat": 53.8, "lon": -1.5},
    {"id": "t-web", "title": "New council website", "description": "Design and build an "
     "accessible website.", "cpv_codes": ["72212000"]},
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_match_run_after_import_in_a_fresh_instance(app, runner, tmp_path):
    businesses = write_jsonl(tmp_path / "businesses.jsonl", BUSINESSES)
    tenders = write_jsonl(tmp_path / "tenders.jsonl", TENDERS)
    result = runner.invoke(args=["import", "organisations", str(businesses)])
    assert result.exit_code == 0, result.output
    assert not exists(path_of(app))
    out = tmp_path / "run.tsv"
    result = runner.invoke(args=["match", "run", str(tenders), "--top", "2",
                                 "--output", str(out)])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in out.read_text().splitlines()]
    assert lines[0] == ["tender_id", "business_id", "rank", "score"]
    best = {t: b for t, b, rank, _ in lines[1:] if rank == "1"}
    assert best == {"t-roof": "biz-roof", "t-web": "biz-web"}
    assert all(len(r) == 4 and float(r[3]) >= 0 for r in lines[1:])
    assert {t for t, *_ in lines[1:]} == {"t-roof", "t-web"}  # not imported, still matched


def test_match_run_rejects_a_bad_file(app, runner, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n', encoding="utf-8")
    result = runner.invoke(args=["match", "run", str(bad)])
    assert result.exit_code != 0 and "needs an id and a title" in result.output


def test_rebuild_status_and_catch_up(app, runner, make_org):
    org = published_org(make_org, "Brightwater Roofing")
    result = runner.invoke(args=["search", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "Indexed 1 documents" in result.output
    assert runner.invoke(args=["search", "rebuild", "--if-missing"]).output.startswith(
        "Search index present")
    published_org(make_org, "Beta Roofing")
    status = json.loads(runner.invoke(args=["search", "status", "--json"]).output)
    assert status["documents"]["organisation"] == 1
    assert status["backlog"] == 1 and status["writer_busy"] is False
    result = runner.invoke(args=["search", "catch-up"])
    assert result.exit_code == 0 and "Applied 1 outbox row" in result.output
    text = runner.invoke(args=["search", "status"]).output
    assert "organisation" in text and "backlog 0" in text
    assert f"org:{org.id}" in indexed(app)


def test_worker_once_applies_pending_rows(app, runner, make_org):
    published_org(make_org, "Brightwater Roofing")
    result = runner.invoke(args=["search", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert indexer.read_state(path_of(app)).applied_rows == 1
    assert len(indexed(app)) == 1
