"""The search box's combined ``text`` field: the same matches as the separate fields, one
posting list per word, and highlights still drawn from the stored fields."""

import pytest
from helpers import ORGS, build
from whoosh.query import Or, Term

from marketplace.search.analysis import analyze
from marketplace.search.query import parse_user_query, search
from marketplace.search.schema import SEARCH_TEXT_FIELD, TEXT_FIELD_BOOSTS


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    return build(tmp_path_factory.mktemp("combined"), tenders=[
        {"id": 8, "title": "Grounds maintenance", "description": "Parks and verges"}])


def ids(page):
    return {h.doc_id for h in page.hits}


def test_search_box_reads_one_field(ix):
    with ix.searcher() as s:
        q, _ = parse_user_query(s.schema, "roof repairs")
    assert {t[0] for t in q.all_terms()} == {SEARCH_TEXT_FIELD}
    assert len(q.all_terms()) == 2


WORDS = ["roof", "slate", "gutters", "leadwork", "school", "construction", "websites",
         "software", "landscaping", "tree", "parks", "maintenance", "councils", "housing",
         "grounds", "verges", "accessible", "extensions"]


@pytest.mark.parametrize("word", WORDS)
def test_same_documents_as_the_separate_fields(ix, word):
    stem = analyze(word)[0]
    with ix.searcher() as s:
        combined = set(s.docs_for_query(Term(SEARCH_TEXT_FIELD, stem)))
        separate = set(s.docs_for_query(Or([Term(f, stem) for f in TEXT_FIELD_BOOSTS])))
        assert combined == separate
        assert search(s, word).total == len(separate)


def test_title_outranks_the_same_word_in_the_body(tmp_path):
    orgs = [{"id": 1, "name": "Acme Services", "description": "We do scaffolding too."},
            {"id": 2, "name": "Scaffolding Direct", "description": "We do hire as well."}]
    with build(tmp_path, orgs=orgs).searcher() as s:
        assert [h.doc_id for h in search(s, "scaffolding").hits] == ["org:2", "org:1"]


def test_highlights_come_from_each_stored_field(ix):
    with ix.searcher() as s:
        page = search(s, "pixel software")
        assert [h.doc_id for h in page.hits] == ["org:4"]
        hl = page.hits[0].highlights
        assert "<mark>pixel</mark>" in hl["title"].lower()
        assert "<mark>software</mark>" in hl["body"].lower()
        # a prefix and a phrase: expanded/split over the stored fields too
        hl = search(s, "landsc*").hits[0].highlights
        assert "<mark>landscaping</mark>" in hl["body"].lower()
        hl = search(s, '"flat roofs"').hits[0].highlights
        assert "<mark>flat</mark>" in hl["body"].lower()


def test_field_syntax_still_searches_one_field(ix):
    with ix.searcher() as s:
        assert ids(search(s, "title:roof")) == {"org:1", "org:3"}
        assert ids(search(s, "roof")) >= {"org:1", "org:3"}
        # a phrase on a field without positions falls back to the plain words
        page = search(s, 'body:"flat roofs"')
        assert "org:3" in ids(page)


def test_text_of_every_field_is_searchable(ix):
    org = ORGS[3]  # Pixel Forge: words only in capabilities and in the CPV labels
    with ix.searcher() as s:
        assert "org:4" in ids(search(s, org["capabilities"][0]))


ANDS = ["roof repairs", "slate roofing gutters", "roof schools", "web design councils",
        "leeds roofing", "grounds maintenance parks", "roof slate", "housing construction",
        "roof pixel"]


def _direct(query_mod, s, q, allow):
    return query_mod._direct_and(s, q, allow, 1, 20) or query_mod._direct_term(
        s, q, allow, 1, 20)


@pytest.mark.parametrize("text", [*ANDS, *WORDS[:8]])
@pytest.mark.parametrize("kind", [None, "organisation", "tender"])
def test_direct_and_scores_and_orders_as_whoosh(ix, monkeypatch, text, kind):
    from marketplace.search import query as query_mod

    with ix.searcher() as s:
        q, _ = parse_user_query(s.schema, text)
        allow = query_mod._combined_filter(s, kind, None)
        direct = _direct(query_mod, s, q, allow)
        assert direct is not None
        got = [(h.docnum, h.score) for h in direct]
        want = [(h.docnum, h.score) for h in s.search(q, limit=20, filter=allow)]
        assert [d for d, _ in got] == [d for d, _ in want]
        assert [round(x, 9) for _, x in got] == [round(x, 9) for _, x in want]
        page = search(s, text, kind=kind)
        monkeypatch.setattr(query_mod, "DIRECT_AND_MAX", -1)  # Whoosh's own search
        monkeypatch.setattr(query_mod, "DIRECT_TERM_MAX", -1)
        assert _direct(query_mod, s, q, allow) is None
        slow = search(s, text, kind=kind)
        assert [h.doc_id for h in page.hits] == [h.doc_id for h in slow.hits]
        assert (page.total, page.relaxed, page.counts_by_kind) == (
            slow.total, slow.relaxed, slow.counts_by_kind)
        assert [h.highlights for h in page.hits] == [h.highlights for h in slow.hits]


def test_direct_and_leaves_other_shapes_to_whoosh(ix):
    from marketplace.search import query as query_mod

    with ix.searcher() as s:
        for text in ('"flat roofs" slate', "roof*", "title:roof slate", "roof OR slate",
                     "title:roof", '"flat roofs"'):
            q, _ = parse_user_query(s.schema, text)
            assert _direct(query_mod, s, q, None) is None, text


def test_direct_and_over_segments_and_deletions(tmp_path):
    from marketplace.search import query as query_mod
    from marketplace.search.documents import organisation_document
    from marketplace.search.index import apply_batch, open_index

    ix = build(tmp_path)
    more = [dict(o, id=o["id"] + 100) for o in ORGS]
    apply_batch(ix, [organisation_document(o) for o in more], ["org:1", "org:103"])
    ix = open_index(str(tmp_path))
    with ix.searcher() as s:
        assert len(s.reader().leaf_readers()) == 2
        for text in [*ANDS, *WORDS]:
            q, _ = parse_user_query(s.schema, text)
            direct = _direct(query_mod, s, q, None)
            got = [(h["doc_id"], round(h.score, 9)) for h in direct]
            want = [(h["doc_id"], round(h.score, 9)) for h in s.search(q, limit=20)]
            assert got == want, text
            assert "org:1" not in {d for d, _ in got}
