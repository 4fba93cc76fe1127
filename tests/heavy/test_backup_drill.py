"""Backup drill under write load (SECURITY.md item 31, issue [7/7] item 8).

Writers edit profiles, invite people, edit and approve bids through gunicorn while
``flask backup`` copies the live database (SQLite online backup API / ``pg_dump -Fc``).
``flask restore`` puts the copy into a fresh database, which must pass the integrity check
(SQLite pragmas, then the domain invariants), hold a consistent prefix of the live data
(every count between the marks taken just before and just after the backup, every row also
in the live database), and pass smoke tests served by gunicorn: main pages, a search after
``flask search rebuild``, a login of a seeded user and new writes. SQLite always; PostgreSQL
when TEST_DATABASE_URL is set (pg_dump and pg_restore must be on PATH).
"""

import json
import os
import shutil
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import is_postgres
from tests.heavy.server import (
    TENDER_TITLE,
    Browser,
    Gunicorn,
    LoadWriter,
    app_session,
    database,
    flashes,
    flask,
    integrity_problems,
    lost_or_phantom_writes,
    scratch_postgres,
    seed,
    server_env,
)

pytestmark = pytest.mark.heavy

WRITERS = int(os.environ.get("HEAVY_BACKUP_WRITERS", 4))
WRITES_AROUND = 10  # acknowledged writes before the backup starts, and again after it ends
PHASE_MAX_S = 90


def marks(database_url: str) -> dict:
    """Row counts that only grow under the drill's load, and the rows themselves."""
    from marketplace.models import (
        AuditEvent,
        BidApproval,
        BidVersion,
        Organisation,
        OrgInvitation,
        User,
    )

    with app_session(database_url) as session:
        def count(model):
            return session.scalar(select(func.count()).select_from(model))

        return {
            "counts": {m.__tablename__: count(m) for m in (
                User, Organisation, OrgInvitation, BidVersion, BidApproval, AuditEvent)},
            "rows": {
                "invitations": {tuple(r) for r in session.execute(
                    select(OrgInvitation.organisation_id, OrgInvitation.email))},
                "versions": {tuple(r) for r in session.execute(
                    select(BidVersion.bid_id, BidVersion.number, BidVersion.content_hash))},
                "approvals": {tuple(r) for r in session.execute(
                    select(BidApproval.bid_id, BidApproval.version,
                           BidApproval.organisation_id))},
                "audit": {tuple(r) for r in session.execute(
                    select(AuditEvent.id, AuditEvent.subject_kind, AuditEvent.subject_id,
                           AuditEvent.action, AuditEvent.version))},
            },
        }


def acknowledged(writers: list[LoadWriter]) -> int:
    return sum(1 for w in writers for x in w.writes if x.outcome == "ok")


def wait_for(writers: list[LoadWriter], target: int) -> None:
    deadline = time.monotonic() + PHASE_MAX_S
    while acknowledged(writers) < target:
        errors = [w.error for w in writers if w.error]
        assert not errors, errors
        assert time.monotonic() < deadline, f"{acknowledged(writers)} writes, wanted {target}"
        time.sleep(0.2)


