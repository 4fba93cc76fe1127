"""Shared pieces of the heavy crash-safety and backup drills (SECURITY.md items 29, 30, 31).

A scratch database per test (a SQLite file, or a PostgreSQL database created and dropped
here), a seed run in a subprocess (``python -m tests.heavy.server seed N``), gunicorn started
on a free loopback port whose worker pids can be listed (to SIGKILL them), a browser-like
client that logs in and submits the real forms with their CSRF tokens, the ``flask`` command
line, the integrity check (SQLite pragmas plus domain invariants on both databases) and the
search index's stored documents.
"""

import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests
from bs4 import BeautifulSoup
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
START_TIMEOUT_S = 90
REQUEST_TIMEOUT_S = 30
TENDER_TITLE = "Crash drill roof repairs"
SESSION_COOKIE = "guild_session"

# What a client sees when the worker serving it is killed: no connection, no answer, or an
# answer cut off mid-body (the headers arrived, the rest never will).
CUT_OFF = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


# -- databases ---------------------------------------------------------------------------------

@contextmanager
def database(backend: str, tmp_path: Path):
    """The URL of an empty database for one test: a file under tmp_path, or a scratch
    PostgreSQL database beside TEST_DATABASE_URL's, dropped afterwards."""
    if backend == "sqlite":
        (tmp_path / "instance").mkdir(exist_ok=True)
        yield f"sqlite:///{tmp_path / 'instance' / 'guild.sqlite'}"
        return
    with scratch_postgres() as url:
        yield url


@contextmanager
def scratch_postgres():
    import psycopg

    from tests.conftest import TEST_DATABASE_URL

    url = make_url(TEST_DATABASE_URL)
    name = f"guild_crash_{uuid.uuid4().hex[:12]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(instance: Path, database_url: str, *, fault_points=(),
               password: str | None = None, index_dir: Path | None = None) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "VIRTUAL_ENV")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    instance.mkdir(parents=True, exist_ok=True)
    env.update({
        "GUILD_ENV": "development",  # CSRF on, real login; no TLS on loopback
        "GUILD_INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "SECRET_KEY": secrets.token_hex(32),
        "FLASK_RATELIMIT_ENABLED": "false",  # many logins from one address; throttle tested apart
        "HEAVY_PASSWORD": password or "heavy drill passphrase " + secrets.token_hex(4),
        "PYTHONPATH": str(ROOT),
        "FLASK_APP": "wsgi:app",
        # The tests run the index worker themselves, when and with which fault they choose.
        "GUILD_SEARCH_WORKER": "0",
    })
    if fault_points:
        env["FLASK_FAULT_POINTS"] = json.dumps(list(fault_points))
    if index_dir is not None:
        env["FLASK_SEARCH_INDEX_DIR"] = str(index_dir)
    return env


def with_faults(env: dict[str, str], *points: str) -> dict[str, str]:
    env = {k: v for k, v in env.items() if k != "FLASK_FAULT_POINTS"}
    if points:
        env["FLASK_FAULT_POINTS"] = json.dumps(list(points))
    return env


