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

from marketplace.search import dense, docsets, matching
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


@pytest.fixture(scope="module", params=["blocks", "flat arrays"])
def ix(tmp_path_factory, request):
    """The index, read from Whoosh's posting blocks or, for terms in 64+ documents of the
    first segment, from the flat arrays full builds write (``dense``)."""
    rng = random.Random(5)
    path = str(tmp_path_factory.mktemp("fast"))
    docs = [organisation_document(_org(i, rng)) for i in range(600)]
    docs += [tender_document({"id": i, "title": f"{rng.choice(WORDS)} works",
                              "description": " ".join(rng.choices(WORDS, k=12))})
             for i in range(150)]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dense, "MIN_DF", 64 if request.param == "flat arrays" else 10**9)
        build_index(path, docs, procs=1)
    ix = open_index(path)
    with ix.searcher() as s:
        flat = dense.postings(s.reader().leaf_readers()[0][0], "body", "gutter")
        assert (flat is not None) == (request.param == "flat arrays")
    # a second segment, and deletions in the first one
    changed = [organisation_document(dict(_org(i, rng), description="gutter happy customers "
                                          + " ".join(rng.choices(WORDS, k=8))))
               for i in range(0, 600, 7)]
    apply_batch(ix, changed, [f"org:{i}" for i in range(3, 600, 11)], check_versions=False)
    ix = open_index(path)
    with ix.searcher() as s:
        assert len(s.reader().leaf_readers()) == 2 and s.reader().has_deletions()
        assert s.doc_frequency("body", "gutter") > 300  # several 128-posting blocks
    ix.flat_arrays = flat is not None
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


def test_flat_arrays_hold_the_blocks_postings(ix):
    with ix.searcher() as s:
        leaf = s.reader().leaf_readers()[0][0]
        found = 0
        for fieldname, text in leaf.all_terms():
            flat = dense.postings(leaf, fieldname, text)
            if flat is None:
                continue
            found += 1
            m = leaf.postings(fieldname, text)  # live documents only
            blocks = []
            while m.is_active():
                blocks.append((m.id(), m.weight()))
                m.next()
            assert [(d, w) for d, w in zip(*flat, strict=True)
                    if not leaf.is_deleted(d)] == blocks
            assert len(flat[0]) >= 64
        assert (found > 20) if ix.flat_arrays else (found == 0)


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
        assert set(acc.scores) == set(whoosh)
        for d, score in acc.scores.items():
            assert score == pytest.approx(whoosh[d], rel=1e-9)
            assert acc.words(d) == {t.text for t in terms
                                    if d in set(s.docs_for_query(t)) and d in allow}


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


@pytest.mark.parametrize("text", ["gutter", "roof OR slate OR school", '"roof repair"',
                                  "gutter roof", "asbes*"])
def test_cached_length_scorer_equals_whoosh_bm25f(ix, text):
    from marketplace.search.scoring import CachedLengthBM25F, cached_lengths

    with ix.searcher() as s:
        q, _ = parse_user_query(s.schema, text, conjunctive=False)
        fast = cached_lengths(s.weighting)
        assert type(fast) is CachedLengthBM25F and fast.B == s.weighting.B
        for limit in (None, 10):  # 10: Whoosh skips blocks by their best possible score
            expected = [(h.docnum, h.score) for h in s.search(q, limit=limit)]
            collector = s.collector(limit=limit)
            s.search_with_collector(q, collector, context=s.context(weighting=fast))
            got = [(h.docnum, h.score) for h in collector.results()]
            assert got == expected and got
        leaf = s.leaf_searchers()[0][0]  # scorers are made per segment
        scorer = fast.scorer(leaf, "text", "gutter")
        assert scorer.dfl.__qualname__.startswith("CachedLengthBM25F")
        assert [scorer.dfl(d) for d in range(50)] == [
            leaf.doc_field_length(d, "text", 1) or 1 for d in range(50)]


ORS = ["gutter happy", "roof slate tile", "happy nothingatall", "boiler nothingatall gutter",
       "customers stone", "timber scaffold brick stone survey"]


@pytest.mark.parametrize("text", ORS)
@pytest.mark.parametrize("kind", [None, "organisation"])
def test_direct_or_scores_and_orders_as_whoosh(ix, monkeypatch, text, kind):
    from marketplace.search import query as query_mod

    with ix.searcher() as s:
        q, _ = parse_user_query(s.schema, text, conjunctive=False)
        assert type(q) is Or and q.scale == 0.9
        allow = query_mod._combined_filter(s, kind, None)
        direct = query_mod._direct_or(s, q, allow, 1, 20)
        got = [(h.docnum, round(h.score, 9)) for h in direct]
        want = [(h.docnum, round(h.score, 9)) for h in s.search(q, limit=20, filter=allow)]
        assert got == want and got
        assert direct.results.scored_length() == len(want)
        monkeypatch.setattr(query_mod, "DIRECT_OR_MAX", -1)
        assert query_mod._direct_or(s, q, allow, 1, 20) is None


def test_direct_or_counts_the_words_each_segment_has(ix):
    # "happy" is only in the second segment: there a document with "gutter" alone gets the
    # two-word coordination, in the first the one-word one (which zeroes every score)
    from marketplace.search import query as query_mod

    with ix.searcher() as s:
        leaves = s.reader().leaf_readers()
        assert ("text", "happi") not in leaves[0][0] and ("text", "happi") in leaves[1][0]
        q, _ = parse_user_query(s.schema, "gutter happy", conjunctive=False)
        page = query_mod._direct_or(s, q, None, 1, 1000)
        first_end = leaves[1][1]
        scores = {h.docnum: h.score for h in page}
        assert {round(v, 9) for d, v in scores.items() if d < first_end} == {0.0}
        assert all(v > 0 for d, v in scores.items() if d >= first_end)


def test_bm25_collect_with_every_document_allowed_filters_nothing(ix):
    with ix.searcher() as s:
        terms = [("gutter", Term("body", "gutter")), ("slate", Term("body", "slate"))]
        everything = set(range(s.doc_count_all()))
        assert matching._bm25_collect(s, terms, everything).scores == \
            matching._bm25_collect(s, terms, None).scores
        some = set(range(0, s.doc_count_all(), 2))
        assert set(matching._bm25_collect(s, terms, some).scores) <= some
