"""Concurrent writers against gunicorn with 4 workers (SECURITY.md items 25, 26, 28; issue
[7/7] item 6).

25 writers x 100 writes each through HTTP, as browsers would: each logs in through the real
form with CSRF on (GUILD_ENV=development); a write is a timed POST after a GET of its form
(CSRF token, versions, choices), except invitations and new organisations, which re-use the
session's CSRF token as a form left open would. The writers are grouped five by five into alliances
(tests/heavy/seed_heavy.py); in each of 10 rounds, on a fresh open tender, each alliance:

* its lead starts a joint bid for the alliance twice at once (a double submit from two
  tabs: exactly one bid), adds the alliance's members, edits shares, price and proposal
  twice and asks for approval;
* even rounds: the 5 member organisations approve at the same moment: exactly 5 approvals,
  exactly one response says "submitted";
* odd rounds: the lead approves first, then the 4 partners approve while the lead edits
  the bid. The edit always lands (a submitted bid can be amended before the deadline) as a
  new version; the partners' approvals either land before it (voided by it, or completing
  and submitting the old version, which the edit then reopens) or are refused. Then the 5
  approve the new version at the same moment. No unapproved version is ever submitted.

Between these, every writer fills its 100 writes with profile edits of its own
organisation, invitations to it and new organisations. Afterwards: no response >= 500, no
"database is locked" in the server log, and the database holds exactly what the clients
were told (every success present, every refusal absent), one live bid per party per
tender, approvals per version <= members, every submitted bid fully approved for its
submitted version, audit events matching the bids. SQLite (WAL) always; PostgreSQL when
TEST_DATABASE_URL is set.

Figures (write p50/p95, by kind) are printed and written to $HEAVY_FIGURES_DIR when set.
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
from collections import Counter, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from bs4 import BeautifulSoup
from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from tests.conftest import TEST_DATABASE_URL, is_postgres

pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
WRITERS = int(os.environ.get("HEAVY_WRITERS", 25))
WRITES_PER_WRITER = int(os.environ.get("HEAVY_WRITES", 100))
TEAM = int(os.environ.get("HEAVY_TEAM", 5))  # organisations per joint bid: K approvals race
# One tender, one bid per team each; a lead's round is at most 9 writes of its 10.
ROUNDS = min(int(os.environ.get("HEAVY_BID_ROUNDS", 10)), WRITES_PER_WRITER // 10)
REQUEST_TIMEOUT_S = 30
RUN_DEADLINE_S = 900  # the whole load phase; writers stop and the test fails beyond it
START_TIMEOUT_S = 60
BARRIER_TIMEOUT_S = 300
FRESH_LOGIN_S = 600  # approving needs a login of the last 15 minutes: log in again before
SESSION_COOKIE = "guild_session"
FILLER = ("profile", "profile", "invite", "invite", "create")
KINDS = ("profile", "invite", "create", "bid_create", "bid_edit", "bid_request", "approve")


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


def seed_world(env: dict[str, str], writers: int = WRITERS, *, tenders: int = 0,
               team: int = 0) -> dict:
    """Schema and seed (tests/heavy/seed_heavy.py): accounts, tenders, alliances."""
    argv = [sys.executable, "-m", "tests.heavy.seed_heavy", str(writers),
            "--tenders", str(tenders), "--team", str(team)]
    out = subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def seed(env: dict[str, str]) -> list[dict]:
    """The writers' accounts only ({"email", "slug", "org_id"}), no tenders or alliances."""
    return seed_world(env)["accounts"]


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


# -- reading what the browser would be told ----------------------------------------------------

def session_reader(secret_key: str):
    """Decodes the signed session cookie: the flash messages the next page would show.

    Reading them from the redirect's cookie tells success from refusal (both redirect to
    the bid page) without one more page load on the loaded server.
    """
    app = Flask("heavy-session-reader")
    app.secret_key = secret_key
    return SecureCookieSessionInterface().get_signing_serializer(app)


