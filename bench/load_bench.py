"""Load benchmark: 50 people browsing, searching and bidding against gunicorn on loopback.

SECURITY.md / issue [7/7] item 9. Steps, each timed:

1. a fresh instance (a temporary folder; SQLite in it, or with ``--database-url`` a new
   database created on that PostgreSQL server and dropped afterwards);
2. the schema from the models and the demo (``seed_demo``: firms, buyers, UK tenders,
   alliances, bids);
3. scaled to 10,000 organisations and 2,000 tenders through the real importers (``flask
   import tenders`` / ``flask import organisations``) from the shared data sets, copied with
   new ids until the counts are reached; tenders get deadlines 7-90 days ahead (open);
4. ``flask search rebuild``;
5. gunicorn with ``gunicorn.conf.py`` (4 sync workers plus the search-index worker) on
   127.0.0.1, ``GUILD_ENV=development`` (CSRF on, real logins; login throttling off: 50
   users share one address);
6. ``locust --headless`` with bench/load/locustfile.py: 50 users (4 in 5 anonymous browsers
   and searchers, 1 in 5 demo firm owners who also start and edit draft bids), 1-4 s think
   time, for ``--run-time`` (2 minutes);
7. p50/p95 per page and error % from locust's CSV into ``results.json`` and
   ``results.csv`` in ``--out``, and a table on stdout. Exit status 1 if any request failed
   or the server logged a traceback.

    .venv/bin/python bench/load_bench.py                               # SQLite
    .venv/bin/python bench/load_bench.py --database-url \\
        postgresql+psycopg://postgres@127.0.0.1:5432/postgres            # a new database there
"""

import argparse
import csv
import json
import os
import platform
import random
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BIN = Path(sys.executable).parent
ORG_SOURCES = ("matching/uk_dev/businesses.jsonl", "matching/ca_dev/businesses.jsonl")
TENDER_SOURCES = ("demo/tenders_uk.jsonl", "matching/uk_dev/tenders.jsonl",
                  "matching/ca_dev/tenders.jsonl")
COPY_SUFFIXES = ("North", "South", "East", "West", "Services", "Group", "Partners", "Works",
                 "Trading", "Solutions", "Contractors", "Associates", "Co-op", "Holdings")
# Words people search for: trades, services and places that occur in the data.
SEARCH_WORDS = [
    "roofing", "scaffolding", "electrical", "plumbing", "heating", "landscaping", "cleaning",
    "catering", "software", "security", "construction", "consultancy", "training",
    "transport", "maintenance", "design", "fencing", "printing", "translation", "housing",
    "advice", "school", "repairs", "road", "drainage", "lighting", "furniture", "waste",
    "recycling", "legal", "audit", "insurance", "medical", "engineering", "surveying",
    "painting", "joinery", "windows", "carpentry", "demolition", "asbestos", "cctv",
    "bristol", "london", "ontario", "toronto", "council", "defence", "meals", "janitorial",
]
DEMO_PASSWORD = "load bench passphrase " + secrets.token_hex(4)


def log(message: str) -> None:
    print(f"[load] {message}", flush=True)


# -- the instance -----------------------------------------------------------------------------

@contextmanager
def database(server_url: str | None, instance: Path, keep: bool):
    if not server_url:
        yield f"sqlite:///{instance / 'guild.sqlite'}"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    name = f"guild_load_{uuid.uuid4().hex[:10]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        if keep:
            log(f"kept database {name}")
        else:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(instance: Path, database_url: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update({
        "GUILD_ENV": "development",
        "GUILD_INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        "DEMO_PASSWORD": DEMO_PASSWORD,
        "FLASK_APP": "wsgi:app",
        "FLASK_RATELIMIT_ENABLED": "false",  # 50 users log in from one address
        "PYTHONPATH": str(ROOT),
    })
    return env


def run(argv: list[str], env: dict, timeout: int = 1800) -> str:
    out = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=timeout, check=False)
    if out.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
    return out.stdout


def step(name: str, timings: dict, fn, *args, **kwargs):
    started = time.monotonic()
    result = fn(*args, **kwargs)
    timings[name] = round(time.monotonic() - started, 1)
    said = result.strip().splitlines()[-1] if isinstance(result, str) and result.strip() else ""
    log(f"{name}: {timings[name]} s" + (f" ({said})" if said else ""))
    return result


# -- in the app (a subprocess: `load_bench.py --app-step NAME`, with the instance's env) --------

