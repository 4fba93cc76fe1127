"""The outbox indexer: applies ``search_outbox`` rows to ONE index replica, in id order.

Progress is per replica: a small JSON state file inside the index folder (``indexer-state.json``)
holds the high-water mark (the highest outbox id applied) and the *gaps* below it. Several hosts,
each with its own index folder, read the same outbox independently; nothing in the database
says "done".

Why gaps: ids are handed out when a row is inserted, not when its transaction commits. T1 takes
id 5 and holds its transaction; T2 takes id 6 and commits; a reader asking for ``id > 4`` sees
6 and moves its mark to 6 -- and would never see 5 once T1 commits. So every id missing between
the old mark and the highest id read is remembered as a gap and looked up again on every run
until it appears (applied then) or ``SEARCH_GAP_TIMEOUT`` seconds pass (a rolled-back insert
leaves a permanent hole in a PostgreSQL sequence; SQLite reuses rolled-back ids, so it has none).

One run (:func:`run_once`):

1. take the writer lock (``fcntl.flock`` on ``indexer.lock`` in the index folder); web workers
   only ever try it without waiting, the worker waits;
2. read a batch of rows above the mark, plus any gap ids that have appeared;
3. rebuild the affected documents from the database *now* (:mod:`sources`) -- a row says only
   "look again at (kind, id)", so re-applying a row is harmless -- and apply them in ONE Whoosh
   commit (``update_document`` on the unique id; deletes for anything no longer public);
4. only after that commit, run alerts for newly published tenders (idempotent in the database)
   and then write the new state (atomically: temp file + ``os.replace``).

A crash between 3 and 4 re-applies the same rows on restart: same documents, no duplicates.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.faults import fault_point
from marketplace.models import SearchOutbox
from marketplace.search.schema import KINDS

log = logging.getLogger(__name__)

LOCK_FILE = "indexer.lock"
STATE_FILE = "indexer-state.json"
DEFAULT_BATCH = 500
DEFAULT_GAP_TIMEOUT = 900.0  # seconds a missing id is waited for
DEFAULT_GAP_WINDOW = 10_000  # ids below the newest row that may still be in flight


class IndexLock:
    """The single-writer lock of one index folder (advisory ``flock``, released on exit or crash,
    so a killed indexer never leaves a stale lock behind)."""

    def __init__(self, path: str):
        self.path = path
        self._fd: int | None = None

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        if self._fd is not None:
            return True
        os.makedirs(self.path, exist_ok=True)
        fd = os.open(os.path.join(self.path, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fd = fd
                return True
            except BlockingIOError:
                if not blocking or (deadline is not None and time.monotonic() >= deadline):
                    os.close(fd)
                    return False
                time.sleep(0.05)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            with contextlib.suppress(OSError):
                fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


# ------------------------------------------------------------------ state

@dataclass
class State:
    last_id: int = 0
    gaps: dict[int, float] = field(default_factory=dict)  # id -> first noticed (epoch s)
    applied_rows: int = 0
    updated_at: float = 0.0

    def to_json(self) -> str:
        return json.dumps({"last_id": self.last_id,
                           "gaps": {str(k): v for k, v in sorted(self.gaps.items())},
                           "applied_rows": self.applied_rows, "updated_at": self.updated_at})


def read_state(path: str) -> State:
    try:
        with open(os.path.join(path, STATE_FILE), encoding="utf-8") as f:
            raw = json.load(f)
    except FileNotFoundError:
        return State()
    except (OSError, ValueError):
        log.warning("unreadable %s in %s; starting from the beginning", STATE_FILE, path)
        return State()
    return State(int(raw.get("last_id") or 0),
                 {int(k): float(v) for k, v in (raw.get("gaps") or {}).items()},
                 int(raw.get("applied_rows") or 0), float(raw.get("updated_at") or 0.0))


def write_state(path: str, state: State) -> None:
    state.updated_at = time.time()
    tmp = os.path.join(path, f".{STATE_FILE}.{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(state.to_json())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, os.path.join(path, STATE_FILE))


def outbox_state_now() -> State:
    """Where a full rebuild starting now stands: everything up to the current max id is in the
    snapshot it reads, except ids not yet committed (kept as gaps, applied after the swap)."""
    high = db.session.scalar(select(func.max(SearchOutbox.id))) or 0
    window = int(_config("SEARCH_GAP_WINDOW", DEFAULT_GAP_WINDOW))
    present = set(db.session.scalars(select(SearchOutbox.id).where(
        SearchOutbox.id > max(0, high - window))))
    t = time.time()
    gaps = {i: t for i in range(max(1, high - window + 1), high + 1) if i not in present}
    db.session.rollback()  # end the read transaction: a snapshot must not outlive the build
    return State(last_id=high, gaps=gaps)


# ------------------------------------------------------------------ one run

@dataclass
class RunStats:
    rows: int = 0
    batches: int = 0
    upserted: int = 0
    deleted: int = 0
    gaps_filled: int = 0
    gaps_open: int = 0
    gaps_expired: int = 0
    last_id: int = 0
    alerts: int = 0


#: Test hook: called after the Whoosh commit and before the state write (crash simulation).
after_commit_hook: Callable[[], None] | None = None


def _config(key: str, default):
    from flask import current_app

    try:
        return current_app.config.get(key, default)
    except RuntimeError:
        return default


def _expand(rows: list[SearchOutbox]) -> dict[str, set[int]]:
    """Objects to look at again. An organisation's change also shows in its alliances' union,
    its projects' partner list and its tenders' buyer (hidden buyer -> hidden tenders)."""
    from marketplace.models import ProjectCredit, Tender
    from marketplace.search import sources

    todo: dict[str, set[int]] = {"organisation": set(), "alliance": set(), "tender": set(),
                                 "project": set()}
    for r in rows:
        if r.kind in todo:
            todo[r.kind].add(int(r.object_id))
    orgs = sorted(todo["organisation"])
    if orgs:
        todo["alliance"].update(sources.alliances_of(orgs))
        todo["project"].update(db.session.scalars(
            select(ProjectCredit.project_id).where(ProjectCredit.organisation_id.in_(orgs))))
        todo["tender"].update(db.session.scalars(
            select(Tender.id).where(Tender.buyer_id.in_(orgs))))
    return todo


def documents_for(todo: dict[str, set[int]]) -> tuple[list[dict], list[str], list[dict]]:
    """Upserts, deletes and the public tender dicts (for alerts) for these objects."""
    from marketplace.search import sources
    from marketplace.search.documents import document_for
    from marketplace.search.schema import doc_id

    upserts: list[dict] = []
    deletes: list[str] = []
    tenders: list[dict] = []
    for kind, ids in todo.items():
        if not ids:
            continue
        for ident, d in sources.dicts_for(kind, sorted(ids)).items():
            if d is None:
                deletes.append(doc_id(kind, ident))
            else:
                upserts.append(document_for(kind, d))
                if kind == "tender":
                    tenders.append(d)
    return upserts, deletes, tenders


def run_once(path: str, *, blocking: bool = True, batch_size: int | None = None,
             max_batches: int | None = None, lock_timeout: float | None = None,
             alerts: bool | None = None) -> RunStats | None:
    """Apply every pending outbox row to the index at ``path``.

    Returns ``None`` without doing anything when ``blocking`` is false and another process
    holds the writer lock. ``max_batches`` bounds the work of one call.
    """
    lock = IndexLock(path)
    if not lock.acquire(blocking=blocking, timeout=lock_timeout):
        return None
    try:
        with _own_session():
            return _run_locked(path, batch_size=batch_size or int(_config(
                "SEARCH_BATCH_SIZE", DEFAULT_BATCH)), max_batches=max_batches,
                alerts=_config("SEARCH_ALERTS", True) if alerts is None else alerts)
    finally:
        lock.release()


@contextlib.contextmanager
def _own_session():
    """A fresh app context, hence a database session of the indexer's own: it commits and
    rolls back freely without touching the caller's session (a request, a test, the CLI)."""
    from flask import current_app, has_app_context

    if not has_app_context():
        yield
        return
    with current_app._get_current_object().app_context():
        yield


