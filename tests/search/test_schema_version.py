"""Schema versions: an index built by another release is never read, it is rebuilt."""

import json
import os

import pytest

from marketplace.search import index as sindex
from marketplace.search import service
from marketplace.search.schema import SCHEMA_VERSION
from tests.search.helpers import ORGS, build
from tests.search.test_pipeline import indexed, path_of, published_org


def mark_version(path, version: str | None) -> None:
    """Make the live generation look as if another release had built it."""
    gen = sindex.current_generation(str(path))
    target = os.path.join(gen, sindex.VERSION_FILE)
    if version is None:
        os.remove(target)
    else:
        with open(target, "w", encoding="ascii") as f:
            f.write(version)


def test_build_records_the_schema_version(tmp_path):
    ix = build(tmp_path, orgs=ORGS[:2])
    assert sindex.schema_version(str(tmp_path)) == SCHEMA_VERSION
    assert sindex.is_current(str(tmp_path))
    assert ix.doc_count() == 2


@pytest.mark.parametrize("version", [str(SCHEMA_VERSION + 1), str(SCHEMA_VERSION + 7),
                                     "garbage", ""])
def test_another_version_is_refused_with_the_fix_in_the_message(tmp_path, version):
    build(tmp_path, orgs=ORGS[:2])
    mark_version(tmp_path, version)
    assert not sindex.is_current(str(tmp_path))
    with pytest.raises(sindex.SchemaMismatch, match="flask search rebuild"):
        sindex.open_index(str(tmp_path))
    # status can still look inside it
    assert sindex.open_index(str(tmp_path), check_version=False).doc_count() == 2


def test_an_unrecorded_version_is_the_first_one(tmp_path):
    build(tmp_path, orgs=ORGS[:2])
    mark_version(tmp_path, None)
    assert sindex.schema_version(str(tmp_path)) == sindex.UNRECORDED_VERSION
    assert sindex.is_current(str(tmp_path)) == (SCHEMA_VERSION == sindex.UNRECORDED_VERSION)


def test_app_shows_empty_results_then_the_indexer_rebuilds(app, client, make_org, index_now):
    org = published_org(make_org, "Brightwater Roofing")
    index_now()
    with app.app_context():
        assert service.search_page("roofing").total == 1
    mark_version(path_of(app), str(SCHEMA_VERSION + 1))
    service.close_searchers()
    with app.app_context():
        assert service.search_page("roofing").total == 0  # no crash, nothing to show
    response = client.get("/search?q=roofing")
    assert response.status_code == 200
    stats = index_now()  # the worker's job: nothing pending, but the index is stale
    assert stats.rows == 0
    assert sindex.is_current(path_of(app))
    assert f"org:{org.id}" in indexed(app)
    with app.app_context():
        assert service.search_page("roofing").total == 1
    # rows written after the rebuild are applied on top as usual
    other = published_org(make_org, "Beta Roofing")
    assert index_now().rows == 1
    assert {f"org:{org.id}", f"org:{other.id}"} <= set(indexed(app))


def test_status_says_rebuild_and_rebuild_if_missing_does_it(app, runner, make_org):
    org = published_org(make_org, "Brightwater Roofing")
    assert runner.invoke(args=["search", "rebuild"]).exit_code == 0
    status = json.loads(runner.invoke(args=["search", "status", "--json"]).output)
    assert status["schema_version"] == SCHEMA_VERSION and status["needs_rebuild"] is False
    assert "(current)" in runner.invoke(args=["search", "status"]).output

    mark_version(path_of(app), str(SCHEMA_VERSION + 1))
    status = json.loads(runner.invoke(args=["search", "status", "--json"]).output)
    assert status["needs_rebuild"] is True
    assert status["schema_version"] == SCHEMA_VERSION + 1
    assert status["schema_expected"] == SCHEMA_VERSION
    assert status["documents"]["organisation"] == 1
    text = runner.invoke(args=["search", "status"]).output
    assert "NOT SEARCHABLE" in text and "flask search rebuild" in text

    result = runner.invoke(args=["search", "rebuild", "--if-missing"])
    assert result.exit_code == 0, result.output
    assert "Indexed 1 documents" in result.output
    assert sindex.is_current(path_of(app))
    assert f"org:{org.id}" in indexed(app)


def test_worker_once_rebuilds_a_stale_index(app, runner, make_org):
    org = published_org(make_org, "Brightwater Roofing")
    assert runner.invoke(args=["search", "rebuild"]).exit_code == 0
    mark_version(path_of(app), str(SCHEMA_VERSION + 1))
    result = runner.invoke(args=["search", "worker", "--once"])
    assert result.exit_code == 0, result.output
    assert sindex.is_current(path_of(app))
    assert set(indexed(app)) == {f"org:{org.id}"}