def seed(env: dict[str, str], writers: int) -> dict:
    out = subprocess.run([sys.executable, "-m", "tests.heavy.server", "seed", str(writers)],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def flask(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """``flask ARGS`` in a subprocess of its own (a SIGKILL there ends only that process)."""
    return subprocess.run([str(BIN / "flask"), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, check=False)


# -- gunicorn ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (from /proc: psutil is not installed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        # "pid (comm) state ppid ...": comm may hold spaces, so split after the last ")"
        if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
            found.append(int(entry.name))
    return found


class Gunicorn:
    def __init__(self, env: dict[str, str], log_path: Path, workers: int = 4):
        self.env, self.log_path, self.workers = env, log_path, workers
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Gunicorn":
        argv = [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py"),
                "--workers", str(self.workers), "--bind", f"127.0.0.1:{self.port}",
                "--timeout", "60", "--graceful-timeout", "10", "wsgi:app"]
        with self.log_path.open("a") as log:
            self.proc = subprocess.Popen(argv, env=self.env, cwd=ROOT, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            assert self.proc.poll() is None, self.log()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start in time"
            try:
                if requests.get(f"{self.base}/healthz", timeout=5).status_code == 200:
                    return self
            except CUT_OFF:
                pass  # workers still importing the app
            time.sleep(0.2)

    def worker_pids(self) -> list[int]:
        pids = []
        for pid in children(self.proc.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"gunicorn" in cmdline:
                pids.append(pid)
        return pids

    def wait_workers(self, timeout: float = 60) -> list[int]:
        deadline = time.monotonic() + timeout
        while len(pids := self.worker_pids()) < self.workers:
            assert time.monotonic() < deadline, f"only {len(pids)} workers after {timeout} s"
            time.sleep(0.1)
        return pids

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def __enter__(self) -> "Gunicorn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


# -- a browser ---------------------------------------------------------------------------------

class NoForm(AssertionError):
    pass


def form_data(page: BeautifulSoup, action: str) -> dict[str, str]:
    """What a browser would post from the POST form whose action ends with ``action``: hidden
    and text fields, checked boxes, selected options, text areas."""
    for form in page.find_all("form"):
        if (form.get("method") or "get").lower() != "post":
            continue
        target = form.get("action") or ""
        if target.split("?")[0].endswith(action):
            break
    else:
        raise NoForm(f"no POST form to {action}")
    data: dict[str, str] = {}
    for field in form.find_all(["input", "select", "textarea"]):
        name = field.get("name")
        if not name:
            continue
        if field.name == "textarea":
            text = field.get_text()  # a browser drops the one newline after <textarea>
            data[name] = text[2:] if text.startswith("\r\n") else text.removeprefix("\n")
        elif field.name == "select":
            chosen = field.find("option", selected=True) or field.find("option")
            data[name] = chosen.get("value", chosen.get_text()) if chosen else ""
        else:
            kind = (field.get("type") or "text").lower()
            if kind in ("submit", "button", "file", "image"):
                continue
            if kind in ("checkbox", "radio") and not field.has_attr("checked"):
                continue
            data[name] = field.get("value", "on" if kind == "checkbox" else "")
    return data


class Browser:
    def __init__(self, base: str, email: str, password: str):
        self.base, self.email, self.password = base, email, password
        self.session = requests.Session()

    def get(self, path: str) -> requests.Response:
        return self.session.get(f"{self.base}{path}", timeout=REQUEST_TIMEOUT_S)

    def page(self, path: str) -> BeautifulSoup:
        r = self.get(path)
        assert r.status_code == 200, f"GET {path} answered {r.status_code}"
        return BeautifulSoup(r.text, "html.parser")

    def form(self, path: str, action: str | None = None) -> dict[str, str]:
        return form_data(self.page(path), action or path)

    def post(self, path: str, data: dict[str, str]) -> requests.Response:
        return self.session.post(f"{self.base}{path}", data=data, allow_redirects=False,
                                 timeout=REQUEST_TIMEOUT_S)

    def login(self) -> None:
        data = self.form("/login")
        data.update(email=self.email, password=self.password)
        r = self.post("/login", data)
        assert r.status_code == 302, f"login answered {r.status_code}"


# -- writers under load -----------------------------------------------------------------------

@dataclass
class Write:
    kind: str  # profile, invite, bid_edit, approve
    key: tuple  # what the database must then hold
    outcome: str  # "ok" (success flashed), "refused" (the app said no), "unknown" (cut off)
    status: int | None


def flashes(response: requests.Response, secret_key: str) -> list[tuple[str, str]]:
    """The messages flashed by this response, read from its signed session cookie."""
    from flask import Flask
    from flask.sessions import SecureCookieSessionInterface

    cookie = response.cookies.get(SESSION_COOKIE)
    if not cookie:
        return []
    reader = Flask("flash-reader")
    reader.secret_key = secret_key
    data = SecureCookieSessionInterface().get_signing_serializer(reader).loads(cookie)
    return [tuple(f) for f in data.get("_flashes", [])]


class LoadWriter:
    """One user's write loop through the real forms: edit the lead organisation's profile,
    invite someone to it, edit the joint bid (a new version), approve it for the lead and
    for the partner (the last approval submits it). Every write's outcome is kept, so the
    database can be held to what the client was told."""

    CYCLE = ("profile", "invite", "bid_edit", "approve_lead", "approve_partner")

    def __init__(self, n: int, account: dict, password: str, base: str, secret_key: str,
                 stop: threading.Event):
        self.n, self.account, self.stop, self.secret_key = n, account, stop, secret_key
        self.browser = Browser(base, account["email"], password)
        self.writes: list[Write] = []
        self.cut_reads = 0  # GETs cut off by a killed worker (retried)
        self.bad_statuses: list[tuple[str, int]] = []  # >= 500, or a GET that is not 200
        self.error: str | None = None
        self.skipped = 0

    def run(self) -> None:
        try:
            self._retry(self.browser.login)
            i = 0
            while not self.stop.is_set():
                self._write(self.CYCLE[i % len(self.CYCLE)], i)
                i += 1
        except Exception as exc:  # reported by the test with the writer's number
            self.error = f"writer {self.n}: {exc!r}"

    def _retry(self, fn, *args):
        for _ in range(50):
            try:
                return fn(*args)
            except CUT_OFF:
                self.cut_reads += 1
                time.sleep(0.2)
        raise AssertionError("50 connection errors in a row")

    def _form(self, path: str, action: str | None = None) -> dict[str, str]:
        def get():
            r = self.browser.get(path)
            if r.status_code != 200:
                self.bad_statuses.append((f"GET {path}", r.status_code))
                raise AssertionError(f"GET {path} answered {r.status_code}")
            return form_data(BeautifulSoup(r.text, "html.parser"), action or path)

        return self._retry(get)

    def _write(self, kind: str, i: int) -> None:
        a, tag = self.account, f"{self.n}-{i}-{secrets.token_hex(3)}"
        if kind == "profile":
            path = f"/orgs/{a['lead_slug']}/profile/edit"
            data = self._form(path)
            data["summary"] = f"Edit {tag}"
            key = (a["lead_id"], tag)
        elif kind == "invite":
            path = f"/orgs/{a['lead_slug']}/members/invite"
            data = self._form(f"/orgs/{a['lead_slug']}/members", path)
            data.update(email=f"invitee-{tag}@crash.example", role="member")
            key = (data["email"],)
        elif kind == "bid_edit":
            path = f"/bids/{a['bid_id']}/edit"
            data = self._form(path)
            data["price"] = f"{80000 + i}.{self.n % 100:02d}"
            key = (a["bid_id"], int(data["version"]) + 1, data["price"])
        else:
            path = f"/bids/{a['bid_id']}/approve"
            try:
                data = self._form(path)
            except NoForm:  # nothing to approve: the edit before it was cut off unapplied
                self.skipped += 1
                return
            org = a["lead_id"] if kind == "approve_lead" else a["partner_id"]
            data.update(organisation_id=str(org), confirm="y")
            key = (a["bid_id"], int(data["version"]), org)
        try:
            r = self.browser.post(path, data)
        except CUT_OFF:
            self.writes.append(Write(kind, key, "unknown", None))
            return
        if r.status_code >= 500:
            self.bad_statuses.append((f"POST {path}", r.status_code))
            self.writes.append(Write(kind, key, "unknown", r.status_code))
            return
        said = [c for c, _ in flashes(r, self.secret_key)]
        ok = r.status_code == 302 and said and said[-1] == "success"
        self.writes.append(Write(kind, key, "ok" if ok else "refused", r.status_code))


# -- integrity ---------------------------------------------------------------------------------

def app_for(database_url: str, **config):
    from marketplace import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x",
                       "GUILD_ENV": "test", **config})


@contextmanager
def app_session(database_url: str):
    from marketplace.extensions import db

    app = app_for(database_url)
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.remove()
            db.engine.dispose()


def integrity_problems(database_url: str) -> list[str]:
    """Empty when the database is sound: SQLite's own checks, then the domain invariants a
    partial write would break (on both databases)."""
    problems = []
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(url.database, timeout=30)) as conn:
            result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            if result != ["ok"]:
                problems.append(f"integrity_check: {result[:5]}")
            fk = conn.execute("PRAGMA foreign_key_check").fetchall()
            if fk:
                problems.append(f"foreign_key_check: {fk[:5]}")
    with app_session(database_url) as session:
        problems += invariant_problems(session)
    return problems


def invariant_problems(session) -> list[str]:
    from collections import Counter

    from sqlalchemy import func, select

    from marketplace.models import (
        AuditEvent,
        Bid,
        BidApproval,
        BidMember,
        BidState,
        BidVersion,
        Membership,
        Organisation,
        OrgRole,
    )

    problems = []
    owners = dict(session.execute(
        select(Organisation.id, func.count(Membership.id))
        .outerjoin(Membership, (Membership.organisation_id == Organisation.id)
                   & (Membership.role == OrgRole.OWNER))
        .group_by(Organisation.id)).all())
    if bad := [o for o, n in owners.items() if n != 1]:
        problems.append(f"organisations without exactly one owner: {bad[:10]}")

    bids = {b.id: b for b in session.scalars(select(Bid))}
    members: dict[int, set[int]] = {}
    for bid_id, org_id in session.execute(select(BidMember.bid_id, BidMember.organisation_id)):
        members.setdefault(bid_id, set()).add(org_id)
    versions: dict[int, dict[int, str]] = {}
    for v in session.scalars(select(BidVersion)):
        versions.setdefault(v.bid_id, {})[v.number] = v.content_hash
    approvals = list(session.scalars(select(BidApproval)))
    events = Counter()
    approved_events = Counter()
    for e in session.scalars(select(AuditEvent).where(AuditEvent.subject_kind == "bid")):
        events[(e.subject_id, e.action)] += 1
        if e.action == "approved":
            approved_events[(e.subject_id, e.version, e.actor_org_id)] += 1
    approval_keys = Counter((a.bid_id, a.version, a.organisation_id) for a in approvals)
    if approval_keys != approved_events:
        problems.append(f"approval rows != 'approved' audit events: "
                        f"{list((approval_keys - approved_events).items())[:5]} / "
                        f"{list((approved_events - approval_keys).items())[:5]}")
    for a in approvals:
        bid = bids[a.bid_id]
        if a.version > bid.version or versions.get(a.bid_id, {}).get(a.version) != a.content_hash:
            problems.append(f"approval {a.id} of bid {a.bid_id} v{a.version} matches no "
                            "frozen version")
        if a.version == bid.version and a.organisation_id not in members.get(bid.id, set()):
            problems.append(f"approval {a.id}: organisation {a.organisation_id} not on the bid")
    per_version = Counter((a.bid_id, a.version) for a in approvals)
    for bid in bids.values():
        numbers = sorted(versions.get(bid.id, {}))
        if numbers != list(range(1, bid.version + 1)):
            problems.append(f"bid {bid.id} at v{bid.version} has frozen versions {numbers}")
        if events[(bid.id, "created")] != 1 or \
                events[(bid.id, "edited")] != bid.version - 1:
            problems.append(f"bid {bid.id} v{bid.version}: {events[(bid.id, 'created')]} "
                            f"'created', {events[(bid.id, 'edited')]} 'edited' events")
        n_members = len(members.get(bid.id, ()))
        complete = [v for (b, v), n in per_version.items() if b == bid.id and n == n_members]
        if any(n > n_members for (b, _), n in per_version.items() if b == bid.id):
            problems.append(f"bid {bid.id}: more approvals than members")
        if bid.state == BidState.SUBMITTED and bid.version not in complete:
            problems.append(f"bid {bid.id} submitted without every approval of v{bid.version}")
        if bid.state == BidState.AWAITING_APPROVAL and bid.version in complete:
            problems.append(f"bid {bid.id}: every approval of v{bid.version}, not submitted")
        if events[(bid.id, "submitted")] != len(complete):
            problems.append(f"bid {bid.id}: {events[(bid.id, 'submitted')]} 'submitted' "
                            f"events for {len(complete)} fully approved versions")
    return problems


def lost_or_phantom_writes(database_url: str, writers: list[LoadWriter],
                           seeded_bid_version: int = 3) -> list[str]:
    """Empty when every write the clients were told succeeded is in the database, and the
    database holds no write that no client made (a cut-off write may have landed or not)."""
    from decimal import Decimal

    from sqlalchemy import select

    from marketplace.models import BidApproval, BidVersion, OrgInvitation, Profile

    writes = [w for wr in writers for w in wr.writes]
    by = {(kind, outcome): [w.key for w in writes if w.kind == kind and w.outcome == outcome]
          for kind in ("profile", "invite", "bid_edit", "approve_lead", "approve_partner")
          for outcome in ("ok", "unknown")}
    problems = []
    with app_session(database_url) as session:
        org_ids = [wr.account["lead_id"] for wr in writers]
        versions = dict(session.execute(select(Profile.organisation_id, Profile.version)
                                        .where(Profile.organisation_id.in_(org_ids))).all())
        for org_id in org_ids:
            ok = sum(1 for k in by[("profile", "ok")] if k[0] == org_id)
            cut = sum(1 for k in by[("profile", "unknown")] if k[0] == org_id)
            if not ok <= versions[org_id] - 1 <= ok + cut:
                problems.append(f"organisation {org_id}: profile v{versions[org_id]} after "
                                f"{ok} acknowledged and {cut} cut-off edits")

        emails = set(session.scalars(select(OrgInvitation.email)))
        ok, cut = {k[0] for k in by[("invite", "ok")]}, {k[0] for k in by[("invite", "unknown")]}
        if lost := ok - emails:
            problems.append(f"acknowledged invitations missing: {sorted(lost)[:5]}")
        if phantom := emails - ok - cut:
            problems.append(f"invitations nobody made: {sorted(phantom)[:5]}")

        frozen = {(v.bid_id, v.number): Decimal(v.content["price"])
                  for v in session.scalars(select(BidVersion)
                                           .where(BidVersion.number > seeded_bid_version))}
        ok = {(b, v): Decimal(p) for b, v, p in by[("bid_edit", "ok")]}
        cut = {(b, v, Decimal(p)) for b, v, p in by[("bid_edit", "unknown")]}
        if lost := [k for k, price in ok.items() if frozen.get(k) != price]:
            problems.append(f"acknowledged bid edits missing: {lost[:5]}")
        if phantom := [k for k, price in frozen.items()
                       if ok.get(k) != price and (*k, price) not in cut]:
            problems.append(f"bid versions nobody saved: {phantom[:5]}")

        approvals = {tuple(r) for r in session.execute(select(
            BidApproval.bid_id, BidApproval.version, BidApproval.organisation_id))}
        ok = set(by[("approve_lead", "ok")] + by[("approve_partner", "ok")])
        cut = set(by[("approve_lead", "unknown")] + by[("approve_partner", "unknown")])
        if lost := ok - approvals:
            problems.append(f"acknowledged approvals missing: {sorted(lost)[:5]}")
        if phantom := approvals - ok - cut:
            problems.append(f"approvals nobody gave: {sorted(phantom)[:5]}")
    return problems


# -- the search index --------------------------------------------------------------------------

def index_documents(path: Path) -> dict[str, dict]:
    """Every stored document of the index at ``path``, by doc id (it must open)."""
    from marketplace.search.index import open_index

    ix = open_index(str(path))
    try:
        with ix.searcher() as s:
            return {d["doc_id"]: d for d in s.all_stored_fields()}
    finally:
        ix.close()


def index_status(env: dict[str, str]) -> dict:
    out = flask(env, "search", "status", "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout)


def rebuilt_documents(env: dict[str, str], into: Path) -> dict[str, dict]:
    """A fresh ``flask search rebuild`` of the database into another folder."""
    out = flask({**with_faults(env), "FLASK_SEARCH_INDEX_DIR": str(into)},
                "search", "rebuild")
    assert out.returncode == 0, out.stderr[-3000:]
    return index_documents(into)


# -- the seed ----------------------------------------------------------------------------------

def _seed(writers: int) -> dict:
    """A buyer with an open tender; per writer an account owning two organisations with
    published profiles and a joint bid of the two, awaiting approval."""
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from flask import g

    from marketplace import create_app
    from marketplace.bids import services as bids
    from marketplace.cpv import load_cpv_codes
    from marketplace.extensions import db
    from marketplace.models import (
        BidRole,
        Profile,
        ProfileCapability,
        ProfileCpvCode,
        Tender,
        TenderCpvCode,
        TenderStatus,
        User,
    )
    from marketplace.orgs.services import create_organisation
    from marketplace.passwords import hash_password

    app = create_app()
    now = datetime.now(UTC)
    with app.app_context():
        db.create_all()
        load_cpv_codes()
        password_hash = hash_password(os.environ["HEAVY_PASSWORD"])
        buyer_user = User(email="buyer@crash.example", display_name="Crash Buyer",
                          password_hash=password_hash)
        db.session.add(buyer_user)
        buyer = create_organisation(buyer_user, "Crash Drill Council", "Buys roofs",
                                    "crash-council", is_buyer=True)
        tender = Tender(buyer=buyer, title=TENDER_TITLE, description="Fix the school roofs.",
                        status=TenderStatus.OPEN, currency="GBP",
                        deadline=now + timedelta(days=30), published_at=now,
                        budget_max=Decimal("100000"))
        tender.cpv_codes = [TenderCpvCode(code="45261000")]
        db.session.add(tender)
        db.session.commit()
        accounts = []
        for n in range(writers):
            user = User(email=f"writer{n}@crash.example", display_name=f"Writer {n}",
                        password_hash=password_hash)
            db.session.add(user)
            orgs = []
            for role in ("lead", "partner"):
                org = create_organisation(user, f"Crash {role.title()} Firm {n}",
                                          "Seeded for the drill", f"crash-{role}-{n}")
                profile = Profile(organisation=org, published_at=now,
                                  description=f"{role} firm {n} fixes roofs")
                profile.capabilities = [ProfileCapability(tag="roofing")]
                profile.cpv_codes = [ProfileCpvCode(code="45261000")]
                db.session.add(profile)
                orgs.append(org)
            db.session.commit()
            lead, partner = orgs
            with app.test_request_context("/", method="POST"):
                g._login_user = user
                bid = bids.create_bid(user, tender, f"org:{lead.id}", now)
                bids.add_member(user, bid.id, bid.version, partner, BidRole.MEMBER, now)
                bids.update_bid(user, bid.id, bid.version, price=Decimal("90000.00"),
                                currency="GBP", proposal="We will fix it.",
                                members=[bids.MemberLine(lead.id, BidRole.LEAD, Decimal(50)),
                                         bids.MemberLine(partner.id, BidRole.MEMBER,
                                                         Decimal(50))], now=now)
                bids.request_approval(user, bid.id, bid.version, now)
                db.session.commit()
            accounts.append({"email": user.email, "lead_slug": lead.slug,
                             "partner_slug": partner.slug, "lead_id": lead.id,
                             "partner_id": partner.id, "bid_id": bid.id})
        return {"tender_id": tender.id, "accounts": accounts}


if __name__ == "__main__":
    if sys.argv[1:2] == ["seed"]:
        json.dump(_seed(int(sys.argv[2])), sys.stdout)
    else:
        raise SystemExit("usage: python -m tests.heavy.server seed N")
