"""Search-page highlights with Whoosh's highlighter and a faster re-tokenizer.

Whoosh's ``Highlighter`` re-analyses each stored field of each hit to find the words that
match, running the analyzer's chain of generators per token: about half a millisecond a
field, most of a warm search page's time.  :class:`FastHighlighter` is that highlighter
with one change: when the field's analyzer is one :class:`bulk.FastAnalyzer` knows, the
tokens come from :func:`fast_tokens`, which gives the same token stream (text, positions,
characters, stop flags) from a regex pass and a per-token cache.  Fragments, their order
and the markup are Whoosh's own (``tests/search/test_highlighting.py`` compares both).
"""

from __future__ import annotations

from whoosh import highlight
from whoosh.analysis import CharsetFilter, LowercaseFilter, StemFilter, StopFilter, Token

from marketplace.search.bulk import FastAnalyzer

_ANALYZERS: dict[int, tuple[object, FastAnalyzer | None]] = {}
_MISSING = object()


def _fast(analyzer) -> FastAnalyzer | None:
    hit = _ANALYZERS.get(id(analyzer))
    if hit is None or hit[0] is not analyzer:
        try:
            fast = FastAnalyzer(analyzer)
        except ValueError:
            fast = None
        hit = _ANALYZERS[id(analyzer)] = (analyzer, fast)
    return hit[1]


def _token_text(fast: FastAnalyzer, token: str) -> tuple[str, bool]:
    """``(text, stopped)`` of one token as the chain leaves it with ``removestops=False``:
    a stopped token keeps going through the filters that do not look at the flag."""
    text, stopped = token, False
    for f in fast._filters:
        kind = type(f)
        if kind is LowercaseFilter:
            text = text.lower()
        elif kind is StopFilter:
            if not stopped and (len(text) < f.min or (f.max is not None and len(text) > f.max)
                                or text in f.stops):
                stopped = True
        elif kind is StemFilter:
            if not stopped and (not f.ignore or text not in f.ignore):
                text = f.stemfn(text)
        elif kind is CharsetFilter:
            text = text.translate(f.charmap)
    return text, stopped


def fast_tokens(fast: FastAnalyzer, text: str):
    """The tokens ``analyzer(text, positions=True, chars=True, mode="index",
    removestops=False)`` yields (one ``Token`` object, changed in place, as Whoosh does)."""
    cache = fast.__dict__.setdefault("_highlight_cache", {})
    t = Token(positions=True, chars=True, removestops=False, mode="index")
    t.boost = 1.0
    kept = None  # position of the previous kept token (the stop filter renumbers them)
    for i, m in enumerate(fast._finditer(text)):
        word = m.group(0)
        hit = cache.get(word, _MISSING)
        if hit is _MISSING:
            hit = cache[word] = _token_text(fast, word)
        t.text, t.stopped = hit
        if t.stopped or not fast._renumbers:
            t.pos = i
        else:
            kept = i if kept is None else kept + 1
            t.pos = kept
        t.startchar, t.endchar = m.start(), m.end()
        yield t


class FirstWinsScorer(highlight.BasicFragmentScorer):
    """Whoosh's fragment score, with ties going to the earlier fragment.

    Whoosh ranks fragments by ``(score, fragment)`` and fragments compare by ``id()``, so
    between equally good fragments the one shown depended on memory addresses.  The bonus
    is far below one boost and keeps every score above ``minscore`` where it was."""

    def __call__(self, f):
        return super().__call__(f) + (1_000_000 - min(f.startchar, 999_999)) * 1e-12


class FastHighlighter(highlight.Highlighter):
    """Whoosh's ``Highlighter`` (re-tokenizing path) with :func:`fast_tokens` and
    :class:`FirstWinsScorer` unless another scorer is given."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("scorer", FirstWinsScorer())
        super().__init__(*args, **kwargs)

    def highlight_hit(self, hitobj, fieldname, text=None, top=3, minscore=1):
        results = hitobj.results
        field = results.searcher.schema[fieldname]
        fast = _fast(field.analyzer)
        if fast is None or self.can_load_chars(results, fieldname):
            return super().highlight_hit(hitobj, fieldname, text=text, top=top,
                                         minscore=minscore)
        if text is None:
            if fieldname not in hitobj:
                raise KeyError(f"Field {fieldname!r} is not stored.")
            text = hitobj[fieldname]
        bterms = results.query_terms(expand=True, fieldname=fieldname)
        words = frozenset(field.from_bytes(term[1]) for term in bterms)
        tokens = highlight.set_matched_filter(fast_tokens(fast, text), words)
        tokens = self._merge_matched_tokens(tokens)
        fragments = self.fragmenter.fragment_tokens(text, tokens)
        fragments = highlight.top_fragments(fragments, top, self.scorer, self.order,
                                            minscore=minscore)
        return self.formatter.format(fragments)
