"""Sets of documents as bitsets, cached per index reader.

A bitset is a Python ``int`` whose bit ``d`` is set when document number
``d`` is in the set.  Union, intersection and counting (``int.bit_count``)
then run in C over ``doc_count / 8`` bytes -- microseconds at 100,000
documents -- instead of a Python loop over every posting, which is what a
Whoosh matcher does.  The search page uses them for its exact per-kind tab
counts: the words of a query are looked up once, and the counts of a query
that shares a word with an earlier one cost almost nothing.

Posting lists are read a block at a time (the Whoosh 3 codec keeps up to 128
document numbers per block as an array), not one posting at a time.
Deleted documents of a segment are taken out.

Caches hang off the top-level reader (a ``WeakKeyDictionary``): a searcher
refreshed after a commit has a new reader, hence fresh, correct sets.  At
most :data:`MAX_TERMS` term sets are kept per reader (least recently used
first out); at 100,000 documents one set is 12.5 KB, so the cache stays
under about 50 MB.

Field lengths and posting-block indexes (for probing long posting lists at a
few documents, :func:`probe`) are cached per *segment* reader: a segment's
postings and lengths never change (deletions are applied on top, and are
taken into account where postings are read).  Like a Whoosh searcher, these
caches are not thread-safe: use one reader per thread, as
``service.index_searcher`` does.
"""

from __future__ import annotations

import weakref
from bisect import bisect_left
from collections import OrderedDict, deque
from collections.abc import Iterable
from itertools import repeat

from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.query import And, AndNot, Or, Term

from marketplace.search import dense

MAX_TERMS = 4096
_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class _ReaderSets:
    def __init__(self) -> None:
        self.terms: OrderedDict = OrderedDict()
        self.named: dict = {}


def _sets(reader) -> _ReaderSets:
    entry = _CACHE.get(reader)
    if entry is None:
        entry = _CACHE[reader] = _ReaderSets()
    return entry


def bits_of(docnums: Iterable[int], size: int) -> int:
    """The bitset of ``docnums`` (each below ``size``).

    One byte per document is marked by ``map`` over ``bytearray.__setitem__`` (no Python
    bytecode per document), the bytes become the characters "0"/"1" and, reversed, a
    base-2 literal that ``int`` parses in linear time: about half the time of shifting and
    or-ing a bit per document in a loop."""
    flags = bytearray(size + 1)
    deque(map(flags.__setitem__, docnums, repeat(1)), maxlen=0)
    return int(flags.translate(_ZERO_ONE)[::-1], 2)


_ZERO_ONE = bytes.maketrans(b"\x00\x01", b"01")


def leaf_postings(leaf, fieldname: str, text, *, weights: bool = False):
    """Chunks of ``ids`` (or ``(ids, weights)``) of a term's postings in one segment
    (local document numbers, deleted documents left out), a block at a time, or all at once
    from the segment's flat arrays (:mod:`dense`) when it has them for the term."""
    flat = dense.postings(leaf, fieldname, text)
    if flat is not None:
        ids, ws = flat
        if leaf.has_deletions():
            pairs = [(d, w) for d, w in zip(ids, ws, strict=True) if not leaf.is_deleted(d)]
            ids, ws = [d for d, _ in pairs], [w for _, w in pairs]
        yield (ids, ws) if weights else ids
        return
    try:
        m = leaf.postings(fieldname, text)
    except Exception:  # the term is not in this segment
        return
    deleted = None
    if isinstance(m, FilterMatcher):
        deleted = m._ids if m._exclude else None
        keep = None if m._exclude else m._ids
        m = m.child
        if keep is not None:  # not produced by SegmentReader; be exact anyway
            deleted = {d for d in m.all_ids() if d not in keep}
        m.reset()
    if isinstance(m, W3LeafMatcher):
        while m.is_active():
            m.id()  # loads this block's ids
            ids = m._ids
            if weights:
                m.weight()
                ws = m._weights
            if deleted:
                pairs = [(d, w) for d, w in zip(ids, ws if weights else ids, strict=True)
                         if d not in deleted]
                ids = [d for d, _ in pairs]
                ws = [w for _, w in pairs]
            yield (ids, ws) if weights else ids
            m._next_block()
        return
    ids, ws = [], []
    while m.is_active():
        d = m.id()
        if not deleted or d not in deleted:
            ids.append(d)
            if weights:
                ws.append(m.weight())
        m.next()
    yield (ids, ws) if weights else ids


def term_bits(searcher, fieldname: str, text) -> int:
    """Bitset of the documents containing ``fieldname:text`` (cached)."""
    reader = searcher.reader()
    sets = _sets(reader)
    key = (fieldname, text)
    hit = sets.terms.get(key)
    if hit is not None:
        sets.terms.move_to_end(key)
        return hit
    size = reader.doc_count_all()
    docs: list[int] = []
    if reader.doc_frequency(fieldname, text):
        for leaf, offset in leaves(reader):
            for chunk in leaf_postings(leaf, fieldname, text):
                docs += [d + offset for d in chunk] if offset else chunk
    bits = bits_of(docs, size)
    sets.terms[key] = bits
    if len(sets.terms) > MAX_TERMS:
        sets.terms.popitem(last=False)
    return bits


def named_bits(searcher, key, docnums: Iterable[int]) -> int:
    """Bitset of a named set of documents (e.g. one kind), computed once per reader."""
    sets = _sets(searcher.reader())
    if key not in sets.named:
        sets.named[key] = bits_of(docnums, searcher.reader().doc_count_all())
    return sets.named[key]


