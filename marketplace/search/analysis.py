"""Text analysis for the search index.

Two analyzers, one per family of fields:

``english_analyzer()``
    Whoosh's ``StemmingAnalyzer`` (regex words, lower case, English stop
    words, Porter stemming) with accent folding added, so that "Défense",
    "defence" and "DEFENSE" meet where they can and "tendering" finds
    "tenders".  Used on title, summary, body, capabilities and CPV labels.

``cjk_analyzer()``
    Character bigrams over runs of Han characters (plus kana and hangul),
    i.e. ``NgramTokenizer(2, 2)`` applied to each run, followed by
    ``LowercaseFilter``.  Whoosh's default tokenizer makes a whole Han run a
    single token, so "投標" would never find "公開投標".  With bigrams a query
    is cut the same way as the documents, so single words and literal
    phrases are found (phrases become phrase queries over consecutive
    bigrams, see :mod:`marketplace.search.query`).  A run of one character
    is indexed as that character.  Positions continue across runs with a
    gap, so a phrase cannot match across punctuation or Latin text.
    Used on the separate ``cjk`` field only; text without Han characters
    leaves it empty.

``simple_analyzer()``
    Lower-cased words without stemming: the vocabulary for "did you mean".

jieba is deliberately not used: it cuts text differently at index and query
time in its search mode, which loses literal phrases; the bigram field does
not have that problem.
"""

from __future__ import annotations

import re

from whoosh.analysis import (
    CharsetFilter,
    LowercaseFilter,
    NgramTokenizer,
    RegexTokenizer,
    StemmingAnalyzer,
    Token,
    Tokenizer,
)
from whoosh.support.charset import accent_map

#: Han ideographs (with extensions and compatibility forms), kana and hangul.
CJK_CHARS = (
    "\u3040-\u30ff"  # hiragana, katakana
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\uf900-\ufaff"  # compatibility ideographs
    "\uac00-\ud7af"  # hangul syllables
)
CJK_RUN = re.compile(f"[{CJK_CHARS}]+")


def has_cjk(text: str) -> bool:
    """True when the text contains at least one Han/kana/hangul character."""
    return bool(text) and CJK_RUN.search(text) is not None


def cjk_runs(text: str) -> list[str]:
    """The runs of CJK characters in ``text``, in order."""
    return CJK_RUN.findall(text or "")


class HanBigramTokenizer(Tokenizer):
    """``NgramTokenizer(2, 2)`` applied to each run of CJK characters.

    Everything outside the runs is ignored.  A one-character run yields the
    character itself.  Index and query time cut the text the same way.
    """

    def __init__(self) -> None:
        self._ngrams = NgramTokenizer(2, 2)

    def __eq__(self, other: object) -> bool:
        return other.__class__ is self.__class__

    def __hash__(self) -> int:
        return hash(self.__class__.__name__)

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, mode="", **kwargs):
        pos = start_pos
        for m in CJK_RUN.finditer(value):
            run = m.group(0)
            base = start_char + m.start()
            if len(run) == 1:
                t = Token(positions, chars, removestops=removestops, mode=mode)
                t.text = run
                t.stopped = False
                t.boost = 1.0
                if keeporiginal:
                    t.original = run
                if positions:
                    t.pos = pos
                if chars:
                    t.startchar, t.endchar = base, base + 1
                yield t
                pos += 2
                continue
            last = pos
            for t in self._ngrams(run, positions=positions, chars=chars,
                                  keeporiginal=keeporiginal, removestops=removestops,
                                  start_pos=pos, start_char=base, mode=mode):
                if positions:
                    last = t.pos
                yield t
            pos = (last if positions else pos + len(run)) + 2


def english_analyzer():
    """Stemming analyzer with accent folding (title, body, capabilities...)."""
    return StemmingAnalyzer() | CharsetFilter(accent_map)


def cjk_analyzer():
    """Character bigrams over CJK runs, lower-cased (the ``cjk`` field)."""
    return HanBigramTokenizer() | LowercaseFilter()


def simple_analyzer():
    """Lower-cased, accent-folded words, no stemming (spelling vocabulary)."""
    return RegexTokenizer(r"[^\W\d_]{3,}") | LowercaseFilter() | CharsetFilter(accent_map)


_ENGLISH = None


def analyze(text: str) -> list[str]:
    """Index terms of ``text`` as the English analyzer produces them."""
    global _ENGLISH
    if _ENGLISH is None:
        _ENGLISH = english_analyzer()
    return [t.text for t in _ENGLISH(text or "")]
