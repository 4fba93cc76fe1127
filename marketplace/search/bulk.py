"""Full builds of the search index, several times faster than Whoosh's own writer.

A rebuild writes every document once into fresh segments, so most of what Whoosh's
``SegmentWriter`` does per posting is wasted work there: it runs the analyzer's chain of
generators per token, pushes every posting through a temporary pool that it then sorts, looks
each posting's field length up again on disk and hands the postings to the codec one call at
a time.  :class:`BulkSegmentWriter` keeps the codec and the on-disk format and changes only
the route:

* text is analysed by :class:`FastAnalyzer`: the same regex, stop words, stemmer and accent
  folding as the field's analyzer (:mod:`analysis`), with each distinct token processed once
  per build and then looked up in a dict;
* postings go straight into per-term arrays in document order, so there is no pool to sort,
  and field lengths are kept in memory;
* each term's postings are written a block (128 postings) at a time into the codec's own
  postings writer;
* the postings of frequent terms are also written as flat arrays (:mod:`dense`), which the
  search reads instead of decoding hundreds of blocks.

The segment it writes is byte for byte the one Whoosh writes for the same documents, plus
the flat-arrays file (``tests/search/test_bulk_build.py`` compares every file of both).
Index-time boosts are refused (weights are derived from frequencies).  It is for new
segments only: the outbox indexer's small updates keep using Whoosh's writer
(:func:`index.apply_batch`).

:func:`write_segments` runs the build in ``procs`` worker processes (one segment each, more
if a worker's postings outgrow ``limitmb``) fed with batches of documents by the calling
process, which stays free to read them from the database.  The workers are spawned, not
forked (the caller may hold database connections and threads), so a script that builds a
large index must guard its top level with ``if __name__ == "__main__"``.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import re
import shutil
from array import array
from collections import Counter
from collections.abc import Iterable

from whoosh import formats
from whoosh.analysis import CharsetFilter, LowercaseFilter, RegexTokenizer, StemFilter, StopFilter
from whoosh.codec.whoosh3 import W3Codec
from whoosh.system import pack_uint
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from marketplace.search import dense

#: Documents per batch sent to a worker process.
BATCH = 500
#: Bytes of memory a posting costs in :class:`BulkSegmentWriter` (arrays and list slots), for
#: the ``limitmb`` estimate; a posting with positions counts as three.
POSTING_BYTES = 24
#: Seconds the parent waits for a worker before checking that it is still alive.
POLL = 1.0

_MISSING = object()
_SMALL_FREQS = [pack_uint(i) for i in range(256)]
_ONE = pack_uint(1)  # Positions.encode: the count, then the pickled position deltas
_ONE_LEN = len(_ONE)


class FastAnalyzer:
    """The terms a Whoosh analyzer gives, computed without its chain of generators.

    Knows a ``RegexTokenizer`` followed by any of ``LowercaseFilter``, ``StopFilter``,
    ``StemFilter`` and ``CharsetFilter`` (the English and the spelling analyzers of
    :mod:`analysis`), built from the analyzer's own settings; any other chain raises
    ``ValueError``, so the field is indexed the ordinary way instead.  Each distinct token is
    processed once and then looked up.
    """

    _KNOWN = (LowercaseFilter, StopFilter, StemFilter, CharsetFilter)

    def __init__(self, analyzer) -> None:
        items = [analyzer] if type(analyzer) is RegexTokenizer else list(
            getattr(analyzer, "items", ()))
        if not items or type(items[0]) is not RegexTokenizer or items[0].gaps:
            raise ValueError(f"FastAnalyzer does not know the analyzer {analyzer!r}")
        if any(type(f) not in self._KNOWN for f in items[1:]) or any(
                type(f) is StopFilter and not f.renumber for f in items[1:]):
            raise ValueError(f"FastAnalyzer does not know the filters of {analyzer!r}")
        regex = items[0].expression
        self._finditer = regex.finditer
        self._renumbers = any(type(f) is StopFilter for f in items[1:])
        if regex.groups == 0:
            self._findall = regex.findall
        elif regex.pattern == r"\w+(\.?\w+)*":  # Whoosh's default: the same, without a group
            self._findall = re.compile(r"\w+(?:\.?\w+)*", regex.flags).findall
        else:
            self._findall = lambda text: [m.group(0) for m in regex.finditer(text)]
        self._filters = items[1:]
        self._cache: dict[str, str | None] = {}

    def _term(self, token: str) -> str | None:
        """What the filters make of one token; ``None`` when a stop filter drops it."""
        text = token
        for f in self._filters:
            kind = type(f)
            if kind is LowercaseFilter:
                text = text.lower()
            elif kind is StopFilter:
                if len(text) < f.min or (f.max is not None and len(text) > f.max) \
                        or text in f.stops:
                    return None
            elif kind is StemFilter:
                if not f.ignore or text not in f.ignore:
                    text = f.stemfn(text)
            else:
                text = text.translate(f.charmap)
        return text

    def analyse(self, value: str) -> tuple[list[str], int]:
        """The terms of ``value`` and the position of the first one (Whoosh's stop filter
        keeps the first kept token's position and renumbers the rest after it)."""
        cache, out, first = self._cache, [], 0
        for i, token in enumerate(self._findall(value)):
            term = cache.get(token, _MISSING)
            if term is _MISSING:
                term = cache[token] = self._term(token)
            if term is not None:
                if not out:
                    first = i
                out.append(term)
        return out, first


class BulkSegmentWriter(SegmentWriter):
    """A ``SegmentWriter`` for new documents that keeps postings in memory per term.

    Text fields whose analyzer :class:`FastAnalyzer` knows (with frequencies or positions)
    are analysed by it; every other field is indexed by its own ``index`` method.  Fields
    with a separate spelling field or term vectors are refused (the schema has none).
    """

    def __init__(self, ix, **kwargs) -> None:
        super().__init__(ix, **kwargs)
        self._fast: dict[str, FastAnalyzer] = {}
        for name, field in self.schema.items():
            if field.separate_spelling() or field.vector:
                raise ValueError(f"BulkSegmentWriter cannot write field {name!r}")
            if type(field.format) in (formats.Frequency, formats.Positions):
                with contextlib.suppress(ValueError):  # else indexed by the field itself
                    self._fast[name] = FastAnalyzer(field.analyzer)
        # fieldname -> term bytes -> [docnums, weights, values]
        self._posts: dict[str, dict[bytes, list]] = {}
        # fieldname -> field length per document (as the codec reads it back), from docbase
        self._lengths: dict[str, array] = {}
        self._single_position: dict[int, bytes] = {}  # position -> pickled [position]
        self.memory = 0  # estimated bytes held, see POSTING_BYTES

    def _finish(self) -> None:
        # Whoosh's _finish deletes the shared "<index>.tmp" folder, which the other workers of
        # the same build still use; each writer removes its own files there, and
        # :func:`commit_segments` the folder.
        self.is_closed = True

    def _add_text(self, name: str, field, value: str, docnum: int) -> tuple[int, int]:
        """Index a text field through its FastAnalyzer; return (field length, postings added).

        Entries are keyed by the term as ``str`` and hold document numbers and frequencies
        (plus encoded positions for a phrase field); weights and values follow from the
        frequencies when the segment is written.
        """
        terms, first = self._fast[name].analyse(value)
        posts = self._posts.setdefault(name, {})
        if type(field.format) is formats.Frequency:
            counts = Counter(terms)
            for term, n in counts.items():
                entry = posts.get(term)
                if entry is None:
                    entry = posts[term] = (array("I"), array("I"))
                entry[0].append(docnum)
                entry[1].append(n)
            return len(terms), len(counts)
        poses: dict[str, list[int]] = {}
        for i, term in enumerate(terms, first):
            p = poses.get(term)
            if p is None:
                poses[term] = [i]
            else:
                p.append(i)
        encode, single = field.format.encode, self._single_position
        positions = type(field.format) is formats.Positions
        for term, p in poses.items():
            entry = posts.get(term)
            if entry is None:
                entry = posts[term] = (array("I"), array("I"), [])
            entry[0].append(docnum)
            entry[1].append(len(p))
            if positions and len(p) == 1:
                # most words occur once: the pickled [position] is cached, and the
                # concatenation makes a new bytes object each time, as encode() does (the
                # block pickle would refer back to a shared one instead of repeating it)
                tail = single.get(p[0])
                if tail is None:
                    tail = single[p[0]] = encode(p)[_ONE_LEN:]
                entry[2].append(_ONE + tail)
            else:
                entry[2].append(encode(p))
        return len(terms), 3 * len(poses)  # positions cost about two postings more each

    def _add_items(self, name: str, field, value, docnum: int) -> tuple[int, int]:
        """Index any field through its own ``index``; return (field length, postings)."""
        posts = self._posts.setdefault(name, {})
        length = count = 0
        for tbytes, freq, weight, vbytes in field.index(value):
            length += freq
            count += 1
            entry = posts.get(tbytes)
            if entry is None:
                entry = posts[tbytes] = (array("I"), array("d"), [])
            entry[0].append(docnum)
            entry[1].append(weight)
            entry[2].append(vbytes)
        return (length if field.scorable else 0), count

    def add_document(self, **fields) -> None:
        self._check_state()
        schema, perdocwriter, docnum = self.schema, self.perdocwriter, self.docnum
        names = sorted(n for n in fields if not n.startswith("_"))
        self._check_fields(schema, names)
        if any(n.endswith("_boost") for n in fields if n.startswith("_")):
            # weights are derived from frequencies when the segment is written
            raise ValueError("BulkSegmentWriter does not take index-time boosts")
        perdocwriter.start_doc(docnum)
        postings = 0
        for name in names:
            value = fields[name]
            if value is None:
                continue
            field = schema[name]
            length = 0
            if field.indexed:
                if name in self._fast and isinstance(value, str):
                    length, count = self._add_text(name, field, value, docnum)
                else:
                    length, count = self._add_items(name, field, value, docnum)
                postings += count
                if field.scorable:
                    lengths = self._lengths.setdefault(name, array("I"))
                    missing = docnum - self.docbase - len(lengths)
                    if missing:
                        lengths.extend([0] * missing)
                    lengths.append(_stored_length(length))
            stored = fields.get(f"_stored_{name}", value)
            perdocwriter.add_field(name, field, stored if field.stored else None, length)
            column = field.column_type
            if column and stored is not None:
                perdocwriter.add_column_value(name, column, field.to_column_value(stored))
        perdocwriter.finish_doc()
        self.memory += postings * POSTING_BYTES
        self._added = True
        self.docnum += 1

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        writer = self.fieldwriter
        docbase = self.docbase
        flat = dense.DenseWriter(self.newsegment.create_file(self.storage, dense.EXT))
        for name in sorted(n for n, posts in self._posts.items() if posts):
            field = self.schema[name]
            writer.start_field(name, field)
            lengths = self._lengths.get(name)
            posts = self._posts[name]
            fast = name in self._fast
            boost = field.format.field_boost
            for key in sorted(posts):
                entry = posts[key]
                if fast:  # (docs, freqs[, positions])
                    ids, freqs = entry[0], entry[1]
                    weights = [float(n) * boost for n in freqs]
                    values = entry[2] if len(entry) == 3 else [
                        _SMALL_FREQS[n] if n < 256 else pack_uint(n) for n in freqs]
                    key = key.encode("utf-8")
                else:
                    ids, weights, values = entry
                writer.start_term(key)
                _write_postings(writer._postwriter, ids, weights, values, lengths, docbase)
                writer.finish_term()
                if len(ids) >= dense.MIN_DF and docbase == 0:
                    flat.add(name, key, ids, weights)
            writer.finish_field()
            del self._posts[name]  # free each field's postings once written
        flat.close()
        writer.close()


_LENGTHS: dict[int, int] = {}


def _stored_length(length: int) -> int:
    """A field length as the codec reads it back (stored as one byte, so rounded)."""
    got = _LENGTHS.get(length)
    if got is None:
        got = _LENGTHS[length] = byte_to_length(length_to_byte(length)) if length else 0
    return got


def commit_segments(ix, segments: list) -> None:
    """Make ``segments`` the index's segments (a new TOC generation) and tidy up."""
    from whoosh.index import TOC

    TOC(ix.schema, segments, ix.latest_generation() + 1).write(ix.storage, ix.indexname)
    shutil.rmtree(os.path.join(ix.storage.folder, f"{ix.indexname}.tmp"), ignore_errors=True)


def _write_postings(pw, ids: array, weights: array, values: list, lengths: array | None,
                    docbase: int) -> None:
    """Fill ``pw`` (a started ``W3PostingsWriter``) block by block as ``add_posting`` would."""
    limit = pw._blocklimit
    n = len(ids)
    for start in range(0, n, limit):
        end = min(n, start + limit)
        block_ids = ids[start:end]
        block_weights = weights[start:end]
        pw._ids = block_ids
        pw._weights = array("f", block_weights)
        pw._values = [v for v in values[start:end] if v]
        pw._maxweight = max(0, max(block_weights))
        if lengths is not None:
            lens = [x for x in (lengths[d - docbase] for d in block_ids) if x]
            pw._minlength = min(lens) if lens else None
            pw._maxlength = max(lens) if lens else 0
        else:
            pw._minlength, pw._maxlength = None, 0
        if end < n:
            pw._write_block()
    # finish_postings() writes the last block, flagged as the last one


def write_into(ix, documents: Iterable[dict], *,
               limitmb: int) -> list:
    """Write ``documents`` as new segments of ``ix``; return the segments (no TOC written).

    A new segment starts whenever the postings held reach ``limitmb``.
    """
    segments: list = []
    writer = None
    for doc in documents:
        if writer is None:
            # the caller holds the index's lock for the whole build. Not compound: Whoosh
            # reads a compound file's parts through a Python seek + read per call (a posting
            # block header is unpickled with a dozen of them); separate files are read in C
            writer = BulkSegmentWriter(ix, _lk=False,
                                       codec=W3Codec(), compound=False)
        writer.add_document(**doc)
        if writer.memory >= limitmb * 2**20:
            segments.append(_finish(writer))
            writer = None
    if writer is not None:
        segments.append(_finish(writer))
    return segments


def _finish(writer: BulkSegmentWriter):
    try:
        return writer._finalize_segment()
    finally:
        writer._finish()


def _worker(path: str, indexname: str, limitmb: int,
            jobs, results) -> None:
    """A worker process: index the batches from ``jobs`` into segments of its own."""
    from whoosh.filedb.filestore import FileStorage

    try:
        ix = FileStorage(path, supports_mmap=False).open_index(indexname)

        def batches():
            while (batch := jobs.get()) is not None:
                yield from batch

        segments = write_into(ix, batches(), limitmb=limitmb)
        results.put(("ok", segments))
    except BaseException as exc:  # reported to the parent, which fails the build
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def write_segments(ix, documents: Iterable[dict], *,
                   procs: int, limitmb: int) -> list:
    """Write ``documents`` as new segments of the (locked, unwritten) index ``ix``.

    With ``procs`` > 1 the documents go in batches to that many worker processes; the
    segments' document order then depends on scheduling (the search results do not).
    """
    if procs <= 1:
        return write_into(ix, documents, limitmb=limitmb)
    # spawn, not fork: the caller may hold database connections and threads
    ctx = multiprocessing.get_context("spawn")
    jobs, results = ctx.Queue(maxsize=2 * procs), ctx.Queue()
    workers = [ctx.Process(target=_worker, daemon=True,
                           args=(ix.storage.folder, ix.indexname, limitmb,
                                 jobs, results)) for _ in range(procs)]
    for w in workers:
        w.start()
    try:
        batch: list[dict] = []
        for doc in documents:
            batch.append(doc)
            if len(batch) >= BATCH:
                _put(jobs, batch, workers)
                batch = []
        if batch:
            _put(jobs, batch, workers)
        for _ in workers:
            _put(jobs, None, workers)
        segments: list = []
        for _ in workers:
            status, payload = _get(results, workers)
            if status != "ok":
                raise RuntimeError(f"search index build worker failed: {payload}")
            segments.extend(payload)
        return segments
    finally:
        for w in workers:
            w.join(timeout=5)
            if w.is_alive():
                w.kill()


def _put(jobs, item, workers) -> None:
    while True:
        try:
            jobs.put(item, timeout=POLL)
            return
        except queue.Full:
            _check_alive(workers)


def _get(results, workers):
    while True:
        try:
            return results.get(timeout=POLL)
        except queue.Empty:
            _check_alive(workers)
            if not any(w.is_alive() for w in workers):
                try:  # a result sent just before the last worker left
                    return results.get(timeout=POLL)
                except queue.Empty:
                    raise RuntimeError("a search index build worker left without a result") \
                        from None


def _check_alive(workers) -> None:
    """Fail the build as soon as a worker was killed or crashed (it sends no result)."""
    codes = [w.exitcode for w in workers]
    if any(c not in (0, None) for c in codes):
        raise RuntimeError(f"search index build worker died (exit codes {codes})")
