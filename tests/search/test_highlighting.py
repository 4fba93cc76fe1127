"""FastHighlighter gives Whoosh's highlights, from a faster token stream."""

import pytest
from helpers import AWKWARD_WORDS, ORGS, build
from hypothesis import given, settings
from hypothesis import strategies as st
from whoosh import highlight
from whoosh.analysis import StemmingAnalyzer

from marketplace.search.analysis import cjk_analyzer, english_analyzer, simple_analyzer
from marketplace.search.highlighting import (
    FastHighlighter,
    FirstWinsScorer,
    _fast,
    fast_tokens,
)
from marketplace.search.query import MarkFormatter, parse_user_query

WORDS = AWKWARD_WORDS
TEXTS = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), max_size=40).map(
    lambda ws: " ".join(ws))


def _attrs(tokens):
    return [(t.text, t.pos, t.startchar, t.endchar, t.stopped, t.boost) for t in tokens]


@pytest.mark.parametrize("analyzer", [english_analyzer(), simple_analyzer(), StemmingAnalyzer()])
@settings(max_examples=150, deadline=None, derandomize=True)
@given(text=TEXTS)
def test_fast_tokens_are_the_analyzers_tokens(analyzer, text):
    expected = _attrs(analyzer(text, positions=True, chars=True, mode="index",
                               removestops=False))
    assert _attrs(fast_tokens(_fast(analyzer), text)) == expected


def test_analyzers_fast_tokens_do_not_know_are_left_to_whoosh():
    assert _fast(cjk_analyzer()) is None


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    path = tmp_path_factory.mktemp("hl")
    orgs = [dict(o, description=(o.get("description") or "") + " The roofing of the school, "
                 "roofs & <b>gutters</b>; the repairs of roofs. " * 3) for o in ORGS]
    return build(path, orgs=orgs)


@pytest.mark.parametrize("text", ["roof", "roofs repairs", "school", "gutters", "the roof",
                                  "build*", "leadwork slate", "landscaping"])
def test_fast_highlighter_equals_whooshs(ix, text):
    with ix.searcher() as s:
        q, _ = parse_user_query(s.schema, text, combined=False, conjunctive=False)
        results = s.search(q, limit=None)
        assert len(results)
        frag = highlight.ContextFragmenter(maxchars=200, surround=40)
        seen = 0
        for hit in results:
            for field in ("title", "summary", "body"):
                results.highlighter = highlight.Highlighter(
                    fragmenter=frag, formatter=MarkFormatter(), scorer=FirstWinsScorer())
                want = hit.highlights(field, top=2)
                results.highlighter = FastHighlighter(fragmenter=frag, formatter=MarkFormatter())
                assert hit.highlights(field, top=2) == want
                seen += bool(want)
        assert seen


def test_equally_good_fragments_go_to_the_first():
    frags = [highlight.Fragment("x" * 300, [], startchar=s, endchar=s + 10) for s in (200, 10)]
    for f in frags:
        f.matches = [highlight.Token(text="roof", boost=1.0)]
        f.matched_terms = {"roof"}
    scorer = FirstWinsScorer()
    best = highlight.top_fragments(frags, 1, scorer, highlight.FIRST)
    assert [f.startchar for f in best] == [10]
    assert scorer(frags[0]) >= 1 and round(scorer(frags[0]), 4) == 100.0
