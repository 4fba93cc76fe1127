"""The engine's fast paths give exactly what plain Whoosh gives.

Per-kind counts on bitsets, BM25F summed over posting blocks, frequent terms probed through
a block index, the in-memory "did you mean" -- each is checked against the Whoosh
computation it replaces, on an index with several posting blocks per term, two segments and
deleted documents (the cases where reading postings by hand could go wrong).
"""

import random

import pytest
from whoosh import scoring, sorting
from whoosh.query import And, Or, Term

from marketplace.search import docsets, matching
from marketplace.search.documents import organisation_document, tender_document
from marketplace.search.index import apply_batch, build_index, open_index
from marketplace.search.query import _closest, count_by_kind, parse_user_query, search
from marketplace.search.schema import KINDS

WORDS = ["roof", "repair", "slate", "tile", "gutter", "school", "housing", "council", "paint",
         "window", "glazing", "boiler", "heating", "plumbing", "drain", "survey", "asbestos",
         "scaffold", "brick", "stone", "timber"]


def _org(i, rng):
    words = rng.choices(WORDS, k=rng.randint(5, 25))
    return {"id": i, "name": f"{rng.choice(WORDS).title()} Works {i}",
            "description": " ".join(words), "capabilities": rng.sample(WORDS, 2),
            "cpv_codes": [rng.choice(["45261000", "45000000", "45453000", "50720000"])]}


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    rng = random.Random(5)
    path = str(tmp_path_factory.mktemp("fast"))
    docs = [organisation_document(_org(i, rng)) for i in range(600)]
    docs += [tender_document({"id": i, "title": f"{rng.choice(WORDS)} works",
                              "description": " ".join(rng.choices(WORDS, k=12))})
             for i in range(150)]
    build_index(path, docs, procs=1)
    ix = open_index(path)
    # a second segment, and deletions in the first one
    changed = [organisation_document(dict(_org(i, rng), description="gutter happy customers "
                                          + " ".join(rng.choices(WORDS, k=8))))
               for i in range(0, 600, 7)]
    apply_batch(ix, changed, [f"org:{i}" for i in range(3, 600, 11)], check_versions=False)
    ix = open_index(path)
    with ix.searcher() as s:
        assert len(s.reader().leaf_readers()) == 2 and s.reader().has_deletions()
        assert s.doc_frequency("body", "gutter") > 300  # several 128-posting blocks
    return ix


def _facet_counts(s, q, allow=None):
    res = s.search(q, limit=1, filter=allow,
                   groupedby={"kind": sorting.FieldFacet("kind", maptype=sorting.Count)})
    return {k: v for k, v in res.groups("kind").items() if k in KINDS}


@pytest.mark.parametrize("text", ["gutter", "roof slate", "school OR boiler",
                                  "paint -window", '"roof repair"', "asbes*", "works",
                                  "nothingatall", "gutter nothingatall"])
def test_bitset_counts_equal_whoosh_facet_counts(ix, text):
    with ix.searcher() as s:
        q, _ = parse_user_query(s.schema, text)
        assert count_by_kind(s, q) == _facet_counts(s, q)
        allow = set(s.docs_for_query(Term("cpv", "4526")))
        assert count_by_kind(s, q, allow) == _facet_counts(s, q, allow)


def test_term_bits_leave_out_deleted_documents(ix):
    with ix.searcher() as s:
        bits = docsets.term_bits(s, "body", "gutter")
        assert bits.bit_count() == sum(1 for _ in s.docs_for_query(Term("body", "gutter")))
        assert docsets.query_bits(s, And([Term("body", "gutter"), Term("body", "happi")])) \
            == docsets.bits_of(s.docs_for_query(And([Term("body", "gutter"),
                                                    Term("body", "happi")])),
                               s.reader().doc_count_all())


def test_search_totals_come_from_exact_counts(ix):
    with ix.searcher() as s:
        page = search(s, "gutter")
        assert page.total == sum(1 for _ in s.docs_for_query(
            parse_user_query(s.schema, "gutter")[0]))
        assert page.counts_by_kind["organisation"] + page.counts_by_kind.get("tender", 0) \
            == page.total


def _scoring(s):
    return matching._scoring_searcher(s, matching.DEFAULT_WEIGHTS)


def test_bm25_collect_equals_whoosh_or_query(ix):
    with ix.searcher() as base:
        s = _scoring(base)
        assert isinstance(s.weighting, scoring.BM25F)
        terms = [Term("body", "slate", boost=1.0), Term("capabilities", "slate", boost=1.5),
                 Term("summary", "gutter", boost=0.7), Term("body", "asbesto", boost=0.4),
                 Term("cpv", "4526", boost=0.9)]
        allow = set(s.docs_for_query(Term("kind", "organisation")))
        acc = matching._bm25_collect(s, [(t.text, t) for t in terms], allow)
        whoosh = {h.docnum: h.score for h in s.search(Or(terms), limit=None, filter=allow,
                                                      optimize=False)}
        assert set(acc) == set(whoosh)
        for d, (score, _) in acc.items():
            assert score == pytest.approx(whoosh[d], rel=1e-9)


def test_probing_frequent_terms_equals_whoosh_scores(ix):
    with ix.searcher() as base:
        s = _scoring(base)
        cand = sorted(random.Random(1).sample(range(s.doc_count_all()), 120))
        cand = [d for d in cand if not s.reader().is_deleted(d)]
        subs = [(matching.KeyTerm("gutter", "gutter", 1.0, 1), Term("body", "gutter", boost=0.8)),
                (matching.KeyTerm("roof", "roof", 1.0, 1), Term("capabilities", "roof"))]
        docs = {d: [0.0, {}, set()] for d in cand}
        matching._score_on(s, docs, subs)
        for _, q in subs:
            expected = {h.docnum: h.score for h in s.search(q, limit=None, optimize=False)}
            for d in cand:
                docs[d][0] -= expected.get(d, 0.0)
        assert all(abs(v[0]) < 1e-9 for v in docs.values())
        assert any(v[2] for v in docs.values())


@pytest.mark.parametrize("typo", ["guter", "gutterr", "roff", "hosuing", "scafold", "zzzz",
                                  "brik", "paitn"])
def test_did_you_mean_equals_whoosh_corrector(ix, typo):
    with ix.searcher() as s:
        want = s.corrector("spell").suggest(typo, limit=1, maxdist=2, prefix=1)
        assert _closest(s.reader(), typo) == (want[0] if want else None)


def test_highlight_found_through_a_rewritten_stem(ix):
    with ix.searcher() as s:
        page = search(s, "happiness gutter")
        assert page.hits
        assert any("<mark>happy</mark>" in h.highlights.get("body", "") for h in page.hits)
