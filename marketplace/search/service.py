"""The app's door to the search engine: searchers, catching up, and THE scorer for pages.

Views, the CLI and (later) the API use these functions; they never open the index themselves.

- :func:`index_searcher` -- ``with index_searcher() as s: ...`` gives this thread's searcher on
  the app's index (Whoosh searchers are not thread-safe; one per thread, reused while the index
  is unchanged, refreshed after an indexer commit, reopened after a rebuild's swap).
- :func:`search_page` -- the search box (``query.search``) on that searcher.
- :func:`matches_for_tender` / :func:`tenders_for_organisation` -- the ONE scorer
  (``matching.match_tender`` / ``matching.tenders_for``) on dicts built by :mod:`sources`,
  so the tender page, the dashboard, ``flask match run`` and alerts rank identically.
- :func:`ensure_index_ready` / :func:`catch_up` -- create an empty index when there is none;
  apply pending outbox rows now if no other process holds the writer lock.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from flask import current_app

from marketplace.search import index as engine_index
from marketplace.search.matching import Match, match_tender, tenders_for
from marketplace.search.query import SearchPage, search

log = logging.getLogger(__name__)
_local = threading.local()
_create_lock = threading.Lock()
_empty_ix = None


def index_path(app=None) -> str:
    return (app or current_app).config["SEARCH_INDEX_DIR"]


def _empty_index():
    """A process-wide empty in-memory index, for the moment before the first build."""
    global _empty_ix
    if _empty_ix is None:
        from whoosh.filedb.filestore import RamStorage

        from marketplace.search.schema import build_schema
        _empty_ix = RamStorage().create_index(build_schema(), indexname=engine_index.INDEX_NAME)
        _empty_ix.guild_generation = None
    return _empty_ix


def ensure_index_ready(path: str | None = None) -> bool:
    """Make sure an index exists at ``path`` (an empty one if needed). True if it exists.

    Creating takes the writer lock without waiting: if a rebuild holds it, the caller reads an
    empty in-memory index until the rebuild swaps its result in.
    """
    from marketplace.search.indexer import IndexLock

    path = path or index_path()
    if engine_index.exists(path):
        return True
    with _create_lock:
        os.makedirs(path, exist_ok=True)
        lock = IndexLock(path)
        if not lock.acquire(blocking=False):
            return engine_index.exists(path)
        try:
            if not engine_index.exists(path):
                engine_index.build_index(path, (), procs=1)
        finally:
            lock.release()
    return True


def _open(path: str):
    if not engine_index.exists(path) and not ensure_index_ready(path):
        return _empty_index()
    try:
        return engine_index.open_index(path)
    except engine_index.SchemaMismatch as exc:
        # an index from another release: show nothing rather than fail, until the worker (or
        # `flask search rebuild`) replaces it; the searcher is reopened on every request
        log.warning("%s", exc)
        return _empty_index()


@contextlib.contextmanager
def index_searcher(path: str | None = None) -> Iterator:
    """This thread's searcher on the app's index (do not pass it to another thread)."""
    path = path or index_path()
    cache = getattr(_local, "searchers", None)
    if cache is None:
        cache = _local.searchers = {}
    entry = cache.get(path)
    if entry is not None:
        ix, s = entry
        gen = engine_index.current_generation(path)
        if gen != getattr(ix, "guild_generation", None):
            with contextlib.suppress(Exception):
                s.close()
            entry = None
        elif not s.up_to_date():
            s = s.refresh()
            entry = (ix, s)
    if entry is None:
        for other in [p for p in cache if p != path]:  # one index per app: drop old paths
            with contextlib.suppress(Exception):
                cache.pop(other)[1].close()
        ix = _open(path)
        entry = (ix, ix.searcher())
    cache[path] = entry
    yield entry[1]


def close_searchers() -> None:
    """Close this thread's searchers (tests, worker shutdown, after a fork)."""
    for _ix, s in (getattr(_local, "searchers", None) or {}).values():
        with contextlib.suppress(Exception):
            s.close()
    _local.searchers = {}


def catch_up(path: str | None = None, *, max_batches: int | None = None):
    """Apply pending outbox rows now if the writer lock is free; never waits for it.

    Returns the indexer's :class:`~marketplace.search.indexer.RunStats`, or ``None`` when
    another process (the worker, a rebuild) holds the lock and will do it.
    """
    from marketplace.search.indexer import run_once

    return run_once(path or index_path(), blocking=False, max_batches=max_batches)


# ------------------------------------------------------------------ the scorer, for pages

def search_page(q: str, kind=None, filters: dict | None = None, page: int = 1,
                pagelen: int = 20, **options) -> SearchPage:
    """The search box. Never raises for any ``q`` (see ``query.search``)."""
    with index_searcher() as s:
        return search(s, q, kind=kind, filters=filters, page=page, pagelen=pagelen, **options)


def town_point(town: str) -> tuple[float, float] | None:
    """Coordinates of a town name, from the places profiles and tenders give (no gazetteer)."""
    from sqlalchemy import func, select

    from marketplace.extensions import db
    from marketplace.models import Profile, Tender

    key = " ".join(str(town or "").lower().split())
    if not key:
        return None
    for model in (Profile, Tender):
        row = db.session.execute(select(func.avg(model.lat), func.avg(model.lon)).where(
            func.lower(model.town) == key, model.lat.is_not(None),
            model.lon.is_not(None))).one()
        if row[0] is not None:
            return float(row[0]), float(row[1])
    return None


