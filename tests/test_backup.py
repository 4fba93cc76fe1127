"""``flask backup`` / ``flask restore`` (SECURITY.md item 31).

SQLite tests run on their own database files, so they run in both tiers of CI; PostgreSQL
tests back up the test database and restore into a scratch database created and dropped here.
"""

import sqlite3
import stat
import subprocess
import sys
import threading
import time
import uuid
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from marketplace.backup import integrity_check, pg_environment
from marketplace.extensions import db as _db
from marketplace.models import Membership, Organisation, OrgRole, User
from marketplace.orgs import services as orgs
from marketplace.passwords import hash_password
from tests.conftest import TEST_DATABASE_URL, build_app, is_postgres

DRILL_SECONDS = 1.5


# -- helpers -----------------------------------------------------------------------------------

def new_sqlite_app(path: Path, *, schema: bool = True):
    app = build_app(f"sqlite:///{path}", str(path.parent / f"{path.stem}-instance"))
    if schema:
        with app.app_context():
            _db.create_all()
    return app


def add_owner(app, email: str = "owner@example.com") -> int:
    with app.app_context():  # BASE_CONFIG's cheap Argon2 parameters apply here
        user = User(email=email, display_name="Drill owner",
                    password_hash=hash_password("a long test passphrase 42"))
        _db.session.add(user)
        _db.session.commit()
        return user.id


def create_orgs(app, owner_id: int, names: list[str]) -> list[str]:
    with app.app_context():
        owner = _db.session.get(User, owner_id)
        slugs = [orgs.create_organisation(owner, name, "Backed up").slug for name in names]
        _db.session.commit()
        return slugs


def snapshot(app) -> dict:
    """What a restore must bring back, plus the invariants the app relies on."""
    with app.app_context():
        _db.session.remove()
        owners_per_org = _db.session.execute(
            select(Organisation.id, func.count(Membership.id))
            .outerjoin(Membership, (Membership.organisation_id == Organisation.id)
                       & (Membership.role == OrgRole.OWNER))
            .group_by(Organisation.id)).all()
        result = {
            "users": _db.session.scalar(select(func.count()).select_from(User)),
            "slugs": sorted(_db.session.scalars(select(Organisation.slug))),
            "memberships": _db.session.scalar(select(func.count()).select_from(Membership)),
            "orgs_without_one_owner": [org_id for org_id, n in owners_per_org if n != 1],
        }
        _db.session.remove()
        return result


def smoke(app, slug: str) -> None:
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert client.get(f"/orgs/{slug}").status_code == 200
    assert client.get("/orgs/no-such-org").status_code == 404


def invoke(app, *args: str, **kwargs):
    # Flask's with_appcontext re-uses whatever app context is current, so push this app's.
    with app.app_context():
        return app.test_cli_runner().invoke(args=list(args), **kwargs)


class Writer(threading.Thread):
    """Keeps creating organisations through the service layer, one transaction each, and
    remembers which commits succeeded."""

    def __init__(self, app, owner_id: int):
        super().__init__(daemon=True)
        self.app, self.owner_id = app, owner_id
        self.stop = threading.Event()
        self.committed: list[str] = []
        self.errors: list[BaseException] = []

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            try:
                self.committed += create_orgs(self.app, self.owner_id, [f"Drill firm {n}"])
            except BaseException as exc:  # reported by the test, not swallowed
                self.errors.append(exc)
                return

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.committed) < count:
            assert time.monotonic() < deadline, "writer made no progress"
            assert not self.errors, self.errors
            time.sleep(0.01)


def backup_under_load(app, owner_id: int, dest: Path) -> tuple[list[str], list[str]]:
    """Run ``flask backup`` while a writer commits; returns the commits before and after."""
    writer = Writer(app, owner_id)
    writer.start()
    try:
        writer.wait_for(20)
        before = list(writer.committed)
        result = invoke(app, "backup", str(dest))
        during = list(writer.committed)
        time.sleep(DRILL_SECONDS / 3)  # writes carry on after the backup too
    finally:
        writer.stop.set()
        writer.join(30)
    assert not writer.errors, writer.errors
    assert result.exit_code == 0, result.output
    assert len(during) > len(before), "no write committed while the backup ran"
    return before, list(writer.committed)


# -- SQLite ------------------------------------------------------------------------------------

@pytest.fixture
def sqlite_app(tmp_path):
    app = new_sqlite_app(tmp_path / "live.sqlite")
    yield app
    with app.app_context():
        _db.engine.dispose()


