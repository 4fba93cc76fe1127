import pytest
from helpers import build
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marketplace.search.query import MAX_QUERY_CHARS, clean_text, parse_user_query, search
from marketplace.search.schema import build_schema


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    return build(tmp_path_factory.mktemp("q"), tenders=[
        {"id": 7, "title": "公開投標 學校屋頂維修工程", "description": "Roof repairs at a school"},
        {"id": 8, "title": "Grounds maintenance", "description": "Parks and verges",
         "status": "closed"}])


def ids(page):
    return [h.doc_id for h in page.hits]


def test_stemming_finds_other_word_forms(ix):
    with ix.searcher() as s:
        assert "org:1" in ids(search(s, "roofs repaired"))
        assert "org:4" in ids(search(s, "developing websites"))


def test_phrase_query(ix):
    with ix.searcher() as s:
        got = ids(search(s, '"flat roofs"'))
        assert got == ["org:3"]
        assert search(s, '"gutters flat"').total == 0


def test_prefix_query(ix):
    with ix.searcher() as s:
        got = ids(search(s, "landsc*"))
        assert got == ["org:6"]


def test_leading_wildcard_is_rewritten_not_scanned(ix):
    with ix.searcher() as s:
        page = search(s, "*roofing")
        assert "org:1" in ids(page)
        q, _ = parse_user_query(s.schema, "*")
        assert q is None
        q, notes = parse_user_query(s.schema, "title:?oof r*")
        assert "wildcard-rewritten" in notes
        assert "Wildcard" not in repr(q) and "Prefix" not in repr(q)
        for text in ("*", "?", "**", "*?*", "title:*", "a*"):
            search(s, text)  # must not raise


def test_kind_filter_and_counts(ix):
    with ix.searcher() as s:
        page = search(s, "roof")
        assert page.counts_by_kind.get("organisation", 0) >= 2
        assert page.counts_by_kind.get("tender") == 1
        only = search(s, "roof", kind="tender")
        assert ids(only) == ["tender:7"] and only.total == 1
        assert search(s, "roof", filters={"town": "Plymouth"}).hits[0].doc_id == "org:3"
        near = search(s, "roof", filters={"near": (53.8, -1.55, 20)})
        assert "org:3" not in ids(near) and "org:1" in ids(near)
        assert ids(search(s, "roof", filters={"cpv": "4526"}))[:1] in (["org:1"], ["org:3"])
        assert ids(search(s, "roof", filters={"certs": ["ISO 9001"]})) == ["org:1"]


def test_highlights_only_for_page_and_escaped(ix):
    with ix.searcher() as s:
        page = search(s, "roofing", pagelen=1)
        assert len(page.hits) == 1 and page.total >= 2 and page.pages >= 2
        hl = " ".join(page.hits[0].highlights.values())
        assert "<mark>roofing</mark>" in hl.lower()
        assert "class=" not in hl


def test_highlights_are_escaped(tmp_path):
    ix = build(tmp_path, orgs=[{"id": 1, "name": "Fish & Chips", "description":
                                "<script>alert(1)</script> fish and chips van"}])
    with ix.searcher() as s:
        hl = " ".join(search(s, "chips").hits[0].highlights.values())
    assert "<script>" not in hl and "script&gt;" in hl and "<mark>" in hl


def test_cjk_word_and_literal_phrase(ix):
    with ix.searcher() as s:
        assert set(ids(search(s, "投標"))) == {"org:5", "tender:7"}
        assert ids(search(s, "學校屋頂維修")) == ["tender:7"]
        assert ids(search(s, "公開投標的建築工程")) == ["org:5"]
        assert search(s, "投校").total == 0
        assert ids(search(s, "投標 school")) == ["tender:7"]


def test_did_you_mean(ix):
    with ix.searcher() as s:
        page = search(s, "landscapping")
        assert page.did_you_mean == "landscaping"
        assert search(s, "roofing").did_you_mean is None


def test_length_cap_and_control_chars():
    long = "roof " * 200
    assert len(clean_text(long)) <= MAX_QUERY_CHARS
    assert "\x00" not in clean_text("a\x00b")


def test_relaxed_or_when_and_finds_nothing(ix):
    with ix.searcher() as s:
        page = search(s, "roofing quantumwidgets")
        assert page.relaxed and "org:1" in ids(page)


@pytest.mark.parametrize("text", [
    '"', '""', "(", ")", "((", "AND", "OR NOT", "title:", ":", "foo:bar:baz", "[a TO",
    "{", "a~", "a~~2", "^", "a^x", "-", "+", "\\", "'", '"unclosed phrase', "cpv_labels:\"a b\"",
    "doc_id:\"x y\"", "kind:\"a b\"", "lat:[1 TO", "lat:>abc", "\x00\x01", "*:*", "NOT",
    "a AND (b OR", "title:(roof", "<>", "~", "%", "​", "\u202e", "🙂", "ǅ", "ÿ" * 500])
def test_malformed_queries_never_raise(ix, text):
    with ix.searcher() as s:
        page = search(s, text)
        assert page.total >= 0


_schema = build_schema()


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_text_never_raises(ix, text):
    parse_user_query(_schema, text)
    with ix.searcher() as s:
        page = search(s, text, page=2, pagelen=3)
        assert page.total >= 0


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from([*'ab *?~^"():[]{}-+!/\\', "AND", "OR", "NOT", "title:",
                                 "投標", "roof"]), max_size=25).map("".join))
def test_syntax_soup_never_raises(ix, text):
    with ix.searcher() as s:
        search(s, text, kind="organisation")
