"""Concurrent writers against gunicorn with 4 workers (SECURITY.md item 28, issue [7/7] item 6).

25 writers x 100 writes each through HTTP, as browsers would: each logs in through the real
form with CSRF on (GUILD_ENV=development), then edits its own organisation's profile,
invites people to it and creates organisations, each write a GET of the form (for the CSRF
token and the profile version) and a timed POST. Afterwards: no response >= 500, no
"database is locked" in the server log, and the database holds exactly the writes the
clients were told succeeded. SQLite (WAL) always; PostgreSQL when TEST_DATABASE_URL is set.

Figures (write p50/p95) are printed and written to $HEAVY_FIGURES_DIR when it is set.
"""

import json
import os
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from bs4 import BeautifulSoup
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATABASE_URL, is_postgres

pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
WRITERS = int(os.environ.get("HEAVY_WRITERS", 25))
WRITES_PER_WRITER = int(os.environ.get("HEAVY_WRITES", 100))
REQUEST_TIMEOUT_S = 30
RUN_DEADLINE_S = 900  # the whole load phase; writers stop and the test fails beyond it
START_TIMEOUT_S = 60


# -- server ------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(instance: Path, database_url: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update({
        "GUILD_ENV": "development",  # CSRF on, real login; no TLS on loopback
        "GUILD_INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        # One address logs in 25 accounts at once; the throttle has its own tests.
        "FLASK_RATELIMIT_ENABLED": "false",
        "HEAVY_PASSWORD": "heavy drill passphrase " + secrets.token_hex(4),
        "PYTHONPATH": str(ROOT),
    })
    return env


def seed(env: dict[str, str]) -> list[dict]:
    out = subprocess.run([sys.executable, "-m", "tests.heavy.seed_heavy", str(WRITERS)],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@contextmanager
def gunicorn(env: dict[str, str], log_path: Path):
    port = free_port()
    argv = [str(Path(sys.executable).with_name("gunicorn")), "--workers", str(WORKERS),
            "--bind", f"127.0.0.1:{port}", "--timeout", "60", "--graceful-timeout", "10",
            "wsgi:app"]
    config = ROOT / "gunicorn.conf.py"
    if config.exists():  # as `make run` serves: with the search-index worker beside the web
        argv[1:1] = ["--config", str(config)]
    with log_path.open("w") as log:
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start in time"
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # workers still importing the app
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


# -- writers -----------------------------------------------------------------------------------

@dataclass
class Outcome:
    kind: str
    status: int
    seconds: float


@dataclass
class Writer:
    n: int
    email: str
    slug: str
    password: str
    base: str
    deadline: float
    outcomes: list[Outcome] = field(default_factory=list)
    reads: Counter = field(default_factory=Counter)
    error: str | None = None

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # reported by the test with the writer's number
            self.error = f"writer {self.n}: {exc!r}"

    def _run(self) -> None:
        s = requests.Session()
        token = self._form(s, "/login")[0]
        r = s.post(f"{self.base}/login", data={"email": self.email, "password": self.password,
                                               "csrf_token": token},
                   allow_redirects=False, timeout=REQUEST_TIMEOUT_S)
        assert r.status_code == 302, f"login answered {r.status_code}"
        for i in range(WRITES_PER_WRITER):
            if time.monotonic() > self.deadline:
                raise TimeoutError(f"run deadline passed after {i} writes")
            kind = ("profile", "profile", "invite", "invite", "create")[i % 5]
            if kind == "profile":
                url = f"/orgs/{self.slug}/profile/edit"
                token, page = self._form(s, url)
                data = {"name": f"Heavy Writer Firm {self.n}", "summary": f"Edit {i}",
                        "size": "", "version": page.find("input", {"name": "version"})["value"]}
            elif kind == "invite":
                token, _ = self._form(s, f"/orgs/{self.slug}/members")
                url = f"/orgs/{self.slug}/members/invite"
                data = {"email": f"invitee-{self.n}-{i}@heavy.example", "role": "member"}
            else:
                url = "/orgs/new"
                token, _ = self._form(s, url)
                data = {"name": f"Heavy {self.n} new firm {i}", "slug": "", "summary": ""}
            started = time.perf_counter()
            r = s.post(f"{self.base}{url}", data={**data, "csrf_token": token},
                       allow_redirects=False, timeout=REQUEST_TIMEOUT_S)
            self.outcomes.append(Outcome(kind, r.status_code, time.perf_counter() - started))

    def _form(self, s: requests.Session, path: str) -> tuple[str, BeautifulSoup]:
        r = s.get(f"{self.base}{path}", timeout=REQUEST_TIMEOUT_S)
        self.reads[r.status_code] += 1
        assert r.status_code == 200, f"GET {path} answered {r.status_code}"
        page = BeautifulSoup(r.text, "html.parser")
        return page.find("input", {"name": "csrf_token"})["value"], page


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 \
        else values[0]


# -- databases ---------------------------------------------------------------------------------

@contextmanager
def database(backend: str, tmp_path: Path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'instance' / 'guild.sqlite'}"
        return
    import psycopg

    url = make_url(TEST_DATABASE_URL)
    name = f"guild_heavy_{uuid.uuid4().hex[:12]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_state(database_url: str, instance: Path, slugs: list[str]) -> dict:
    from marketplace import create_app
    from marketplace.extensions import db
    from marketplace.models import Membership, Organisation, OrgInvitation, OrgRole

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x",
                      "GUILD_ENV": "test"})
    with app.app_context():
        try:
            orgs = {o.slug: o for o in db.session.scalars(
                select(Organisation).where(Organisation.slug.in_(slugs)))}
            owners = db.session.execute(
                select(Membership.organisation_id, func.count())
                .where(Membership.role == OrgRole.OWNER)
                .group_by(Membership.organisation_id)).all()
            return {
                "organisations": db.session.scalar(
                    select(func.count()).select_from(Organisation)),
                "invitations": {slug: db.session.scalar(
                    select(func.count()).select_from(OrgInvitation)
                    .where(OrgInvitation.organisation_id == orgs[slug].id)) for slug in slugs},
                "profile_versions": {slug: orgs[slug].profile.version if orgs[slug].profile
                                     else 0 for slug in slugs},
                "orgs_with_owners": len(owners),
                "orgs_without_exactly_one_owner": sum(1 for _, n in owners if n != 1),
            }
        finally:
            db.session.remove()
            db.engine.dispose()


