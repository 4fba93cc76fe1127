"""Frequent terms' postings as flat arrays, written beside a segment by full builds.

Whoosh keeps a posting list in blocks of 128 postings, each block a zlib-compressed pickle
of document numbers, weights and (for the search box's field) positions.  Reading a word in
30,000 documents decodes some 240 blocks, 40-80 ms at 100,000 documents, every time a
searcher meets the word anew (its bitset, its block index, Whoosh's own scoring).  A full
build (:mod:`bulk`) therefore also writes, for every term in at least :data:`MIN_DF`
documents of the segment, its document numbers (``uint32``) and weights (the values the
blocks hold) as two flat arrays into ``<segment>.dense``; reading one is a
``pread`` and two ``frombytes``.

The file belongs to its segment: it is named like the segment's own files, so Whoosh
deletes it with the segment.  Segments written by Whoosh's writer (the indexer's small
batches, merges) have none, and callers fall back to the blocks.  Deleted documents are
*not* taken out here; callers filter them, as they do for blocks.

Layout: ``MAGIC``, then per term the ids and the weights (``uint8`` when all are whole
numbers below 256, as term frequencies are, else ``float32``), then a JSON table
``[[fieldname, term bytes in hex, offset, count, weight typecode]...]`` and its offset as
8 bytes (little-endian).
Arrays are in the machine's byte order: an index is built on the host that serves it.
"""

from __future__ import annotations

import json
import os
import struct
import weakref
from array import array
from collections import OrderedDict

EXT = ".dense"
MAGIC = b"GUILD-DENSE-1\n"
#: Terms in at least this many documents of a segment get flat arrays (one full block):
#: matching's rarer key terms are read most, and each block costs ~0.1 ms to decode.
MIN_DF = 128
#: Postings kept decoded per segment reader (ids and weights: 8 bytes each).
CACHE_POSTINGS = 4_000_000

_TAIL = struct.Struct("<Q")


class DenseWriter:
    """Writes ``<segment>.dense`` (see the module's docstring); ``add`` in any order."""

    def __init__(self, f) -> None:
        self._f = f
        self._f.write(MAGIC)
        self._pos = len(MAGIC)
        self._index: dict[tuple[str, bytes], tuple[int, int]] = {}

    def add(self, fieldname: str, tbytes: bytes, ids: array, weights) -> None:
        if ids.itemsize != 4:
            raise ValueError("document numbers must be uint32")
        # weights are term frequencies in all text fields: one byte each when they fit
        small = all(0 <= w < 256 and w == int(w) for w in weights)
        typecode = "B" if small else "f"
        data = ids.tobytes() + array(typecode, [int(w) for w in weights] if small
                                     else weights).tobytes()
        self._index[(fieldname, tbytes)] = (self._pos, len(ids), typecode)
        self._f.write(data)
        self._pos += len(data)

    def close(self) -> None:
        table = [[f, t.hex(), pos, n, code] for (f, t), (pos, n, code) in self._index.items()]
        self._f.write(json.dumps(table).encode("ascii"))
        self._f.write(_TAIL.pack(self._pos))
        self._f.close()


class _Reader:
    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDONLY)
        size = os.fstat(self._fd).st_size
        if os.pread(self._fd, len(MAGIC), 0) != MAGIC:
            raise ValueError(f"{path} is not a dense postings file")
        (start,) = _TAIL.unpack(os.pread(self._fd, _TAIL.size, size - _TAIL.size))
        table = json.loads(os.pread(self._fd, size - _TAIL.size - start, start))
        self.index = {(f, bytes.fromhex(t)): (pos, n, code) for f, t, pos, n, code in table}
        self._cache: OrderedDict = OrderedDict()
        self._cached = 0
        weakref.finalize(self, os.close, self._fd)

    def get(self, key) -> tuple[array, array] | None:
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        where = self.index.get(key)
        if where is None:
            return None
        offset, n, code = where
        ids, weights = array("I"), array(code)
        raw = os.pread(self._fd, (4 + weights.itemsize) * n, offset)
        ids.frombytes(raw[:4 * n])
        weights.frombytes(raw[4 * n:])
        if code != "f":  # the blocks hold float weights; so do callers' sums
            weights = array("f", weights)
        self._cache[key] = hit = (ids, weights)
        self._cached += n
        while self._cached > CACHE_POSTINGS and len(self._cache) > 1:
            _, (old, _) = self._cache.popitem(last=False)
            self._cached -= len(old)
        return hit


_READERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _reader(leaf) -> _Reader | None:
    try:
        return _READERS[leaf]
    except KeyError:
        pass
    except TypeError:  # not weak-referenceable: not a segment reader
        return None
    found = None
    segment, storage = getattr(leaf, "_segment", None), getattr(leaf, "_storage", None)
    folder = getattr(storage, "folder", None)
    if segment is not None and folder:
        path = os.path.join(folder, segment.make_filename(EXT))
        if os.path.exists(path):
            found = _Reader(path)
    _READERS[leaf] = found
    return found


def postings(leaf, fieldname: str, text) -> tuple[array, array] | None:
    """``(document numbers, weights)`` of a frequent term in one segment (local numbers,
    deleted documents included), or ``None`` when the segment has no flat arrays for it."""
    reader = _reader(leaf)
    if reader is None:
        return None
    if isinstance(text, str):
        text = leaf.schema[fieldname].to_bytes(text)
    return reader.get((fieldname, text))
