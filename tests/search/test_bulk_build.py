"""Full builds through ``bulk``: the same index as Whoosh's own writer, only faster."""

import os
import random

import pytest
from helpers import AWKWARD_WORDS, ORGS
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh.analysis import (
    KeywordAnalyzer,
    NgramWordAnalyzer,
    RegexTokenizer,
    StemmingAnalyzer,
    StopFilter,
)
from whoosh.filedb.filestore import FileStorage

from marketplace.search import bulk
from marketplace.search import index as sindex
from marketplace.search.analysis import cjk_analyzer, english_analyzer, simple_analyzer
from marketplace.search.documents import (
    alliance_document,
    organisation_document,
    project_document,
    tender_document,
)
from marketplace.search.schema import build_schema

WORDS = AWKWARD_WORDS


def _text(rng: random.Random, n: int) -> str:
    seps = (" ", ", ", "; ", ". ", " - ", "\n", "/")
    return "".join(rng.choice(WORDS) + rng.choice(seps) for _ in range(n))


def _documents(n: int = 120, seed: int = 3) -> list[dict]:
    """Every kind of document, with accents, CJK, stop words, dotted numbers, empty fields."""
    rng = random.Random(seed)
    docs = [organisation_document(o) for o in ORGS]
    for i in range(n):
        base = {"id": 100 + i, "name": _text(rng, rng.randint(1, 4)),
                "title": _text(rng, rng.randint(1, 6)),
                "description": _text(rng, rng.randint(0, 60)),
                "summary": _text(rng, rng.randint(0, 8)) if i % 3 else "",
                "capabilities": [_text(rng, 2).strip() for _ in range(rng.randint(0, 3))],
                "cpv_codes": rng.sample(["45261000", "45000000", "72212000", "77310000",
                                         "79000000", "50000000"], rng.randint(0, 3)),
                "town": rng.choice(["Leeds", "York", "", None]),
                "region": rng.choice(["Yorkshire", "Devon", None]),
                "certifications": rng.sample(["ISO 9001", "CHAS", "Cyber Essentials"],
                                             rng.randint(0, 2)),
                "status": rng.choice(["open", "closed"]), "size": rng.choice(["micro", ""]),
                "track_record": rng.randint(0, 4)}
        if i % 4:
            base.update(lat=50 + rng.random() * 5, lon=-5 + rng.random() * 5,
                        service_radius_km=rng.choice([10, 40, 100]))
        kind = i % 4
        if kind == 0:
            docs.append(organisation_document(base))
        elif kind == 1:
            docs.append(tender_document(dict(base, requirements=["roofing", {
                "type": "certification", "value": "CHAS"}])))
        elif kind == 2:
            docs.append(alliance_document(dict(base, members=[
                {"name": "Member " + _text(rng, 1), "capabilities": ["glazing"],
                 "cpv_codes": ["45441000"], "lat": 53.8, "lon": -1.5}])))
        else:
            docs.append(project_document(dict(base, partners=[
                {"name": "Partner", "confirmed": True}, {"name": "Hidden", "confirmed": False}])))
    return docs


def _whoosh_build(folder, docs) -> None:
    os.makedirs(folder)
    ix = FileStorage(str(folder)).create_index(build_schema(), indexname=sindex.INDEX_NAME)
    writer = ix.writer()
    for doc in docs:
        writer.add_document(**doc)
    writer.commit()


def _segment_files(folder) -> dict[str, bytes]:
    """The files inside each segment's compound file, by extension, segment by segment."""
    storage = FileStorage(str(folder))
    ix = storage.open_index(sindex.INDEX_NAME)
    out = {}
    for n, seg in enumerate(ix._segments()):
        files = seg.open_compound_file(storage) if seg.is_compound() else storage
        for name in files.list():
            if name.startswith(seg.segment_id() + "."):
                with files.open_file(name) as f:
                    out[f"{n}:{name.split('.', 1)[1]}"] = f.read()
        if seg.is_compound():
            files.close()
    return out


def test_bulk_segment_is_byte_for_byte_whooshs(tmp_path):
    docs = _documents()
    _whoosh_build(tmp_path / "whoosh", docs)
    gen = sindex.build_index(str(tmp_path / "bulk"), docs, procs=1)
    expected, got = _segment_files(tmp_path / "whoosh"), _segment_files(gen)
    # postings, terms (with every block's statistics), field lengths, stored fields, columns
    assert {"0:pst", "0:trm", "0:_stored.col", "0:_text_len.col", "0:kind.col"} <= set(got)
    assert sorted(got) == sorted([*expected, "0:dense"])  # plus the flat arrays (dense.py)
    for name in expected:
        assert got[name] == expected[name], name
    assert not os.path.exists(os.path.join(gen, f"{sindex.INDEX_NAME}.tmp"))


def test_several_segments_hold_the_same_index(tmp_path):
    docs = _documents(80)
    one = sindex.build_index(str(tmp_path / "one"), docs, procs=1)
    storage = FileStorage(str(tmp_path / "split")).create()
    ix = storage.create_index(build_schema(), indexname=sindex.INDEX_NAME)
    # no memory allowed: every document closes a segment
    segments = bulk.write_segments(ix, docs, procs=1, limitmb=0)
    bulk.commit_segments(ix, segments)
    assert len(segments) == len(docs)
    _assert_same_index(FileStorage(one).open_index(sindex.INDEX_NAME),
                       storage.open_index(sindex.INDEX_NAME))