def form_data(form) -> dict[str, str]:
    """What a browser would submit from ``form`` unchanged (checkboxes unticked)."""
    data = {}
    for el in form.find_all(["input", "select", "textarea"]):
        name = el.get("name")
        if not name or el.get("type") in ("submit", "button", "file"):
            continue
        if el.get("type") == "checkbox":
            if el.has_attr("checked"):
                data[name] = el.get("value", "y")
        elif el.name == "select":
            chosen = el.find("option", selected=True) or el.find("option")
            data[name] = chosen.get("value", chosen.text) if chosen else ""
        elif el.name == "textarea":
            data[name] = el.text
        else:
            data[name] = el.get("value", "")
    return data


# -- writers -----------------------------------------------------------------------------------

@dataclass
class Outcome:
    kind: str
    status: int
    seconds: float
    ok: bool = True  # the app said it was done (2xx/302 with a success message)
    detail: dict = field(default_factory=dict)


@dataclass
class Team:
    """Five writers bidding together as an alliance; shared state between their threads."""

    alliance_id: int
    lead_org_id: int
    size: int
    barrier: threading.Barrier
    bid_id: int | None = None


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
    org_id: int | None = None
    team: Team | None = None
    is_lead: bool = False
    tenders: list[int] = field(default_factory=list)
    reader: object = None  # session_reader(); needed for bid and approval writes
    logged_in_at: float = 0.0
    session: requests.Session | None = None

    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # reported by the test with the writer's number
            self.error = f"writer {self.n}: {exc!r}"
            if self.team is not None:
                self.team.barrier.abort()  # teammates stop waiting for us

    def _run(self) -> None:
        self.session = self._login()
        if self.team is None or not self.tenders:
            while len(self.outcomes) < WRITES_PER_WRITER:
                self._filler(self.session)
            return
        per_round = WRITES_PER_WRITER // len(self.tenders)
        tab = self._login() if self.is_lead else None  # a second tab, for the double submit
        for r, tender_id in enumerate(self.tenders):
            if self.is_lead:
                self._lead_round(tab, r, tender_id)
            else:
                self._partner_round(r, (r + 1) * per_round - (2 if r % 2 else 1))
            while len(self.outcomes) < (r + 1) * per_round:
                self._filler(self.session)
        while len(self.outcomes) < WRITES_PER_WRITER:
            self._filler(self.session)

    # -- plumbing

    def _login(self) -> requests.Session:
        s = requests.Session()
        token = self._form(s, "/login")[0]
        r = s.post(f"{self.base}/login", data={"email": self.email, "password": self.password,
                                               "csrf_token": token},
                   allow_redirects=False, timeout=REQUEST_TIMEOUT_S)
        assert r.status_code == 302, f"login answered {r.status_code}"
        self.logged_in_at = time.monotonic()
        return s

    def _form(self, s: requests.Session, path: str) -> tuple[str, BeautifulSoup]:
        r = s.get(f"{self.base}{path}", timeout=REQUEST_TIMEOUT_S)
        self.reads[r.status_code] += 1
        assert r.status_code == 200, f"GET {path} answered {r.status_code}"
        page = BeautifulSoup(r.text, "html.parser")
        return page.find("input", {"name": "csrf_token"})["value"], page

    def _token(self, s: requests.Session, path: str) -> str:
        """The session's CSRF token, from the form the first time (then as from a form left
        open in a tab): these forms carry nothing else, and a page load less per write
        keeps the run within 5 minutes on the shared 2-core machine."""
        if getattr(s, "guild_csrf", None) is None:
            s.guild_csrf = self._form(s, path)[0]
        return s.guild_csrf

    def _check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise TimeoutError(f"run deadline passed after {len(self.outcomes)} writes")

    def _post(self, s: requests.Session, kind: str, url: str, data: dict,
              **detail) -> Outcome:
        self._check_time()
        started = time.perf_counter()
        r = s.post(f"{self.base}{url}", data=data, allow_redirects=False,
                   timeout=REQUEST_TIMEOUT_S)
        seconds = time.perf_counter() - started
        location = r.headers.get("Location", "")
        ok = r.status_code == 302
        if ok and self.reader is not None and kind.startswith(("bid", "approve")):
            cookie = r.cookies.get(SESSION_COOKIE)
            flashes = self.reader.loads(cookie).get("_flashes", []) if cookie else []
            ok = bool(flashes) and flashes[-1][0] == "success"
            detail["flash"] = flashes[-1][1] if flashes else None
        outcome = Outcome(kind, r.status_code, seconds, ok,
                          {**detail, "location": location, "writer": self.n})
        self.outcomes.append(outcome)
        return outcome

    def _wait(self) -> None:
        self.team.barrier.wait()

    def _fresh(self) -> requests.Session:
        """The writer's session, logged in again if the login is getting old."""
        if time.monotonic() - self.logged_in_at >= FRESH_LOGIN_S:
            self.session = self._login()
        return self.session

    # -- writes

    def _filler(self, s: requests.Session) -> None:
        i = len(self.outcomes)
        kind = FILLER[i % len(FILLER)]
        if kind == "profile":
            url = f"/orgs/{self.slug}/profile/edit"
            token, page = self._form(s, url)
            data = {"name": f"Heavy Writer Firm {self.n}", "summary": f"Edit {i}",
                    "size": "", "version": page.find("input", {"name": "version"})["value"]}
        elif kind == "invite":
            token = self._token(s, f"/orgs/{self.slug}/members")
            url = f"/orgs/{self.slug}/members/invite"
            data = {"email": f"invitee-{self.n}-{i}@heavy.example", "role": "member"}
        else:
            url = "/orgs/new"
            token = self._token(s, url)
            data = {"name": f"Heavy {self.n} new firm {i}", "slug": "", "summary": ""}
        self._post(s, kind, url, {**data, "csrf_token": token})

    def _page_form(self, s: requests.Session, path: str, action: str) -> dict[str, str]:
        _, page = self._form(s, path)
        form = page.find("form", action=action)
        assert form is not None, f"no form for {action} on {path}"
        return form_data(form)

    def _lead_round(self, tab, r: int, tender_id: int) -> None:
        team = self.team
        s = self._fresh()
        # Double submit from two tabs: both start a bid for the alliance at once.
        party = f"alliance:{team.alliance_id}:{team.lead_org_id}"
        forms = [{**self._page_form(x, f"/tenders/{tender_id}/bids/new",
                                    f"/tenders/{tender_id}/bids/new"), "party": party}
                 for x in (s, tab)]
        results: list[Outcome | BaseException] = [None, None]

        def start(i, x):
            try:
                results[i] = self._post(x, "bid_create", f"/tenders/{tender_id}/bids/new",
                                        forms[i], tender=tender_id, party=party, round=r)
            except BaseException as exc:  # re-raised below, in this writer's thread
                results[i] = exc

        threads = [threading.Thread(target=start, args=(i, x)) for i, x in enumerate((s, tab))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for res in results:
            if isinstance(res, BaseException):
                raise res
        created = [o for o in results if o.status == 302]
        assert len(created) == 1, [(o.status, o.detail) for o in results]
        bid_id = int(created[0].detail["location"].split("/bids/")[1].split("/")[0])
        created[0].detail["bid"] = bid_id
        team.bid_id = bid_id
        edit = f"/bids/{bid_id}/edit"

        self._post(s, "bid_edit", f"/bids/{bid_id}/members/alliance",
                   self._page_form(s, edit, f"/bids/{bid_id}/members/alliance"), bid=bid_id)
        for price in ("250000.00", f"{240000 + r}.50"):
            data = self._page_form(s, edit, edit)
            n = sum(1 for k in data if k.endswith("-work_share"))
            for k in [k for k in data if k.endswith("-work_share")]:
                data[k] = f"{100 / n:.2f}"
            data.update(price=price, currency="GBP",
                        proposal=f"Round {r}: the alliance does the works together.")
            self._post(s, "bid_edit", edit, data, bid=bid_id)
        self._post(s, "bid_request", f"/bids/{bid_id}/request-approval",
                   self._page_form(s, f"/bids/{bid_id}", f"/bids/{bid_id}/request-approval"),
                   bid=bid_id)
        if r % 2:
            self._approve(s, bid_id, self._approve_form(s, bid_id))  # first, alone
            self._wait()  # the partners are ready
            data = self._page_form(s, edit, edit)
            data["proposal"] = f"Round {r}: revised while the partners approve."
            self._wait()  # the partners hold their approval forms of the current version
            self._post(s, "bid_edit", edit, data, bid=bid_id, racing=True)
            self._wait()  # the partners read the approval form after the new version
        else:
            self._wait()
        self._approval_race(bid_id)

    def _partner_round(self, r: int, filler_until: int) -> None:
        while len(self.outcomes) < filler_until:
            self._filler(self.session)
        self._wait()  # the lead has asked for approval
        bid_id = self.team.bid_id
        if r % 2:
            s = self._fresh()
            data = self._approve_form(s, bid_id)
            self._wait()
            self._approve(s, bid_id, data, racing=True)  # against the lead's edit
            self._wait()
        self._approval_race(bid_id)

    def _approval_race(self, bid_id: int) -> None:
        """All members approve the same version at the same moment."""
        s = self._fresh()
        data = self._approve_form(s, bid_id)
        self._wait()
        self._approve(s, bid_id, data, final=True)

    def _approve_form(self, s, bid_id: int) -> dict[str, str]:
        data = self._page_form(s, f"/bids/{bid_id}/approve", f"/bids/{bid_id}/approve")
        data.update(organisation_id=str(self.org_id), confirm="y")
        return data

    def _approve(self, s, bid_id: int, data: dict, **detail) -> Outcome:
        return self._post(s, "approve", f"/bids/{bid_id}/approve", data, bid=bid_id,
                          version=int(data["version"]), org=self.org_id, **detail)


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


@contextmanager
def _app_session(database_url: str):
    from marketplace import create_app
    from marketplace.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x",
                      "GUILD_ENV": "test"})
    with app.app_context():
        try:
            yield db.session
        finally:
            db.session.remove()
            db.engine.dispose()