@contextlib.contextmanager
def _reading():
    """Read the database as a GET request does: on SQLite a plain (deferred) BEGIN instead of
    the write lock that CLI work takes up front (marketplace/database.py), so indexing and
    rebuilding never hold up the site's writers. Ends with the read transaction closed."""
    from flask import current_app, has_app_context

    if not has_app_context():
        yield
        return
    with current_app.test_request_context("/", method="GET"):
        try:
            yield
        finally:
            db.session.rollback()


def _run_locked(path: str, *, batch_size: int, max_batches: int | None,
                alerts: bool) -> RunStats:
    from marketplace.search.index import (
        apply_batch,
        build_index,
        exists,
        is_current,
        open_index,
        schema_version,
    )

    if not exists(path):
        build_index(path, (), procs=1)
    elif not is_current(path):
        # built by another release: rows cannot be applied to it, only a full rebuild helps
        log.warning("search index in %s has schema version %s; rebuilding", path,
                    schema_version(path))
        _rebuild_locked(path)
    ix = open_index(path)
    state = read_state(path)
    gap_timeout = float(_config("SEARCH_GAP_TIMEOUT", DEFAULT_GAP_TIMEOUT))
    gap_window = int(_config("SEARCH_GAP_WINDOW", DEFAULT_GAP_WINDOW))
    total = RunStats(last_id=state.last_id)
    try:
        while max_batches is None or total.batches < max_batches:
            # a fresh read transaction per batch, so rows committed since are visible, closed
            # again before the Whoosh commit
            with _reading():
                rows = list(db.session.scalars(
                    select(SearchOutbox).where(SearchOutbox.id > state.last_id)
                    .order_by(SearchOutbox.id).limit(batch_size)))
                found_gaps: list[SearchOutbox] = []
                if state.gaps:
                    found_gaps = list(db.session.scalars(
                        select(SearchOutbox).where(SearchOutbox.id.in_(sorted(state.gaps)))))
                batch = rows + found_gaps
                if batch:
                    upserts, deletes, tenders = documents_for(_expand(batch))
                row_ids = [r.id for r in rows]
                filled = {r.id for r in found_gaps}
            if not batch:
                expired = [i for i, t in state.gaps.items() if time.time() - t > gap_timeout]
                if expired:  # nothing new, but holes old enough are given up all the same
                    state = State(state.last_id, {i: t for i, t in state.gaps.items()
                                                  if i not in expired}, state.applied_rows)
                    write_state(path, state)
                    total.gaps_expired += len(expired)
                    log.warning("search outbox ids %s never appeared within %.0f s; given up",
                                expired[:20], gap_timeout)
                break
            now = time.time()
            new_last = max([state.last_id, *row_ids])
            seen = set(row_ids)
            gaps = {i: t for i, t in state.gaps.items() if i not in filled}
            # holes further back than the window are deleted rows, not open transactions
            low = max(state.last_id + 1, new_last - gap_window)
            gaps.update({i: now for i in range(low, new_last) if i not in seen})
            expired = [i for i, t in gaps.items() if now - t > gap_timeout]
            for i in expired:
                del gaps[i]
            stats = apply_batch(ix, upserts, deletes)
            fault_point("index.after_commit")
            # -- the Whoosh commit is done: from here on a crash only means "apply again" --
            if after_commit_hook is not None:
                after_commit_hook()
            if alerts and tenders:
                total.alerts += _run_alerts(ix, tenders)
            state = State(new_last, gaps, state.applied_rows + len(batch))
            write_state(path, state)
            total.rows += len(batch)
            total.batches += 1
            total.upserted += stats["upserted"]
            total.deleted += stats["deleted"]
            total.gaps_filled += len(found_gaps)
            total.gaps_expired += len(expired)
            if expired:
                log.warning("search outbox ids %s never appeared within %.0f s; given up",
                            expired[:20], gap_timeout)
            if not rows:  # only gaps were filled; nothing further above the mark
                break
    finally:
        db.session.rollback()
        ix.close()
    total.last_id = state.last_id
    total.gaps_open = len(state.gaps)
    return total


