import os
import threading

import pytest
from helpers import ORGS, build

from marketplace.search import index as sindex
from marketplace.search.documents import organisation_document


def _ids(ix, **terms):
    with ix.searcher() as s:
        return sorted(d["doc_id"] for d in s.documents(**terms))


def test_build_and_open(tmp_path):
    ix = build(tmp_path)
    assert ix.doc_count() == len(ORGS)
    assert os.path.islink(tmp_path / "current")
    assert sindex.exists(str(tmp_path))


def test_update_document_upserts_by_unique_id(tmp_path):
    ix = build(tmp_path)
    changed = dict(ORGS[0], name="Brightwater Roofing and Solar", version=2)
    stats = sindex.apply_batch(ix, [organisation_document(changed)])
    assert stats == {"upserted": 1, "deleted": 0, "stale": 0, "commits": 1}
    with ix.searcher() as s:
        docs = list(s.documents(doc_id="org:1"))
        assert len(docs) == 1 and docs[0]["title"].endswith("Solar")
        assert s.doc_count() == len(ORGS)


def test_apply_batch_is_one_commit_and_last_write_wins(tmp_path):
    ix = build(tmp_path)
    before = ix.latest_generation()
    ups = [organisation_document(dict(o, version=5)) for o in ORGS[:3]]
    ups.append(organisation_document(dict(ORGS[0], name="Renamed", version=6)))
    ups.append(organisation_document({"id": 99, "name": "Newcomer"}))
    stats = sindex.apply_batch(ix, ups, deletes=["org:2", "org:99"])
    assert stats["commits"] == 1
    assert ix.latest_generation() == before + 1
    with ix.searcher() as s:
        assert s.document(doc_id="org:1")["title"] == "Renamed"
        assert s.document(doc_id="org:2") is None
        assert s.document(doc_id="org:99") is None
        assert s.doc_count() == len(ORGS) - 1


def test_apply_batch_skips_stale_versions(tmp_path):
    ix = build(tmp_path, orgs=[dict(ORGS[0], version=3)])
    stats = sindex.apply_batch(ix, [organisation_document(dict(ORGS[0], name="Old", version=2))])
    assert stats["stale"] == 1 and stats["upserted"] == 0
    assert sindex.apply_batch(ix, []) == {"upserted": 0, "deleted": 0, "stale": 0, "commits": 0}


def test_rebuild_swaps_atomically_and_old_index_stays_readable(tmp_path):
    ix_old = build(tmp_path, orgs=ORGS[:2])
    old_searcher = ix_old.searcher()
    started, release = threading.Event(), threading.Event()
    seen_during = []

    def slow_docs():
        for o in ORGS:
            yield organisation_document(o)
            if o is ORGS[2]:
                started.set()
                release.wait(10)

    t = threading.Thread(target=sindex.build_index, args=(str(tmp_path), slow_docs()),
                         kwargs={"procs": 1})
    t.start()
    assert started.wait(10)
    # during the build: readers opening now see the complete old index
    ix_mid = sindex.open_index(str(tmp_path))
    seen_during.append(ix_mid.doc_count())
    release.set()
    t.join(20)
    assert seen_during == [2]
    assert old_searcher.doc_count() == 2  # still open, still readable
    assert sorted(d["doc_id"] for d in old_searcher.documents())[:2] == ["org:1", "org:2"]
    old_searcher.close()
    ix_new = sindex.open_index(str(tmp_path))
    assert ix_new.doc_count() == len(ORGS)
    assert sindex.refresh(ix_old, str(tmp_path)).doc_count() == len(ORGS)


def test_failed_build_leaves_current_index(tmp_path):
    build(tmp_path, orgs=ORGS[:2])

    def broken():
        yield organisation_document(ORGS[0])
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        sindex.build_index(str(tmp_path), broken(), procs=1)
    assert sindex.open_index(str(tmp_path)).doc_count() == 2
    gens = [e for e in os.listdir(tmp_path) if e.startswith("gen-")]
    assert len(gens) == 1


def test_multiprocess_build(tmp_path):
    ix = build(tmp_path)  # procs=1 build first, then a 2-process rebuild
    sindex.build_index(str(tmp_path), (organisation_document(o) for o in ORGS), procs=2)
    ix = sindex.open_index(str(tmp_path))
    assert ix.doc_count() == len(ORGS)
    assert _ids(ix, kind="organisation")[0] == "org:1"