# -- the test ----------------------------------------------------------------------------------

@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_writers_under_gunicorn(backend, tmp_path, capsys):
    if backend == "postgresql" and not is_postgres():
        pytest.skip("set TEST_DATABASE_URL to a PostgreSQL database")
    instance = tmp_path / "instance"
    instance.mkdir()
    log_path = tmp_path / "gunicorn.log"
    with database(backend, tmp_path) as database_url:
        env = server_env(instance, database_url)
        accounts = seed(env)
        with gunicorn(env, log_path) as base:
            deadline = time.monotonic() + RUN_DEADLINE_S
            writers = [Writer(n, a["email"], a["slug"], env["HEAVY_PASSWORD"], base, deadline)
                       for n, a in enumerate(accounts)]
            threads = [threading.Thread(target=w.run, daemon=True) for w in writers]
            started = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join(max(1.0, deadline - time.monotonic() + 60))
            wall = time.monotonic() - started
        log = log_path.read_text(errors="replace")
        state = database_state(database_url, instance, [a["slug"] for a in accounts])

    outcomes = [o for w in writers for o in w.outcomes]
    statuses = Counter(o.status for o in outcomes)
    latencies = sorted(o.seconds for o in outcomes)
    figures = {
        "backend": backend, "workers": WORKERS, "writers": WRITERS,
        "writes_per_writer": WRITES_PER_WRITER, "writes": len(outcomes),
        "wall_s": round(wall, 1), "writes_per_s": round(len(outcomes) / wall, 1),
        "statuses": dict(statuses),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "p95_ms_by_kind": {kind: round(percentile(sorted(
            o.seconds for o in outcomes if o.kind == kind), 95) * 1000, 1)
            for kind in ("profile", "invite", "create")},
    }
    with capsys.disabled():
        print(f"\n[heavy] gunicorn concurrency: {json.dumps(figures)}")
    if os.environ.get("HEAVY_FIGURES_DIR"):
        out = Path(os.environ["HEAVY_FIGURES_DIR"]) / f"gunicorn_concurrency_{backend}.json"
        out.write_text(json.dumps(figures, indent=2))

    assert [w.error for w in writers if w.error] == []
    assert not any(t.is_alive() for t in threads), "writers still running after the deadline"
    assert "database is locked" not in log.lower()
    assert "Traceback" not in log, log[log.index("Traceback"):][:3000]
    assert all(s < 500 for s in statuses), statuses
    assert all(s < 500 for w in writers for s in w.reads), [w.reads for w in writers]
    assert len(outcomes) == WRITERS * WRITES_PER_WRITER
    assert statuses == {302: len(outcomes)}, statuses  # every write succeeded (PRG redirect)

    # Invariants: the database holds exactly the writes the clients were told succeeded.
    ok = Counter((w.slug, o.kind) for w in writers for o in w.outcomes if o.status == 302)
    created = sum(n for (_, kind), n in ok.items() if kind == "create")
    assert state["organisations"] == WRITERS + created
    assert state["orgs_with_owners"] == state["organisations"]
    assert state["orgs_without_exactly_one_owner"] == 0
    assert state["invitations"] == {w.slug: ok[(w.slug, "invite")] for w in writers}
    assert state["profile_versions"] == {w.slug: ok[(w.slug, "profile")] for w in writers}