def _postings(ix) -> dict:
    """Every term's postings as (doc_id, weight, value), and every document's stored fields
    and field lengths, independent of document numbers and segments."""
    out: dict = {}
    with ix.reader() as r:
        ids = {n: f["doc_id"] for n, f in r.iter_docs()}
        for fieldname, text in r.all_terms():
            m, items = r.postings(fieldname, text), []
            while m.is_active():
                items.append((ids[m.id()], m.weight(), m.value()))
                m.next()
            out[(fieldname, text)] = sorted(items)
        for n, fields in r.iter_docs():
            out[fields["doc_id"]] = (fields, {f: r.doc_field_length(n, f) or 0
                                              for f in r.schema.scorable_names()})
    return out


def _assert_same_index(a, b) -> None:
    pa, pb = _postings(a), _postings(b)
    assert pa.keys() == pb.keys()
    for key in pa:
        assert pa[key] == pb[key], key


def test_worker_processes_build_the_same_index(tmp_path):
    docs = _documents(1200, seed=5)
    one = sindex.build_index(str(tmp_path / "one"), docs, procs=1)
    two = sindex.build_index(str(tmp_path / "two"), docs, procs=2)
    ix_two = FileStorage(two).open_index(sindex.INDEX_NAME)
    assert len(ix_two._segments()) == 2  # one per worker (1,200 documents: three batches)
    _assert_same_index(FileStorage(one).open_index(sindex.INDEX_NAME), ix_two)
    assert not os.path.exists(os.path.join(two, f"{sindex.INDEX_NAME}.tmp"))


def test_index_time_boosts_are_refused(tmp_path):
    docs = _documents(3)
    docs[1] = dict(docs[1], _title_boost=2.0)
    with pytest.raises(ValueError, match="boosts"):
        sindex.build_index(str(tmp_path), docs, procs=1)


def test_a_failing_worker_fails_the_build_and_keeps_the_current_index(tmp_path):
    sindex.build_index(str(tmp_path), _documents(5), procs=1)
    docs = _documents(1200, seed=7)
    docs[900] = dict(docs[900], no_such_field="x")  # the worker's writer refuses it
    with pytest.raises(RuntimeError, match="worker failed: UnknownFieldError"):
        sindex.build_index(str(tmp_path), docs, procs=2)
    assert sindex.open_index(str(tmp_path)).doc_count() == len(_documents(5))
    assert len([e for e in os.listdir(tmp_path) if e.startswith("gen-")]) == 1


# -- FastAnalyzer = the field's analyzer ----------------------------------------------------------

ANALYZERS = {"english": english_analyzer(), "spelling": simple_analyzer(),
             "stemming, no folding": StemmingAnalyzer(), "words": RegexTokenizer(),
             "keywords": KeywordAnalyzer(lowercase=True)}


def _analyzer_terms(analyzer, text: str) -> tuple[list[str], list[int]]:
    tokens = [(t.text, t.pos) for t in analyzer(text, positions=True)]
    return [t for t, _ in tokens], [p for _, p in tokens]


@pytest.mark.parametrize("name", ANALYZERS)
@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), max_size=30)
       .map(" ".join))
def test_fast_analyzer_gives_the_analyzers_terms_and_positions(name, text):
    analyzer = ANALYZERS[name]
    terms, first = bulk.FastAnalyzer(analyzer).analyse(text)
    expected, positions = _analyzer_terms(analyzer, text)
    assert terms == expected
    assert positions == list(range(first, first + len(terms)))


def test_fast_analyzer_positions_start_where_the_first_term_does():
    # a leading stop word is renumbered away only after the first kept token
    english = ANALYZERS["english"]
    assert bulk.FastAnalyzer(english).analyse("the roofs of the school") == (["roof", "school"], 1)
    assert _analyzer_terms(english, "the roofs of the school") == (["roof", "school"], [1, 2])


@pytest.mark.parametrize("analyzer", [cjk_analyzer(), KeywordAnalyzer(commas=True),
                                      NgramWordAnalyzer(3),
                                      RegexTokenizer() | StopFilter(renumber=False)])
def test_fast_analyzer_refuses_chains_it_does_not_know(analyzer):
    with pytest.raises(ValueError):
        bulk.FastAnalyzer(analyzer)


def test_only_the_cjk_and_comma_fields_are_indexed_the_slow_way(tmp_path):
    ix = FileStorage(str(tmp_path)).create().create_index(build_schema())
    writer = bulk.BulkSegmentWriter(ix)
    assert sorted(writer._fast) == ["body", "capabilities", "cpv", "cpv_labels", "spell",
                                    "summary", "text", "title"]
    writer.cancel()


def test_small_builds_stay_in_process(tmp_path, monkeypatch):
    monkeypatch.setattr(sindex, "PARALLEL_MIN_DOCS", 1000)
    docs = _documents(1200, seed=9)
    small = sindex.build_index(str(tmp_path / "s"), docs, expected=999)
    large = sindex.build_index(str(tmp_path / "l"), docs, expected=1000)
    assert len(FileStorage(small).open_index(sindex.INDEX_NAME)._segments()) == 1
    assert len(FileStorage(large).open_index(sindex.INDEX_NAME)._segments()) == 2