def test_sqlite_backup_and_restore_roundtrip(sqlite_app, tmp_path):
    owner = add_owner(sqlite_app)
    slugs = create_orgs(sqlite_app, owner, ["Bristol Joinery", "Avon Roofing", "Severn Glaziers"])
    before = snapshot(sqlite_app)
    dest = tmp_path / "guild.backup"

    result = invoke(sqlite_app, "backup", str(dest))

    assert result.exit_code == 0, result.output
    assert "Backed up sqlite database" in result.output
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600  # it holds password hashes
    assert integrity_check(dest) == "ok"
    assert not Path(f"{dest}-wal").exists()  # a single self-contained file
    assert list(tmp_path.glob(".guild.backup.*")) == []

    create_orgs(sqlite_app, owner, ["Made after the backup"])
    with sqlite_app.app_context():
        _db.session.execute(text("DELETE FROM memberships WHERE organisation_id = "
                                 "(SELECT id FROM organisations WHERE slug = :s)"), {"s": slugs[0]})
        _db.session.execute(text("DELETE FROM organisations WHERE slug = :s"), {"s": slugs[0]})
        _db.session.commit()
    assert snapshot(sqlite_app) != before

    result = invoke(sqlite_app, "restore", str(dest), "--yes")

    assert result.exit_code == 0, result.output
    assert "flask search rebuild" in result.output
    assert snapshot(sqlite_app) == before
    live = Path(make_url(sqlite_app.config["SQLALCHEMY_DATABASE_URI"]).database)
    assert integrity_check(live) == "ok"
    smoke(sqlite_app, slugs[0])
    create_orgs(sqlite_app, owner, ["Written after the restore"])  # WAL mode again, writable


def test_backup_refuses_to_overwrite_unless_asked(sqlite_app, tmp_path):
    dest = tmp_path / "exists.backup"
    dest.write_text("keep me")

    result = invoke(sqlite_app, "backup", str(dest))

    assert result.exit_code != 0
    assert "--overwrite" in result.output
    assert dest.read_text() == "keep me"
    assert invoke(sqlite_app, "backup", str(dest), "--overwrite").exit_code == 0
    assert integrity_check(dest) == "ok"
    live = make_url(sqlite_app.config["SQLALCHEMY_DATABASE_URI"]).database
    result = invoke(sqlite_app, "backup", live, "--overwrite")
    assert result.exit_code != 0
    assert "cannot overwrite the database itself" in result.output
    assert integrity_check(Path(live)) == "ok"