def query_bits(searcher, q) -> int | None:
    """Bitset of the documents matching ``q``, for queries made of terms joined by
    AND / OR / AND NOT; ``None`` for anything else (phrases, prefixes, ranges...)."""
    if isinstance(q, Term):
        if q.fieldname not in searcher.schema:
            return 0
        return term_bits(searcher, q.fieldname, q.text)
    if isinstance(q, AndNot):
        a, b = query_bits(searcher, q.a), query_bits(searcher, q.b)
        return None if a is None or b is None else a & ~b
    if isinstance(q, And | Or) and type(q) in (And, Or):
        conj = isinstance(q, And)
        out = None
        for sub in q.subqueries:
            bits = query_bits(searcher, sub)
            if bits is None:
                return None
            out = bits if out is None else (out & bits if conj else out | bits)
            if conj and out == 0:
                return 0
        return out or 0
    return None


# ------------------------------------------------------------------ field lengths

_LENGTHS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def leaves(reader) -> list[tuple[object, int]]:
    """``[(segment reader, first document number)]`` of a (multi-segment) reader."""
    return reader.leaf_readers() if hasattr(reader, "leaf_readers") else [(reader, 0)]


def field_length_bytes(leaf, fieldname: str) -> bytes:
    """The length byte of ``fieldname`` for every document of one segment (Whoosh stores
    each document's field length as one byte, see ``whoosh.util.numeric.length_to_byte``),
    read in one piece and cached per segment reader."""
    per = _LENGTHS.get(leaf)
    if per is None:
        per = _LENGTHS[leaf] = {}
    raw = per.get(fieldname)
    if raw is None:
        n = leaf.doc_count_all()
        try:
            from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield

            col = leaf._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            raw = b"" if col is None else bytes(col._dbfile.get(col._basepos, col._count))
        except Exception:  # another codec: one document at a time
            from whoosh.util.numeric import length_to_byte

            raw = bytes(length_to_byte(leaf.doc_field_length(d, fieldname, 0) or 0)
                        for d in range(n))
        if len(raw) < n:
            raw += bytes(n - len(raw))
        per[fieldname] = raw
    return raw


def doc_frequency(searcher, fieldname: str, text) -> int:
    """``searcher.doc_frequency`` cached per reader (a term-table lookup reads and unpickles
    a small record every time; the matcher asks for the same few hundred terms over and
    over)."""
    sets = _sets(searcher.reader())
    per = sets.named.setdefault("df", {})
    key = (fieldname, text)
    n = per.get(key)
    if n is None:
        if len(per) > 200_000:
            per.clear()
        n = per[key] = searcher.doc_frequency(fieldname, text)
    return n


# ------------------------------------------------------------------ probing long posting lists

_BLOCKS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
MAX_BLOCK_INDEXES = 4096


def _block_index(leaf, fieldname: str, text):
    """``(matcher, [max ids], [offsets])`` of a term's posting blocks in one segment, cached
    per segment reader; ``None`` when the postings are not in Whoosh 3 blocks (short lists
    kept inline in the term table)."""
    per = _BLOCKS.get(leaf)
    if per is None:
        per = _BLOCKS[leaf] = OrderedDict()
    key = (fieldname, text)
    if key in per:
        per.move_to_end(key)
        return per[key]
    try:
        m = leaf.postings(fieldname, text)
    except Exception:
        m = None
    if isinstance(m, FilterMatcher):
        m = m.child
    entry = None
    if isinstance(m, W3LeafMatcher):
        m.reset()
        maxids, offsets = [], []
        pos = m._baseoffset
        while True:
            maxids.append(m._maxid)
            offsets.append(pos)
            if m._lastblock:
                break
            pos = m._nextoffset
            m._goto(pos)
        entry = (m, maxids, offsets)
    elif m is not None:
        ids, ws = [], []
        while m.is_active():
            ids.append(m.id())
            ws.append(m.weight())
            m.next()
        entry = (None, ids, ws)
    per[key] = entry
    if len(per) > MAX_BLOCK_INDEXES:
        per.popitem(last=False)
    return entry


def probe(leaf, fieldname: str, text, docnums: list[int]) -> dict[int, float]:
    """Term frequency of a term in each of ``docnums`` (sorted local document numbers) that
    contains it.  Only the posting blocks that can hold one of them are decoded, found by
    bisecting the cached block index: the cost no longer grows with the posting list (a
    ``skip_to`` walk reads every block header on the way)."""
    out: dict[int, float] = {}
    flat = dense.postings(leaf, fieldname, text)
    if flat is not None:
        ids, ws = flat
        n, j = len(ids), 0
        for d in docnums:
            j = bisect_left(ids, d, j)
            if j < n and ids[j] == d:
                out[d] = ws[j]
        return out
    entry = _block_index(leaf, fieldname, text)
    if entry is None or not docnums:
        return out
    m, a, b = entry
    if m is None:  # a short list held in memory: ids a, weights b
        pos = dict(zip(a, b, strict=True))
        for d in docnums:
            tf = pos.get(d)
            if tf is not None:
                out[d] = tf
        return out
    maxids, offsets = a, b
    i = 0
    n = len(docnums)
    while i < n:
        blk = bisect_left(maxids, docnums[i])
        if blk >= len(maxids):
            break
        m._goto(offsets[blk])
        m._read_ids()
        m._read_weights()
        ids, ws = m._ids, m._weights
        top = maxids[blk]
        j = 0
        while i < n and docnums[i] <= top:
            d = docnums[i]
            j = bisect_left(ids, d, j)
            if j < len(ids) and ids[j] == d:
                out[d] = ws[j]
            i += 1
    return out
