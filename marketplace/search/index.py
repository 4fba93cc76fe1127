"""Opening, building and updating the Whoosh index.

Layout on disk (``path`` is the configured index folder)::

    path/
      current -> gen-20250101T120000-1234-ab12   (symlink, swapped atomically)
      gen-20250101T120000-1234-ab12/              (a complete Whoosh index)
      gen-...                                     (the previous generation)

``build_index(path, documents)`` writes a complete index into a fresh
``gen-*`` sibling folder and then replaces the ``current`` symlink with
``os.replace`` (an atomic rename).  A reader opening during a build sees the
old index, a reader opening after the swap the new one; nobody sees a half
index.  The previous generation is kept (readers may still have it open) and
older ones are removed.

``open_index(path)`` resolves ``current`` once and opens that generation with
``FileStorage(..., supports_mmap=False)`` (mmap makes every searcher copy the
index onto the heap).  It also opens a plain Whoosh folder without the
``current`` layout.

``apply_batch(ix, upserts, deletes)`` applies many changes in ONE commit
(one commit = one new segment, 70-80 ms at 100k docs, so batch outbox rows).
Only one process may write an index at a time (the outbox indexer); writing
blocks for at most ``timeout`` seconds on Whoosh's lock.

Threads: a ``Searcher`` is NOT thread-safe.  Open one searcher per thread
(``with ix.searcher() as s: ...``) or per request; the ``Index`` object
itself may be shared.  After ``build_index`` swaps, long-lived processes
should call :func:`refresh` (or reopen) to pick up the new generation.

Schema versions: ``build_index`` writes ``schema.SCHEMA_VERSION`` into the generation's
``guild-schema-version`` file before the swap (a generation without the file is version 1).
``open_index`` raises :class:`SchemaMismatch` for an index of another version, so no code
ever reads fields that are not there; :func:`is_current` tells callers whether to rebuild
(the indexer does so itself, the app serves an empty index meanwhile).

A rebuild does not see batches applied to the old generation while it ran:
the indexer should note its outbox position before the rebuild and re-apply
rows from there after the swap (``update_document`` makes that idempotent).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable

from whoosh import index as whoosh_index
from whoosh.filedb.filestore import FileStorage

from marketplace.faults import fault_point
from marketplace.search import bulk
from marketplace.search.schema import SCHEMA_VERSION, build_schema

CURRENT = "current"
GEN_PREFIX = "gen-"
INDEX_NAME = "MAIN"
VERSION_FILE = "guild-schema-version"
#: Below this many documents a full build writes in the calling process.
PARALLEL_MIN_DOCS = 20_000
#: Version of an index written before versions were recorded.
UNRECORDED_VERSION = 1


class SchemaMismatch(RuntimeError):
    """The index on disk was built with another schema version than this code's."""

    def __init__(self, path: str, found: int | None):
        self.path, self.found, self.expected = path, found, SCHEMA_VERSION
        super().__init__(
            f"search index in {path} has schema version {found}, this code needs "
            f"{SCHEMA_VERSION}: run `flask search rebuild` (the search worker rebuilds it "
            "on its next poll)")


def _storage(folder: str) -> FileStorage:
    return FileStorage(folder, supports_mmap=False)


def current_generation(path: str) -> str | None:
    """Folder of the live generation, or ``None`` when there is no index."""
    link = os.path.join(path, CURRENT)
    if os.path.islink(link) or os.path.isdir(link):
        return os.path.realpath(link)
    if os.path.isdir(path) and whoosh_index.exists(_storage(path), indexname=INDEX_NAME):
        return path
    return None


def exists(path: str) -> bool:
    """True when ``path`` holds a usable index."""
    gen = current_generation(path)
    return bool(gen) and whoosh_index.exists(_storage(gen), indexname=INDEX_NAME)


def _read_version(gen: str) -> int | None:
    try:
        with open(os.path.join(gen, VERSION_FILE), encoding="ascii") as f:
            text = f.read().strip()
    except FileNotFoundError:
        return UNRECORDED_VERSION
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None  # unreadable: never "current"


def schema_version(path: str) -> int | None:
    """Schema version the live index under ``path`` was built with (None: no index or an
    unreadable version file)."""
    gen = current_generation(path)
    return None if gen is None else _read_version(gen)


def is_current(path: str) -> bool:
    """True when ``path`` holds an index built with this code's schema version."""
    return exists(path) and schema_version(path) == SCHEMA_VERSION


def open_index(path: str, *, check_version: bool = True):
    """Open the live generation under ``path`` (read and write).

    Raises :class:`SchemaMismatch` if it was built with another schema version (unless
    ``check_version`` is false: ``flask search status`` still counts its documents).
    """
    gen = current_generation(path)
    if gen is None:
        raise FileNotFoundError(f"no search index in {path}")
    if check_version:
        found = _read_version(gen)
        if found != SCHEMA_VERSION:
            raise SchemaMismatch(path, found)
    ix = _storage(gen).open_index(indexname=INDEX_NAME)
    ix.guild_generation = gen
    return ix