def test_restore_asks_for_confirmation(sqlite_app, tmp_path):
    owner = add_owner(sqlite_app)
    dest = tmp_path / "b.sqlite"
    assert invoke(sqlite_app, "backup", str(dest)).exit_code == 0
    create_orgs(sqlite_app, owner, ["Kept when the answer is no"])

    result = invoke(sqlite_app, "restore", str(dest), input="n\n")

    assert result.exit_code != 0
    assert snapshot(sqlite_app)["slugs"] == ["kept-when-the-answer-is-no"]


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_restore_refuses_a_damaged_backup(sqlite_app, tmp_path, damage):
    owner = add_owner(sqlite_app)
    create_orgs(sqlite_app, owner, [f"Firm {i}" for i in range(30)])
    dest = tmp_path / "b.sqlite"
    assert invoke(sqlite_app, "backup", str(dest)).exit_code == 0
    data = dest.read_bytes()
    dest.write_bytes(b"not a database at all" * 100 if damage == "garbage"
                     else data[: len(data) // 2])
    before = snapshot(sqlite_app)

    result = invoke(sqlite_app, "restore", str(dest), "--yes")

    assert result.exit_code != 0
    assert "Integrity check failed" in result.output
    assert snapshot(sqlite_app) == before


def test_restore_refuses_while_another_process_has_the_database_open(sqlite_app, tmp_path):
    owner = add_owner(sqlite_app)
    create_orgs(sqlite_app, owner, ["Live firm"])
    dest = tmp_path / "b.sqlite"
    assert invoke(sqlite_app, "backup", str(dest)).exit_code == 0
    live = make_url(sqlite_app.config["SQLALCHEMY_DATABASE_URI"]).database
    holder = subprocess.Popen(  # stands in for an idle gunicorn worker with a pooled connection
        [sys.executable, "-c", "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); "
         "c.execute('SELECT count(*) FROM organisations').fetchall(); print('open', flush=True);"
         " time.sleep(60)", live], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        result = invoke(sqlite_app, "restore", str(dest), "--yes")
    finally:
        holder.kill()
        holder.wait()

    assert result.exit_code != 0
    assert "open in another process" in result.output
    assert invoke(sqlite_app, "restore", str(dest), "--yes").exit_code == 0


def test_sqlite_drill_backup_under_write_load_restores_a_sound_copy(sqlite_app, tmp_path):
    owner = add_owner(sqlite_app)
    dest = tmp_path / "drill.backup"

    before, after = backup_under_load(sqlite_app, owner, dest)

    assert integrity_check(dest) == "ok"
    with closing(sqlite3.connect(dest)) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    # Restore on a machine that has no database yet.
    restored = new_sqlite_app(tmp_path / "restored" / "guild.sqlite", schema=False)
    result = invoke(restored, "restore", str(dest), "--yes")
    assert result.exit_code == 0, result.output
    state = snapshot(restored)
    # A consistent snapshot: every write committed before the backup started is in it, no
    # write is torn, and the copy holds a prefix of the writer's commits.
    assert set(before) <= set(state["slugs"]) <= set(after)
    assert state["slugs"] == sorted(after[: len(state["slugs"])])
    assert state["memberships"] == len(state["slugs"])
    assert state["orgs_without_one_owner"] == []
    smoke(restored, before[0])
    with restored.app_context():
        _db.engine.dispose()


# -- PostgreSQL --------------------------------------------------------------------------------

needs_postgres = pytest.mark.skipif(not is_postgres(),
                                    reason="set TEST_DATABASE_URL to a PostgreSQL database")


@contextmanager
def scratch_postgres_app(tmp_path):
    """A separate, empty database next to the test database, dropped afterwards."""
    import psycopg

    url = make_url(TEST_DATABASE_URL)
    name = f"guild_restore_{uuid.uuid4().hex[:12]}"
    admin = url.set(drivername="postgresql", database="postgres")
    dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    app = build_app(url.set(database=name).render_as_string(hide_password=False),
                    str(tmp_path / "scratch-instance"))
    try:
        yield app
    finally:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@needs_postgres
def test_postgres_backup_and_restore_into_a_scratch_database(app, make_user, tmp_path):
    owner = make_user()
    slugs = create_orgs(app, owner.id, ["Bristol Joinery", "Avon Roofing"])
    before = snapshot(app)
    dest = tmp_path / "guild.dump"

    result = invoke(app, "backup", str(dest))

    assert result.exit_code == 0, result.output
    assert "Backed up postgresql database" in result.output
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert dest.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    with scratch_postgres_app(tmp_path) as scratch:
        for _ in range(2):  # the second time over existing tables: --clean --if-exists
            result = invoke(scratch, "restore", str(dest), "--yes")
            assert result.exit_code == 0, result.output
            assert snapshot(scratch) == before
        smoke(scratch, slugs[0])


@needs_postgres
def test_postgres_restore_of_a_damaged_archive_changes_nothing(app, make_user, tmp_path):
    create_orgs(app, make_user().id, ["Unharmed"])
    dest = tmp_path / "bad.dump"
    dest.write_bytes(b"PGDMP" + b"\0" * 64)
    before = snapshot(app)

    result = invoke(app, "restore", str(dest), "--yes")

    assert result.exit_code != 0
    assert "pg_restore failed" in result.output
    assert snapshot(app) == before


@needs_postgres
def test_postgres_drill_backup_under_write_load(app, make_user, tmp_path):
    owner = make_user()
    dest = tmp_path / "drill.dump"

    before, after = backup_under_load(app, owner.id, dest)

    with scratch_postgres_app(tmp_path) as scratch:
        result = invoke(scratch, "restore", str(dest), "--yes")
        assert result.exit_code == 0, result.output
        state = snapshot(scratch)
        assert set(before) <= set(state["slugs"]) <= set(after)
        assert state["slugs"] == sorted(after[: len(state["slugs"])])
        assert state["memberships"] == len(state["slugs"])
        assert state["orgs_without_one_owner"] == []
        smoke(scratch, before[0])


def test_password_goes_to_the_environment_not_the_command_line():
    env = pg_environment(make_url("postgresql+psycopg://guild:s3cret@db.internal:5433/guild"
                                  "?sslmode=require"))

    assert env["PGPASSWORD"] == "s3cret"
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"]) == (
        "db.internal", "5433", "guild", "guild")
    assert env["PGSSLMODE"] == "require"