def database_state(database_url: str, instance: Path, slugs: list[str]) -> dict:
    from marketplace.models import Membership, Organisation, OrgInvitation, OrgRole

    with _app_session(database_url) as session:
        orgs = {o.slug: o for o in session.scalars(
            select(Organisation).where(Organisation.slug.in_(slugs)))}
        owners = session.execute(
            select(Membership.organisation_id, func.count())
            .where(Membership.role == OrgRole.OWNER)
            .group_by(Membership.organisation_id)).all()
        return {
            "organisations": session.scalar(select(func.count()).select_from(Organisation)),
            "invitations": {slug: session.scalar(
                select(func.count()).select_from(OrgInvitation)
                .where(OrgInvitation.organisation_id == orgs[slug].id)) for slug in slugs},
            "profile_versions": {slug: orgs[slug].profile.version if orgs[slug].profile
                                 else 0 for slug in slugs},
            "orgs_with_owners": len(owners),
            "orgs_without_exactly_one_owner": sum(1 for _, n in owners if n != 1),
        }


def bid_state(database_url: str) -> dict:
    """Every bid with its members, approvals (by version) and audit trail, as plain data."""
    from marketplace.models import AuditEvent, Bid, BidApproval, BidMember, BidVersion

    with _app_session(database_url) as session:
        bids = {b.id: {"tender": b.tender_id, "party": b.party_key, "live_key": b.live_key,
                       "state": b.state.value, "version": b.version,
                       "content_hash": b.content_hash, "members": set()}
                for b in session.scalars(select(Bid))}
        for bid_id, org_id in session.execute(select(BidMember.bid_id,
                                                     BidMember.organisation_id)):
            bids[bid_id]["members"].add(org_id)
        approvals = [{"bid": a.bid_id, "version": a.version, "org": a.organisation_id,
                      "content_hash": a.content_hash}
                     for a in session.scalars(select(BidApproval).order_by(BidApproval.id))]
        versions = {(v.bid_id, v.number): v.content_hash
                    for v in session.scalars(select(BidVersion))}
        events = defaultdict(list)
        for e in session.scalars(select(AuditEvent).where(AuditEvent.subject_kind == "bid")
                                 .order_by(AuditEvent.id)):
            events[e.subject_id].append({"action": e.action, "version": e.version,
                                         "state": (e.details or {}).get("state")})
        return {"bids": bids, "approvals": approvals, "events": dict(events),
                "versions": versions}