def smoke(env: dict[str, str], log: Path, seeded: dict) -> dict:
    """The restored copy served by gunicorn: pages, search, login, and new writes."""
    account = seeded["accounts"][0]
    with Gunicorn(env, log, workers=2) as server:
        browser = Browser(server.base, account["email"], env["HEAVY_PASSWORD"])
        statuses = {path: browser.get(path).status_code for path in (
            "/", "/login", f"/orgs/{account['lead_slug']}", f"/tenders/{seeded['tender_id']}",
            "/search?q=roof")}
        search = browser.get("/search?q=roof").text
        browser.login()
        for path in (f"/bids/{account['bid_id']}", f"/orgs/{account['lead_slug']}/members",
                     "/bids"):
            statuses[path] = browser.get(path).status_code
        # The restored copy takes new rows (on PostgreSQL: the sequences came back too).
        path = f"/orgs/{account['lead_slug']}/members/invite"
        data = browser.form(f"/orgs/{account['lead_slug']}/members", path)
        data.update(email="after-restore@crash.example", role="member")
        invited = browser.post(path, data)
        log_text = server.log()
    return {"statuses": statuses, "search_finds_tender": TENDER_TITLE in search,
            "invite": (invited.status_code, [c for c, _ in flashes(invited, env["SECRET_KEY"])]),
            "log": log_text}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_backup_under_write_load_restores_a_consistent_copy(backend, tmp_path, capsys):
    if backend == "postgresql":
        if not is_postgres():
            pytest.skip("set TEST_DATABASE_URL to a PostgreSQL database")
        assert shutil.which("pg_dump") and shutil.which("pg_restore"), \
            "pg_dump and pg_restore must be on PATH (Debian: postgresql-client)"
    started = time.monotonic()
    archive = tmp_path / ("guild.backup" if backend == "postgresql" else "guild-backup.sqlite")
    with database(backend, tmp_path) as live_url:
        env = server_env(tmp_path / "instance", live_url)
        seeded = seed(env, WRITERS)
        stop = threading.Event()
        with Gunicorn(env, tmp_path / "gunicorn.log", workers=2) as server:
            writers = [LoadWriter(n, a, env["HEAVY_PASSWORD"], server.base, env["SECRET_KEY"],
                                  stop) for n, a in enumerate(seeded["accounts"])]
            threads = [threading.Thread(target=w.run, daemon=True) for w in writers]
            for t in threads:
                t.start()
            try:
                wait_for(writers, WRITES_AROUND)
                before = marks(live_url)
                during = acknowledged(writers)
                backup_started = time.monotonic()
                out = flask(env, "backup", str(archive))
                backup_s = time.monotonic() - backup_started
                assert out.returncode == 0, out.stderr[-3000:]
                during = acknowledged(writers) - during
                after = marks(live_url)
                wait_for(writers, acknowledged(writers) + WRITES_AROUND)
            finally:
                stop.set()
                for t in threads:
                    t.join(60)
            live_log = server.log()
        final = marks(live_url)
        live_problems = integrity_problems(live_url) + lost_or_phantom_writes(live_url, writers)

        restored_dir = tmp_path / "restored"
        if backend == "sqlite":
            (restored_dir / "instance").mkdir(parents=True)
            target = f"sqlite:///{restored_dir / 'instance' / 'guild.sqlite'}"
            restored_env = server_env(restored_dir / "instance", target,
                                      password=env["HEAVY_PASSWORD"])
            checks = restore_and_check(restored_env, archive, seeded, restored_dir)
        else:
            with scratch_postgres() as target:
                restored_env = server_env(restored_dir / "instance", target,
                                          password=env["HEAVY_PASSWORD"])
                checks = restore_and_check(restored_env, archive, seeded, restored_dir)

    restored = checks["marks"]
    writes = [w for wr in writers for w in wr.writes]
    figures = {
        "backend": backend, "writers": WRITERS, "writes": len(writes),
        "outcomes": dict(Counter(w.outcome for w in writes)),
        "writes_acknowledged_during_backup": during, "backup_s": round(backup_s, 2),
        "backup_bytes": archive.stat().st_size, "restore_s": checks["restore_s"],
        "before": before["counts"], "restored": restored["counts"], "after": after["counts"],
        "final": final["counts"], "seconds": round(time.monotonic() - started, 1),
    }
    with capsys.disabled():
        print(f"\n[heavy] backup drill: {json.dumps(figures)}")
    if os.environ.get("HEAVY_FIGURES_DIR"):
        out = Path(os.environ["HEAVY_FIGURES_DIR"]) / f"backup_drill_{backend}.json"
        out.write_text(json.dumps(figures, indent=2))

    assert [w.error for w in writers if w.error] == []
    assert [b for w in writers for b in w.bad_statuses] == []
    assert "Traceback" not in live_log, live_log[live_log.index("Traceback"):][:3000]
    assert live_problems == []
    # the writes went on around the backup: the copy is taken from a moving database
    assert before["counts"]["org_invitations"] > 0  # the seed makes none
    assert final["counts"] != after["counts"]
    # restored: sound, and a consistent prefix of the live history
    assert checks["integrity"] == []
    for table, n in restored["counts"].items():
        assert before["counts"][table] <= n <= after["counts"][table], table
    for kind, rows in restored["rows"].items():
        assert rows <= final["rows"][kind], kind
        assert before["rows"][kind] <= rows, kind  # committed before the backup: included
    # the restored copy works
    smoke_result = checks["smoke"]
    assert set(smoke_result["statuses"].values()) == {200}, smoke_result["statuses"]
    assert smoke_result["search_finds_tender"]
    assert smoke_result["invite"] == (302, ["success"])
    assert "Traceback" not in smoke_result["log"]


def restore_and_check(env: dict[str, str], archive: Path, seeded: dict,
                      folder: Path) -> dict:
    started = time.monotonic()
    out = flask(env, "restore", "--yes", str(archive))
    restore_s = round(time.monotonic() - started, 2)
    assert out.returncode == 0, out.stderr[-3000:]
    url = env["DATABASE_URL"]
    result = {"restore_s": restore_s, "integrity": integrity_problems(url), "marks": marks(url)}
    out = flask(env, "search", "rebuild")  # as the restore tells the operator to
    assert out.returncode == 0, out.stderr[-3000:]
    result["smoke"] = smoke(env, folder / "gunicorn.log", seeded)
    return result