def app_step(name: str, target: int, path: Path | None) -> None:
    from sqlalchemy import func, select

    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.models import Membership, Organisation, OrgRole, Tender, TenderStatus, User

    app = create_app()
    with app.app_context():
        if name == "schema":
            from marketplace import seed
            from marketplace.cpv import load_cpv_codes

            db.create_all()
            load_cpv_codes()
            result = seed.seed_demo(os.environ["DEMO_PASSWORD"])
            db.session.commit()
            print(json.dumps({"organisations": result.organisations,
                              "tenders": result.tenders}))
        elif name == "count":
            model = Organisation if path and path.name.startswith("org") else Tender
            have = db.session.scalar(select(func.count()).select_from(model))
            write_copies(path, max(0, target - have), random.Random(target))
            print(json.dumps({"have": have, "written": max(0, target - have)}))
        elif name == "collect":
            from marketplace.data.demo_businesses import demo_businesses

            emails = {b["owner"]["email"].lower() for b in demo_businesses()}
            bidders = list(db.session.scalars(
                select(User.email).join(Membership).where(
                    User.email.in_(emails), Membership.role == OrgRole.OWNER)))
            now = datetime.now(UTC)
            tenders = list(db.session.scalars(select(Tender.id).where(
                Tender.status == TenderStatus.OPEN, Tender.deadline > now)))
            orgs = list(db.session.scalars(select(Organisation.slug).where(
                Organisation.hidden_at.is_(None))))
            counts = {"organisations": db.session.scalar(
                          select(func.count()).select_from(Organisation)),
                      "tenders": db.session.scalar(select(func.count()).select_from(Tender)),
                      "open_tenders": len(tenders)}
            path.write_text(json.dumps({
                "tenders": tenders, "orgs": orgs, "bidders": sorted(bidders),
                "password": os.environ["DEMO_PASSWORD"], "words": SEARCH_WORDS}))
            print(json.dumps(counts))


def write_copies(path: Path, count: int, rng: random.Random) -> None:
    """``count`` records from the shared data sets, copied with new ids and names."""
    sources = ORG_SOURCES if path.name.startswith("org") else TENDER_SOURCES
    records = list({r["id"]: r for r in (  # the dev sets share records with the demo file
        json.loads(line) for src in sources
        for line in (SHARED / src).read_text("utf-8").splitlines() if line.strip())}.values())
    now = datetime.now(UTC)
    with path.open("w", encoding="utf-8") as f:
        for i in range(count):
            record = dict(records[i % len(records)])
            copy = i // len(records)
            record["id"] = f"load-{copy}-{record['id']}"
            if path.name.startswith("org"):
                if copy:
                    record["name"] = (f"{record['name'][:100]} "
                                      f"{COPY_SUFFIXES[copy % len(COPY_SUFFIXES)]}")
            else:
                record.pop("status", None)
                record.pop("date", None)
                if copy:
                    record["title"] = f"{record['title'][:280]} (lot {copy + 1})"
                record["deadline"] = (now + timedelta(days=rng.randint(7, 90))).strftime(
                    "%Y-%m-%dT12:00:00Z")
            f.write(json.dumps(record) + "\n")


# -- gunicorn and locust ----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn(env: dict, log_path: Path, workers: int):
    import requests

    port = free_port()
    argv = [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"),
            "--workers", str(workers), "--bind", f"127.0.0.1:{port}", "--timeout", "120",
            "wsgi:app"]
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                sys.exit(f"gunicorn exited:\n{log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                sys.exit("gunicorn did not start in time")
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass
            time.sleep(0.3)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def warm_up(base: str, data: dict, workers: int) -> dict:
    """Each worker opens the index and fills its caches once, as a running site has; and a
    check that tender pages do show matches (the costly part measured)."""
    import requests

    pages = with_matches = 0
    for i in range(workers * 4):
        requests.get(f"{base}/search", params={"q": SEARCH_WORDS[i]}, timeout=120)
        r = requests.get(f"{base}/tenders/{data['tenders'][i]}", timeout=120)
        pages += 1
        with_matches += r.status_code == 200 and 'id="matches"' in r.text
    log(f"warm-up: {with_matches} of {pages} tender pages show matches")
    return {"tender_pages": pages, "with_matches": with_matches}


def run_locust(env: dict, base: str, out: Path, args) -> None:
    argv = [str(BIN / "locust"), "-f", str(ROOT / "bench" / "load" / "locustfile.py"),
            "--headless", "--users", str(args.users), "--spawn-rate", str(args.spawn_rate),
            "--run-time", args.run_time, "--host", base, "--csv", str(out / "locust"),
            "--only-summary", "--stop-timeout", "30", "--loglevel", "WARNING"]
    proc = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=parse_seconds(args.run_time) + 300, check=False)
    (out / "locust.log").write_text(proc.stdout + proc.stderr)


def parse_seconds(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600}
    return int(text[:-1]) * units[text[-1]] if text[-1] in units else int(text)


# -- figures ----------------------------------------------------------------------------------