def filters_from_params(params) -> dict:
    """The search page's query-string parameters -> ``query.search`` filters.

    Keys: ``division``/``group``/``cpv_class``/``cpv`` (the deepest wins), ``near`` (a town)
    with ``within`` (km, default 25), ``size``, ``cert``, ``status``, ``town``, ``region``.
    Unusable values are ignored, never an error. Shared by the search page and saved-search
    alerts, so an alert matches exactly what its page shows.
    """
    get = params.get
    filters: dict = {}
    for key in ("cpv_class", "group", "division", "cpv"):
        v = "".join(ch for ch in str(get(key) or "") if ch.isdigit())
        if len(v) >= 2:
            filters["cpv"] = v[:8]
            break
    for key in ("size", "cert", "status", "town", "region"):
        v = " ".join(str(get(key) or "").split())[:120]
        if v:
            filters[key] = v
    near = " ".join(str(get("near") or "").split())[:120]
    if near:
        try:
            km = max(1.0, min(500.0, float(get("within") or 25)))
        except (TypeError, ValueError):
            km = 25.0
        point = town_point(near)
        if point:
            filters["near"] = (point[0], point[1], km)
        else:
            filters["town"] = near
    return filters


def parse_doc_id(doc_id: str) -> tuple[str, int] | None:
    """``"org:12"`` -> ``("organisation", 12)``; None for anything else."""
    from marketplace.search.schema import ID_PREFIX

    prefix, _, ident = doc_id.partition(":")
    kinds = {v: k for k, v in ID_PREFIX.items()}
    if prefix not in kinds or not ident.isdigit():
        return None
    return kinds[prefix], int(ident)


def _tender_dict(tender) -> dict:
    from marketplace.search import sources

    return tender if isinstance(tender, dict) else sources.tender_input(tender)


def matches(tender: dict, top: int = 20, *, kinds=("organisation", "alliance"),
            exclude: Iterable[str] = ()) -> list[Match]:
    """Rank organisations/alliances for a tender dict (the engine's input shape)."""
    skip = set(exclude)
    with index_searcher() as s:
        found = match_tender(s, tender, kinds=kinds, top=top + len(skip))
    return [m for m in found if m.doc_id not in skip][:top]


def matches_for_tender(tender, top: int = 20, *, kinds=("organisation", "alliance")
                       ) -> list[Match]:
    """Ranked organisations and alliances for a ``Tender`` (or a tender dict), with reasons.

    The buyer itself is left out. Results are index documents: use :func:`resolve` to get the
    database objects (which also drops anything hidden since it was indexed).
    """
    exclude = ()
    buyer_id = getattr(tender, "buyer_id", None)
    if buyer_id is not None:
        from marketplace.search.schema import doc_id

        exclude = (doc_id("organisation", buyer_id),)
    return matches(_tender_dict(tender), top, kinds=kinds, exclude=exclude)


def tenders_for_organisation(org, top: int = 20, *, statuses=("open",)) -> list[Match]:
    """Ranked tenders for an ``Organisation`` ("tenders for you"), same scorer and reasons.

    Uses the organisation's own profile data whether or not it is published; leaves out its
    own tenders and tenders no longer open (a deadline may pass before the index hears of it).
    """
    from marketplace.search import sources

    d = org if isinstance(org, dict) else sources.profile_dict(org)
    with index_searcher() as s:
        found = tenders_for(s, d, top=top + 10, statuses=statuses)
    if isinstance(org, dict):
        return found[:top]
    ids = [p[1] for p in (parse_doc_id(m.doc_id) for m in found) if p]
    live = _tenders_still(ids, org.id, statuses)
    return [m for m in found if (parse_doc_id(m.doc_id) or ("", 0))[1] in live][:top]


def _tenders_still(ids: list[int], own_org_id: int, statuses) -> set[int]:
    from marketplace.search import sources

    keep = set()
    for tid, tender in sources.load("tender", ids).items():
        d = sources.tender_dict(tender)
        if d is None or tender.buyer_id == own_org_id:
            continue
        if not statuses or d["status"] in statuses:
            keep.add(tid)
    return keep


@dataclass
class Resolved:
    match: Match
    kind: str
    obj: object


def resolve(found: Iterable[Match]) -> list[Resolved]:
    """Pair matches with their database objects, dropping any that are no longer public."""
    from marketplace.search import sources

    found = list(found)
    by_kind: dict[str, list[int]] = {}
    for m in found:
        p = parse_doc_id(m.doc_id)
        if p:
            by_kind.setdefault(p[0], []).append(p[1])
    public: dict[tuple[str, int], object] = {}
    for kind, ids in by_kind.items():
        objs = sources.load(kind, ids)
        visible = sources.dicts_for(kind, ids)
        public.update({(kind, i): objs[i] for i, d in visible.items() if d is not None})
    out = []
    for m in found:
        p = parse_doc_id(m.doc_id)
        if p and p in public:
            out.append(Resolved(m, p[0], public[p]))
    return out
