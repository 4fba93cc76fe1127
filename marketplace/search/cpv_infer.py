"""Guess likely CPV codes for a text from the CPV label vocabulary.

Used when a tender (or a profile) comes without CPV codes.  The 9,454 English
labels are a small in-memory collection; a text is scored against each label
with BM25 over stemmed words (same analyzer as the index), and the best codes
are turned into a weight per prefix (division, group, class) - see
:func:`prefix_weights`.  This is the "vocabulary" half of CPV inference; the
other half (codes of the firms whose text matches best) lives in
:mod:`marketplace.search.matching`.
"""

from __future__ import annotations

import functools
import math
from collections import Counter, defaultdict

from marketplace.search import cpv
from marketplace.search.analysis import analyze

K1 = 1.2
B = 0.5


class LabelIndex:
    """Inverted index over CPV labels: term -> [(code8, tf)]."""

    def __init__(self) -> None:
        vocab = cpv.load()
        self.postings: dict[str, list[tuple[str, int]]] = defaultdict(list)
        self.length: dict[str, int] = {}
        for code8, label in vocab.labels.items():
            terms = Counter(analyze(label))
            self.length[code8] = sum(terms.values()) or 1
            for t, n in terms.items():
                self.postings[t].append((code8, n))
        self.n = len(self.length)
        self.avglen = sum(self.length.values()) / max(1, self.n)

    def idf(self, term: str) -> float:
        df = len(self.postings.get(term, ()))
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5)) if df else 0.0

    def score(self, weighted_terms: dict[str, float], top: int = 10) -> list[tuple[str, float]]:
        """Best codes for ``{term: query weight}``, as ``[(code8, score)]``."""
        acc: dict[str, float] = defaultdict(float)
        for t, qw in weighted_terms.items():
            plist = self.postings.get(t)
            if not plist:
                continue
            idf = self.idf(t)
            for code8, tf in plist:
                norm = K1 * (1 - B + B * self.length[code8] / self.avglen)
                acc[code8] += qw * idf * tf * (K1 + 1) / (tf + norm)
        return sorted(acc.items(), key=lambda kv: (-kv[1], kv[0]))[:top]


@functools.lru_cache(maxsize=1)
def label_index() -> LabelIndex:
    """The label index, built once per process (about 0.3 s)."""
    return LabelIndex()


def prefix_weights(scored_codes: list[tuple[str, float]], *, sharpness: float = 1.0
                   ) -> dict[str, float]:
    """Spread code scores onto their division/group/class prefixes.

    Each code's share is ``score**sharpness / sum``; a prefix's weight is the
    sum of the shares of the codes below it, so weights are in [0, 1] and a
    division's weight is at least that of any group inside it.
    """
    if not scored_codes:
        return {}
    vals = [max(s, 0.0) ** sharpness for _, s in scored_codes]
    total = sum(vals) or 1.0
    out: dict[str, float] = defaultdict(float)
    for (code8, _), v in zip(scored_codes, vals, strict=True):
        p = cpv.prefix(code8)
        for n in (2, 3, 4):
            if len(p) >= n:
                out[p[:n]] += v / total
    return dict(out)


def guess(weighted_terms: dict[str, float], top: int = 8) -> dict[str, float]:
    """Prefix weights guessed from the label vocabulary for stemmed terms."""
    return prefix_weights(label_index().score(weighted_terms, top=top))