def _run_alerts(ix, tenders: list[dict]) -> int:
    from marketplace.search import alerts

    try:
        return alerts.on_tenders_indexed(ix, tenders)
    except Exception:  # an alert failure must not stop indexing; rows re-run alerts later
        log.exception("tender alerts failed")
        db.session.rollback()
        return 0


# ------------------------------------------------------------------ rebuild

def rebuild(path: str, progress: Callable[[int], None] | None = None, *,
            procs: int | None = None, lock_timeout: float | None = 60.0) -> tuple[int, State]:
    """Build a fresh index from the database and swap it in; the outbox mark is set to where
    the build's snapshot started, so changes made during the build are applied afterwards."""
    lock = IndexLock(path)
    if not lock.acquire(timeout=lock_timeout):
        raise TimeoutError(f"another indexer holds {os.path.join(path, LOCK_FILE)}")
    try:
        return _rebuild_locked(path, progress, procs=procs)
    finally:
        lock.release()


def _rebuild_locked(path: str, progress: Callable[[int], None] | None = None, *,
                    procs: int | None = None) -> tuple[int, State]:
    from marketplace.search import sources
    from marketplace.search.index import build_index

    count = 0

    def docs():
        nonlocal count
        for d in sources.all_documents():
            count += 1
            yield d

    with _own_session(), _reading():
        state = outbox_state_now()
        expected = sum(sources.count_public(k) for k in KINDS)
        build_index(path, docs(), progress, procs=procs, expected=expected)
    write_state(path, state)
    return count, state


def backlog(path: str) -> tuple[int, State]:
    """Outbox rows not yet applied to this replica (above the mark, plus open gaps)."""
    state = read_state(path)
    n = db.session.scalar(select(func.count(SearchOutbox.id)).where(
        SearchOutbox.id > state.last_id)) or 0
    if state.gaps:
        n += db.session.scalar(select(func.count(SearchOutbox.id)).where(
            SearchOutbox.id.in_(sorted(state.gaps)))) or 0
    return n, state