def read_stats(out: Path) -> list[dict]:
    rows = []
    with (out / "locust_stats.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            n, failures = int(row["Request Count"]), int(row["Failure Count"])
            rows.append({
                "page": row["Name"] if row["Name"] != "Aggregated" else "all requests",
                "method": row["Type"], "requests": n, "failures": failures,
                "error_pct": round(100 * failures / n, 2) if n else 0.0,
                "p50_ms": float(row["50%"] or 0), "p95_ms": float(row["95%"] or 0),
                "p99_ms": float(row["99%"] or 0), "max_ms": round(float(row["Max Response Time"]
                                                                        or 0)),
                "rps": round(float(row["Requests/s"] or 0), 2)})
    return rows


def machine() -> dict:
    info = {"nproc": os.cpu_count(), "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "loadavg": os.getloadavg()}
    for package in ("gunicorn", "locust", "whoosh"):
        info[package] = metadata.version(package)  # importing locust would monkey-patch
    return info


def table(rows: list[dict]) -> str:
    lines = ["| Page | Requests | Errors | Error % | p50 (ms) | p95 (ms) | p99 (ms) | Max (ms) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        page = r["page"] if r["method"] in ("GET", "") else f"{r['page']}"
        lines.append(f"| {page} | {r['requests']:,} | {r['failures']} | {r['error_pct']:.2f} | "
                     f"{r['p50_ms']:,.0f} | {r['p95_ms']:,.0f} | {r['p99_ms']:,.0f} | "
                     f"{r['max_ms']:,} |")
    return "\n".join(lines)


# -- main -------------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a PostgreSQL server: a new database is made "
                                               "on it (and dropped afterwards)")
    parser.add_argument("--organisations", type=int, default=10_000)
    parser.add_argument("--tenders", type=int, default=2_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10)
    parser.add_argument("--run-time", default="2m")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--out", type=Path, help="where the figures go [default: a new "
                                                 "guild_load_results_* in the temp folder]")
    parser.add_argument("--keep", action="store_true", help="keep the instance and database")
    parser.add_argument("--app-step", help=argparse.SUPPRESS)
    parser.add_argument("--target", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.app_step:
        app_step(args.app_step, args.target, args.path)
        return 0

    instance = Path(tempfile.mkdtemp(prefix="guild_load_"))
    out = args.out or Path(tempfile.mkdtemp(prefix="guild_load_results_"))
    out.mkdir(parents=True, exist_ok=True)
    try:
        return measure(args, instance, out)
    finally:
        if args.keep:
            log(f"kept the instance in {instance}")
        else:
            shutil.rmtree(instance, ignore_errors=True)


def measure(args, instance: Path, out: Path) -> int:
    timings: dict[str, float] = {}
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    me = [sys.executable, str(Path(__file__).resolve()), "--app-step"]
    with database(args.database_url, instance, args.keep) as database_url:
        env = server_env(instance, database_url)
        flask = str(BIN / "flask")
        step("schema and demo", timings, run, [*me, "schema"], env)
        tenders_file, orgs_file = instance / "tenders.jsonl", instance / "orgs.jsonl"
        # Tenders first: their buyers are organisations too, and count towards the total.
        step("write tender copies", timings, run,
             [*me, "count", "--target", str(args.tenders), "--path", str(tenders_file)], env)
        step("flask import tenders", timings, run,
             [flask, "import", "tenders", str(tenders_file), "--source", "load-bench"], env)
        step("write organisation copies", timings, run,
             [*me, "count", "--target", str(args.organisations), "--path", str(orgs_file)], env)
        step("flask import organisations", timings, run,
             [flask, "import", "organisations", str(orgs_file), "--source", "load-bench"], env)
        step("flask search rebuild", timings, run, [flask, "search", "rebuild"], env)
        data_file = instance / "load_data.json"
        counts = json.loads(run([*me, "collect", "--path", str(data_file)], env)
                            .strip().splitlines()[-1])
        data = json.loads(data_file.read_text())
        log(f"data: {counts}, {len(data['bidders'])} bidder accounts")
        log_path = out / "gunicorn.log"
        with gunicorn(env, log_path, args.workers) as base:
            warm = step("warm-up", timings, warm_up, base, data, args.workers)
            load_before = os.getloadavg()
            log(f"locust: {args.users} users for {args.run_time} against {base}")
            step("locust", timings, run_locust, {**env, "GUILD_LOAD_DATA": str(data_file)},
                 base, out, args)
        server_log = log_path.read_text(errors="replace")

    rows = read_stats(out)
    total = next(r for r in rows if r["page"] == "all requests")
    tracebacks = server_log.count("Traceback")
    result = {
        "started_at": started_at, "database": "postgresql" if args.database_url else "sqlite",
        "organisations": counts["organisations"], "tenders": counts["tenders"],
        "open_tenders": counts["open_tenders"], "users": args.users,
        "run_time": args.run_time, "workers": args.workers, "timings_s": timings,
        "machine": {**machine(), "loadavg_before_locust": load_before},
        "warm_up_tender_pages_with_matches": warm, "server_tracebacks": tracebacks,
        "database_locked": server_log.lower().count("database is locked"),
        "requests": total["requests"], "failures": total["failures"],
        "error_pct": total["error_pct"], "pages": rows,
    }
    (out / "results.json").write_text(json.dumps(result, indent=2))
    with (out / "results.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(table(rows))
    log(f"{total['requests']:,} requests, {total['failures']} failed "
        f"({total['error_pct']:.2f} %), {tracebacks} server tracebacks; figures in {out}")
    if total["failures"]:
        failures = out / "locust_failures.csv"
        print(failures.read_text() if failures.exists() else "")
    return 1 if total["failures"] or tracebacks else 0


if __name__ == "__main__":
    sys.exit(main())
