"""BM25F for Whoosh's own matchers, with field lengths read from memory.

Whoosh's ``BM25FScorer`` looks each scored document's field length up in the segment's
length column on disk, one Python call chain per posting: for a word in 10,000 of
100,000 documents that is half of the search's time.  :class:`CachedLengthBM25F` gives
the same scorers (same formula, idf, average length, block-quality skipping) with
``dfl`` reading the segment's length bytes cached by :func:`docsets.field_length_bytes`.
Scores are identical to ``BM25F``'s (``tests/search/test_fast_paths.py``).
"""

from __future__ import annotations

from whoosh.scoring import BM25F, BM25FScorer
from whoosh.util.numeric import byte_to_length

from marketplace.search import docsets

#: Field length per length byte; 0 (no length recorded) reads as 1, Whoosh's default.
LENGTH_OF_BYTE = [1] + [byte_to_length(b) for b in range(1, 256)]


class CachedLengthBM25F(BM25F):
    """``BM25F`` whose per-document field lengths come from the cached length bytes."""

    def scorer(self, searcher, fieldname, text, qf=1):
        scorer = super().scorer(searcher, fieldname, text, qf=qf)
        if type(scorer) is BM25FScorer and hasattr(scorer, "dfl"):
            raw, table = docsets.field_length_bytes(searcher.reader(), fieldname), LENGTH_OF_BYTE
            scorer.dfl = lambda docnum: table[raw[docnum]]
        return scorer


_FAST: dict[int, tuple[object, CachedLengthBM25F]] = {}


def cached_lengths(weighting):
    """The :class:`CachedLengthBM25F` with ``weighting``'s parameters, or ``weighting``
    itself when it is not a plain ``BM25F``."""
    if type(weighting) is not BM25F:
        return weighting
    hit = _FAST.get(id(weighting))
    if hit is None or hit[0] is not weighting:
        fast = CachedLengthBM25F.__new__(CachedLengthBM25F)
        fast.__dict__.update(weighting.__dict__)
        hit = _FAST[id(weighting)] = (weighting, fast)
    return hit[1]