def create_empty(path: str):
    """Create an empty index (for tests and first start) and return it open."""
    build_index(path, ())
    return open_index(path)


def refresh(ix, path: str):
    """Return ``ix`` if still live, else the newly swapped-in index."""
    gen = current_generation(path)
    if gen and gen != getattr(ix, "guild_generation", None):
        return open_index(path)
    return ix


def build_index(path: str, documents: Iterable[dict],
                progress: Callable[[int], None] | None = None, *,
                procs: int | None = None, limitmb: int = 512,
                keep_previous: bool = True, expected: int | None = None) -> str:
    """Build a full index from ``documents`` and swap it in atomically.

    ``documents`` yields dicts from :mod:`marketplace.search.documents`.
    ``progress(n)`` is called every 1000 documents and at the end.
    The segments are written by :mod:`bulk` in ``procs`` worker processes (default
    ``min(2, cpu count)``, or 1 when ``expected`` documents are fewer than
    :data:`PARALLEL_MIN_DOCS`; 1 writes in this process, with documents numbered in the order
    given), one segment per process, more if a process's postings outgrow ``limitmb``.
    Returns the new generation's folder.
    """
    os.makedirs(path, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%S")
    gen_name = f"{GEN_PREFIX}{stamp}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    gen = os.path.join(path, gen_name)
    os.makedirs(gen)
    if procs is None:
        # spawning workers costs about a second: not worth it for a small index
        small = expected is not None and expected < PARALLEL_MIN_DOCS
        procs = 1 if small else max(1, min(2, os.cpu_count() or 1))
    n = 0

    def counted() -> Iterable[dict]:
        nonlocal n
        for doc in documents:
            yield doc
            n += 1
            if progress and n % 1000 == 0:
                progress(n)

    try:
        ix = _storage(gen).create_index(build_schema(), indexname=INDEX_NAME)
        # the generation is private until the swap, so no index lock is needed
        segments = bulk.write_segments(ix, counted(), procs=procs, limitmb=limitmb)
        bulk.commit_segments(ix, segments)
        ix.close()
        with open(os.path.join(gen, VERSION_FILE), "w", encoding="ascii") as f:
            f.write(f"{SCHEMA_VERSION}\n")
        if progress:
            progress(n)
        _swap(path, gen_name)
    except BaseException:
        shutil.rmtree(gen, ignore_errors=True)
        raise
    _cleanup(path, keep={gen_name}, keep_previous=keep_previous)
    return gen


def _swap(path: str, gen_name: str) -> None:
    link = os.path.join(path, CURRENT)
    tmp = os.path.join(path, f".{CURRENT}.{uuid.uuid4().hex}")
    os.symlink(gen_name, tmp)  # relative target: the folder can be moved
    os.replace(tmp, link)


def _cleanup(path: str, keep: set[str], keep_previous: bool) -> None:
    gens = sorted(
        (e for e in os.listdir(path) if e.startswith(GEN_PREFIX) and e not in keep),
        key=lambda e: os.path.getmtime(os.path.join(path, e)),
    )
    if keep_previous and gens:
        gens = gens[:-1]
    for e in gens:
        shutil.rmtree(os.path.join(path, e), ignore_errors=True)


def apply_batch(ix, upserts: Iterable[dict] = (), deletes: Iterable[str] = (), *,
                timeout: float = 10.0, check_versions: bool = True) -> dict:
    """Apply upserts and deletions in ONE commit.

    ``upserts`` are documents (their ``doc_id`` is the unique key, so an
    existing document with the same id is replaced); ``deletes`` are doc ids.
    Within a batch the last upsert of an id wins and an id that is also in
    ``deletes`` ends deleted.  With ``check_versions`` an upsert whose
    ``version`` is lower than the indexed one is skipped (a late, stale row).
    Returns counts: ``{"upserted", "deleted", "stale", "commits"}``.
    """
    latest: dict[str, dict] = {}
    for doc in upserts:
        latest[doc["doc_id"]] = doc
    dels = list(dict.fromkeys(deletes))
    for d in dels:
        latest.pop(d, None)
    stats = {"upserted": 0, "deleted": 0, "stale": 0, "commits": 0}
    if not latest and not dels:
        return stats
    writer = ix.writer(timeout=timeout)
    try:
        if check_versions and latest:
            with ix.searcher() as s:
                for key in list(latest):
                    old = s.document(doc_id=key)
                    if old and int(old.get("version") or 0) > int(latest[key].get("version") or 0):
                        del latest[key]
                        stats["stale"] += 1
        for doc in latest.values():
            writer.update_document(**doc)
            stats["upserted"] += 1
        for key in dels:
            stats["deleted"] += writer.delete_by_term("doc_id", key)
    except BaseException:
        with contextlib.suppress(Exception):
            writer.cancel()
        raise
    fault_point("index.before_commit")
    writer.commit()
    stats["commits"] = 1
    return stats
