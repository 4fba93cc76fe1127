"""``flask search rebuild|status|worker|catch-up``, ``flask match run`` and ``flask alerts send``.

See docs/search.md for how the index is kept up to date in production.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import click
from flask import current_app, g
from flask.cli import AppGroup
from sqlalchemy import func, select

from marketplace.extensions import db

log = logging.getLogger(__name__)

search_cli = AppGroup("search", help="The search index (derived from the database).")
match_cli = AppGroup("match", help="Batch matching of tenders to organisations.")
alerts_cli = AppGroup("alerts", help="Saved-search and 'tenders for you' alerts.")


def _path() -> str:
    return current_app.config["SEARCH_INDEX_DIR"]


# ------------------------------------------------------------------ flask search ...

def rebuild_index(*, quiet: bool = False) -> int:
    """Rebuild into a fresh folder, swap it in, then apply what changed meanwhile."""
    from marketplace.search import indexer, sources

    total = sum(sources.count_public(k) for k in ("organisation", "alliance", "tender",
                                                    "project"))
    db.session.rollback()
    path = _path()
    started = time.monotonic()
    if quiet:
        count, state = indexer.rebuild(path)
    else:
        with click.progressbar(length=total, label="Indexing") as bar:
            done = 0

            def progress(n: int) -> None:
                nonlocal done
                n = min(n, total)
                if n > done:
                    bar.update(n - done)
                    done = n

            count, state = indexer.rebuild(path, progress)
    after = indexer.run_once(path, lock_timeout=60)
    if not quiet:
        click.echo(f"Indexed {count} documents in {time.monotonic() - started:.1f} s "
                   f"(outbox mark {state.last_id}; {after.rows if after else 0} later "
                   "change(s) applied).")
    return count


@search_cli.command("rebuild")
@click.option("--if-missing", is_flag=True, help="Do nothing if an index already exists.")
def rebuild_command(if_missing: bool) -> None:
    """Build a fresh index from the database and swap it in atomically."""
    from marketplace.search.index import is_current

    if if_missing and is_current(_path()):
        click.echo(f"Search index present in {_path()}; nothing to do.")
        return
    try:
        rebuild_index()
    except TimeoutError as exc:
        raise click.ClickException(str(exc)) from exc


@search_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status_command(as_json: bool) -> None:
    """Documents per kind, outbox backlog, last applied outbox id and gaps."""
    from marketplace.models import SearchOutbox
    from marketplace.search import index as engine_index
    from marketplace.search import indexer
    from marketplace.search.schema import KINDS, SCHEMA_VERSION

    path = _path()
    info: dict = {"path": path, "exists": engine_index.exists(path),
                  "schema_version": engine_index.schema_version(path),
                  "schema_expected": SCHEMA_VERSION}
    info["needs_rebuild"] = info["exists"] and info["schema_version"] != SCHEMA_VERSION
    if info["exists"]:
        from whoosh.query import Term

        ix = engine_index.open_index(path, check_version=False)
        with ix.searcher() as s:
            info["generation"] = Path(ix.guild_generation).name
            info["documents"] = {k: sum(1 for _ in s.docs_for_query(Term("kind", k)))
                                 for k in KINDS}
            info["segments"] = len(s.reader().leaf_readers()) if hasattr(
                s.reader(), "leaf_readers") else 1
        ix.close()
    backlog, state = indexer.backlog(path)
    info.update(
        outbox_max_id=db.session.scalar(select(func.max(SearchOutbox.id))) or 0,
        last_applied_id=state.last_id, backlog=backlog,
        gaps=sorted(state.gaps), rows_applied=state.applied_rows,
        state_updated=(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(state.updated_at))
                       if state.updated_at else None),
    )
    lock = indexer.IndexLock(path)
    info["writer_busy"] = not lock.acquire(blocking=False)
    lock.release()
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"Index: {path} ({info.get('generation') or 'missing'})")
    if info["needs_rebuild"]:
        click.echo(f"Schema version {info['schema_version']}, this release needs "
                   f"{SCHEMA_VERSION}: NOT SEARCHABLE until rebuilt; run `flask search "
                   "rebuild` (the search worker does it on its next poll).")
    elif info["exists"]:
        click.echo(f"Schema version {SCHEMA_VERSION} (current)")
    for kind, n in (info.get("documents") or {}).items():
        click.echo(f"  {kind:<13} {n:>8}")
    click.echo(f"Outbox: max id {info['outbox_max_id']}, last applied {state.last_id}, "
               f"backlog {backlog}, gaps {len(state.gaps)}"
               + (f" {info['gaps'][:10]}" if state.gaps else ""))
    busy = "held (worker or rebuild running)" if info["writer_busy"] else "free"
    click.echo(f"Writer lock: {busy}")


@search_cli.command("catch-up")
@click.option("--wait", default=30.0, show_default=True, help="Seconds to wait for the lock.")
def catch_up_command(wait: float) -> None:
    """Apply pending outbox rows now (waits for the worker to let go of the lock)."""
    from marketplace.search import indexer

    stats = indexer.run_once(_path(), lock_timeout=wait)
    if stats is None:
        raise click.ClickException("another indexer holds the lock; it is applying the rows")
    click.echo(f"Applied {stats.rows} outbox row(s) in {stats.batches} batch(es): "
               f"{stats.upserted} updated, {stats.deleted} deleted; last id {stats.last_id}, "
               f"{stats.gaps_open} open gap(s).")


@search_cli.command("worker")
@click.option("--interval", default=2.0, show_default=True,
              help="Seconds between polls of the outbox when idle.")
@click.option("--once", is_flag=True, help="Apply what is pending and exit.")
def worker_command(interval: float, once: bool) -> None:
    """The single index writer: poll the outbox, apply rows, repeat (SIGTERM stops it
    between batches)."""
    run_worker(interval=interval, once=once)


def run_worker(*, interval: float = 2.0, once: bool = False) -> None:
    from marketplace.search import indexer
    from marketplace.search.service import ensure_index_ready

    stopping = {"flag": False}

    def stop(signum, frame):  # finish the batch in hand, then leave
        stopping["flag"] = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    path = _path()
    parent = os.environ.get("GUILD_SEARCH_WORKER_PARENT")  # set by gunicorn.conf.py
    ensure_index_ready(path)
    log.info("search worker started on %s (poll every %.1f s)", path, interval)
    failures = 0
    try:
        while not stopping["flag"]:
            try:
                # waits for a rebuild to finish, but re-checks the stop flag every interval
                stats = indexer.run_once(path, lock_timeout=interval, max_batches=20)
                failures = 0
            except Exception:
                failures += 1
                log.exception("search worker run failed (%d in a row)", failures)
                db.session.rollback()
                stats = None
                time.sleep(min(60.0, interval * 2 ** min(failures, 5)))
            if once:
                break
            if parent and str(os.getppid()) != parent:  # gunicorn died without stopping us
                log.warning("search worker: parent %s is gone; stopping", parent)
                break
            if stats is not None and stats.batches >= 20:
                continue  # more is waiting: no pause
            slept = 0.0
            while slept < interval and not stopping["flag"]:
                time.sleep(0.1)
                slept += 0.1
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        log.info("search worker stopped")


# ------------------------------------------------------------------ flask match run

def _read_jsonl(path: Path) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except ValueError as exc:
                raise click.ClickException(f"{path}:{n}: not JSON ({exc})") from exc
            if not isinstance(d, dict) or not d.get("id") or not d.get("title"):
                raise click.ClickException(f"{path}:{n}: a tender needs an id and a title")
            out.append(d)
    return out


def business_ids(doc_ids: list[str]) -> dict[str, str]:
    """Index doc ids -> ids as the outside world knows them (the import's external id)."""
    from marketplace.models import Organisation
    from marketplace.search.service import parse_doc_id

    org_ids = [p[1] for p in map(parse_doc_id, doc_ids) if p and p[0] == "organisation"]
    ext = {}
    for i in range(0, len(org_ids), 500):
        ext.update(dict(db.session.execute(select(Organisation.id, Organisation.external_id)
                                           .where(Organisation.id.in_(org_ids[i:i + 500])))
                        .all()))
    out = {}
    for d in doc_ids:
        p = parse_doc_id(d)
        if p and p[0] == "organisation":
            out[d] = ext.get(p[1]) or str(p[1])
        else:
            out[d] = d
    return out


@match_cli.command("run")
@click.argument("tenders", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--top", default=20, show_default=True, type=click.IntRange(1, 200))
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="TSV file (default: standard output).")
@click.option("--kinds", default="organisation,alliance", show_default=True,
              help="Kinds of matches, comma-separated.")
def match_run_command(tenders: Path, top: int, output: Path | None, kinds: str) -> None:
    """Match TENDERS.jsonl (not imported) with the tender page's own scorer; write
    ``tender_id  business_id  rank  score``."""
    from marketplace.search import indexer
    from marketplace.search.index import exists
    from marketplace.search.service import matches

    wanted = tuple(k.strip() for k in kinds.split(",") if k.strip())
    if not set(wanted) <= {"organisation", "alliance"}:
        raise click.BadParameter("organisation and/or alliance", param_hint="--kinds")
    records = _read_jsonl(tenders)
    # up to date first: a full build when there is no index, else the pending outbox rows
    if not exists(_path()):
        rebuild_index(quiet=True)
    elif indexer.run_once(_path(), lock_timeout=120) is None:
        raise click.ClickException("the index writer lock is busy; try again")
    rows: list[tuple[str, str, int, float]] = []
    started = time.monotonic()
    with click.progressbar(records, label="Matching", file=sys.stderr) as bar:
        for t in bar:
            found = matches(t, top, kinds=wanted)
            ids = business_ids([m.doc_id for m in found])
            rows.extend((str(t["id"]), ids[m.doc_id], rank, m.score)
                        for rank, m in enumerate(found, 1))
    elapsed = time.monotonic() - started
    out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
    try:
        out.write("tender_id\tbusiness_id\trank\tscore\n")
        for tid, bid, rank, score in rows:
            out.write(f"{tid}\t{bid}\t{rank}\t{score:.6f}\n")
    finally:
        if output:
            out.close()
    click.echo(f"Matched {len(records)} tenders in {elapsed:.1f} s "
               f"({1000 * elapsed / max(1, len(records)):.0f} ms each).", err=True)


# ------------------------------------------------------------------ flask alerts send

@alerts_cli.command("send")
def alerts_send_command() -> None:
    """E-mail each user one digest of new alert matches (run daily from cron)."""
    from marketplace.clock import now
    from marketplace.mail import deliver_queued
    from marketplace.search import alerts

    moment = now()
    with current_app.test_request_context("/"):  # links in e-mails are built from a request
        g.now = moment
        sent = alerts.send_digests(moment)
        db.session.commit()
    while deliver_queued():
        pass
    click.echo(f"Queued {sent} digest e-mail(s).")


def init_app(app) -> None:
    for group in (search_cli, match_cli, alerts_cli):
        app.cli.add_command(group)