# -- the test ----------------------------------------------------------------------------------

def check_bids(writers: list[Writer], teams: list[Team], tenders: list[int], state: dict):
    """The bid invariants (SECURITY 25, 26, 27) against what the clients were told."""
    bids, approvals, events = state["bids"], state["approvals"], state["events"]
    versions = state["versions"]
    outcomes = [o for w in writers for o in w.outcomes]

    # One live bid per party per tender; every double submit made exactly one bid.
    creates = [o for o in outcomes if o.kind == "bid_create"]
    assert Counter(o.status for o in creates) == {302: len(tenders) * len(teams),
                                                  200: len(tenders) * len(teams)}
    assert {o.detail["bid"] for o in creates if o.status == 302} == set(bids)
    assert len(bids) == len(tenders) * len(teams)
    parties = Counter((b["tender"], b["party"]) for b in bids.values())
    assert set(parties.values()) == {1}
    assert {b["live_key"] for b in bids.values()} == {b["party"] for b in bids.values()}

    by_version = defaultdict(list)
    for a in approvals:
        by_version[(a["bid"], a["version"])].append(a)
    for (bid_id, _version), rows in by_version.items():
        orgs = [a["org"] for a in rows]
        assert len(orgs) == len(set(orgs)) <= len(bids[bid_id]["members"])

    # Every approval the client saw succeed is in the database; every refusal is not.
    stored = {(a["bid"], a["version"], a["org"]) for a in approvals}
    seen = [o for o in outcomes if o.kind == "approve"]
    told_ok = {(o.detail["bid"], o.detail["version"], o.detail["org"]) for o in seen if o.ok}
    told_no = {(o.detail["bid"], o.detail["version"], o.detail["org"]) for o in seen
               if not o.ok}
    assert told_ok == stored
    assert not told_no & stored
    assert all(o.status == 302 for o in seen), Counter(o.status for o in seen)

    # A version is submitted once, and the response that submitted it said so (receipt).
    receipts = Counter((o.detail["bid"], o.detail["version"]) for o in seen
                       if o.detail["location"].endswith("/receipt"))
    submitted = Counter((bid_id, e["version"]) for bid_id, trail in events.items()
                        for e in trail if e["action"] == "submitted")
    assert receipts == submitted
    assert set(submitted.values()) == {1}
    for (bid_id, version) in submitted:
        # Only with every member's approval of exactly that version's content; an edit
        # racing the approvals (a submitted bid can still be amended: a new version) never
        # lets an unapproved version through.
        rows = by_version[(bid_id, version)]
        assert {a["org"] for a in rows} == bids[bid_id]["members"], (bid_id, version)
        assert {a["content_hash"] for a in rows} == {versions[(bid_id, version)]}

    for bid_id, bid in bids.items():
        assert bid["state"] == "submitted", (bid_id, bid["state"])
        assert len(bid["members"]) == teams[0].size
        assert versions[(bid_id, bid["version"])] == bid["content_hash"]
        # The final race: K approvals at once, all accepted, exactly one said "submitted".
        racers = [o for o in seen if o.detail["bid"] == bid_id and o.detail.get("final")]
        assert len(racers) == teams[0].size and all(o.ok for o in racers)
        assert sum(o.detail["location"].endswith("/receipt") for o in racers) == 1
        # Edits the client was told about = versions; audit trail = the bid's history.
        edits = [o for o in outcomes if o.kind == "bid_edit" and o.detail["bid"] == bid_id]
        assert bid["version"] == 1 + sum(o.ok for o in edits)
        trail = events[bid_id]
        actions = Counter(e["action"] for e in trail)
        assert actions["created"] == 1 and actions["submitted"] in (1, 2)
        assert actions["approval_requested"] == 1
        assert actions["edited"] == bid["version"] - 1
        assert actions["approved"] == sum(1 for a in approvals if a["bid"] == bid_id)
        assert trail[0]["action"] == "created" and trail[-1]["action"] == "submitted"
        assert trail[-1]["version"] == bid["version"] and trail[-1]["state"] == "submitted"
        assert Counter(e["version"] for e in trail if e["action"] == "approved") == Counter(
            a["version"] for a in approvals if a["bid"] == bid_id)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_writers_under_gunicorn(backend, tmp_path, capsys):
    if backend == "postgresql" and not is_postgres():
        pytest.skip("set TEST_DATABASE_URL to a PostgreSQL database")
    instance = tmp_path / "instance"
    instance.mkdir()
    log_path = tmp_path / "gunicorn.log"
    with database(backend, tmp_path) as database_url:
        env = server_env(instance, database_url)
        world = seed_world(env, WRITERS, tenders=ROUNDS, team=TEAM)
        accounts = world["accounts"]
        reader = session_reader(env["SECRET_KEY"])
        with gunicorn(env, log_path) as base:
            deadline = time.monotonic() + RUN_DEADLINE_S
            writers = [Writer(n, a["email"], a["slug"], env["HEAVY_PASSWORD"], base, deadline,
                              org_id=a["org_id"], reader=reader)
                       for n, a in enumerate(accounts)]
            teams = []
            for t in world["teams"]:
                team = Team(t["alliance_id"], t["lead_org_id"], len(t["writers"]),
                            threading.Barrier(len(t["writers"]), timeout=BARRIER_TIMEOUT_S))
                teams.append(team)
                for n in t["writers"]:
                    writers[n].team, writers[n].tenders = team, world["tenders"]
                writers[t["writers"][0]].is_lead = True
            threads = [threading.Thread(target=w.run, daemon=True) for w in writers]
            started = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join(max(1.0, deadline - time.monotonic() + 60))
            wall = time.monotonic() - started
        log = log_path.read_text(errors="replace")
        state = database_state(database_url, instance, [a["slug"] for a in accounts])
        bids = bid_state(database_url)

    outcomes = [o for w in writers for o in w.outcomes]
    statuses = Counter(o.status for o in outcomes)
    latencies = sorted(o.seconds for o in outcomes)
    figures = {
        "backend": backend, "workers": WORKERS, "writers": WRITERS,
        "writes_per_writer": WRITES_PER_WRITER, "writes": len(outcomes),
        "wall_s": round(wall, 1), "writes_per_s": round(len(outcomes) / wall, 1),
        "statuses": dict(statuses),
        "writes_by_kind": dict(Counter(o.kind for o in outcomes)),
        "refused_by_kind": dict(Counter(o.kind for o in outcomes if not o.ok)),
        "p50_ms": round(percentile(latencies, 50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 95) * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
        "p95_ms_by_kind": {kind: round(percentile(sorted(
            o.seconds for o in outcomes if o.kind == kind), 95) * 1000, 1)
            for kind in KINDS if any(o.kind == kind for o in outcomes)},
        "bids": len(bids["bids"]), "approvals": len(bids["approvals"]),
        "racing_approvals_refused": sum(
            not o.ok for o in outcomes if o.kind == "approve" and o.detail.get("racing")),
        "bids_submitted_twice": sum(  # the partners beat the lead's edit, then re-approved
            sum(e["action"] == "submitted" for e in trail) == 2
            for trail in bids["events"].values()),
        "reads": sum(sum(w.reads.values()) for w in writers),
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
    # Every filler write and bid edit succeeded (PRG redirect); refusals are only the
    # double submits' second bid (200, the form with the error) and approvals that lost the
    # race with an edit (302 with an error message).
    assert {o.status for o in outcomes if o.kind != "bid_create"} == {302}
    assert {o.kind for o in outcomes if not o.ok} <= {"bid_create", "approve"}
    assert all(o.ok for o in outcomes if o.kind == "approve" and not o.detail.get("racing"))

    # Invariants: the database holds exactly the writes the clients were told succeeded.
    ok = Counter((w.slug, o.kind) for w in writers for o in w.outcomes if o.ok)
    created = sum(n for (_, kind), n in ok.items() if kind == "create")
    assert state["organisations"] == world["organisations"] + created
    assert state["orgs_with_owners"] == state["organisations"]
    assert state["orgs_without_exactly_one_owner"] == 0
    assert state["invitations"] == {w.slug: ok[(w.slug, "invite")] for w in writers}
    assert state["profile_versions"] == {w.slug: ok[(w.slug, "profile")] for w in writers}
    if teams:
        check_bids(writers, teams, world["tenders"], bids)
