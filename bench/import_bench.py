#!/usr/bin/env python3
"""Time ``flask import`` on the shared data files: first import and an identical re-import.

Usage:
  python bench/import_bench.py [--database-url URL] [--repeat N]

Without --database-url a fresh SQLite file in a temporary folder is used. With a PostgreSQL
URL the schema of that database is DROPPED and recreated: use a database of your own. Each
repetition starts from an empty schema (with the CPV list loaded), then imports
``ca_dev/businesses.jsonl`` and ``demo/tenders_uk.jsonl`` twice each, in-process, through
the same functions as the command (batches of 500, one commit per batch). The second
import must report every record unchanged and write no search outbox row.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("GUILD_SHARED_DATA", ROOT.parent / "shared" / "data"))
FILES = [("organisations", DATA / "matching" / "ca_dev" / "businesses.jsonl"),
         ("tenders", DATA / "demo" / "tenders_uk.jsonl")]


def fresh_schema(db) -> None:
    from sqlalchemy import text

    from marketplace.cpv import load_cpv_codes

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
    db.create_all()
    load_cpv_codes()
    db.session.commit()


def outbox_rows(db) -> int:
    from sqlalchemy import func, select

    from marketplace.models import SearchOutbox

    rows = db.session.scalar(select(func.count()).select_from(SearchOutbox))
    db.session.rollback()  # SQLite: do not hold the write lock between runs
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.importers import IMPORTERS

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GUILD_INSTANCE_PATH"] = tmp
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "GUILD_ENV": "test",
                          "SECRET_KEY": "bench"})
        timings: dict[tuple[str, str], list[float]] = {}
        cpu_times: dict[tuple[str, str], list[float]] = {}
        with app.app_context():
            dialect = db.engine.dialect.name
            for _ in range(args.repeat):
                db.session.remove()
                fresh_schema(db)
                for kind, path in FILES:
                    for run in ("first import", "re-import"):
                        before = outbox_rows(db)
                        start, cpu_start = time.perf_counter(), time.process_time()
                        with path.open("rb") as stream:
                            report = IMPORTERS[kind](stream, filename=path.name)
                        elapsed = time.perf_counter() - start
                        cpu = time.process_time() - cpu_start
                        assert report.ok, report.lines()[:5]
                        if run == "re-import":
                            assert report.unchanged == report.records, report.summary()
                            assert outbox_rows(db) == before
                        timings.setdefault((kind, run), []).append(elapsed)
                        cpu_times.setdefault((kind, run), []).append(cpu)
                        print(f"{dialect:10} {path.name:22} {run:12} {elapsed:6.2f} s "
                              f"(cpu {cpu:5.2f} s)  {report.summary()}")
            db.engine.dispose()

    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nmachine: {os.cpu_count()} cpus, Python {platform.python_version()}, "
          f"{dialect}; median of {args.repeat}; load average after: {load}")
    print("| File | Records | Run | Wall, median (s) | Importer CPU, median (s) |")
    print("|---|---:|---|---:|---:|")
    for kind, path in FILES:
        records = sum(1 for line in path.open("rb") if line.strip())
        for run in ("first import", "re-import"):
            wall = statistics.median(timings[(kind, run)])
            cpu = statistics.median(cpu_times[(kind, run)])
            print(f"| {path.name} ({kind}) | {records} | {run} | {wall:.2f} | {cpu:.2f} |")


if __name__ == "__main__":
    main()
