"""Backups and restores of the configured database (``flask backup`` / ``flask restore``).

SQLite: the online backup API copies the whole database in one step. In WAL mode that step
is a read transaction, so it sees one consistent snapshot while writers carry on (a step-wise
copy would restart whenever another connection writes). The copy is written to a temporary
file beside the destination, switched out of WAL so it is a single self-contained file,
integrity-checked and only then renamed into place.

PostgreSQL: ``pg_dump -Fc`` (a consistent snapshot by design) and ``pg_restore`` in a
single transaction. Connection parameters go to the tools through the libpq environment
(PGHOST, PGPASSWORD, ...), never on the command line, where ``ps`` would show them.

Backups hold password hashes and sealed bids: files are created readable by their owner only.
After a restore the search index no longer matches the database: run ``flask search rebuild``.
"""

import fcntl
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url

# Byte of the -shm file on which every open SQLite connection in WAL mode holds a shared
# lock ("dead man switch", UNIX_SHM_DMS in os_unix.c: (22 + 8) * 4 + 8).
_SQLITE_SHM_DMS_BYTE = 128
_PG_ENV = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
           "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT", "options": "PGOPTIONS"}
PG_TIMEOUT_S = 6 * 3600


class BackupError(RuntimeError):
    """A backup or restore could not be made safely; nothing was replaced."""


@dataclass(frozen=True)
class Report:
    kind: str  # "sqlite" or "postgresql"
    path: Path
    size: int
    seconds: float

    def summary(self, verb: str) -> str:
        return (f"{verb} {self.kind} database {'to' if verb == 'Backed up' else 'from'} "
                f"{self.path} ({self.size:,} bytes) in {self.seconds:.2f} s.")


def backup(database_url: str | URL, dest: Path, *, overwrite: bool = False) -> Report:
    url = make_url(database_url)
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise BackupError(f"{dest} exists; pass --overwrite to replace it.")
    if not dest.parent.is_dir():
        raise BackupError(f"No such directory: {dest.parent}")
    started = time.monotonic()
    kind = _kind(url)
    if kind == "sqlite" and _same_file_family(dest, _sqlite_path(url)):
        raise BackupError("The backup cannot overwrite the database itself.")
    with _private_temp(dest) as tmp:
        if kind == "sqlite":
            _sqlite_backup(_sqlite_path(url), tmp)
        else:
            _pg_dump(url, tmp)
        _fsync(tmp)
        os.replace(tmp, dest)
    _fsync_dir(dest.parent)
    return Report(kind, dest, dest.stat().st_size, time.monotonic() - started)


def restore(database_url: str | URL, source: Path) -> Report:
    """Replace the configured database's contents with a backup. The caller must have closed
    its own connections (``db.engine.dispose()``); the app must be stopped."""
    url = make_url(database_url)
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"No such backup file: {source}")
    started = time.monotonic()
    kind = _kind(url)
    if kind == "sqlite":
        _sqlite_restore(source, _sqlite_path(url))
    else:
        _pg_restore(url, source)
    return Report(kind, source, source.stat().st_size, time.monotonic() - started)


def _kind(url: URL) -> str:
    if url.get_backend_name() in ("sqlite", "postgresql"):
        return url.get_backend_name()
    raise BackupError(f"Backups are supported on SQLite and PostgreSQL, not {url.drivername}.")


# -- SQLite ------------------------------------------------------------------------------------

def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError("Only a SQLite database in a file can be backed up or restored.")
    return Path(url.database)


def _same_file_family(path: Path, database: Path) -> bool:
    family = {Path(f"{database}{suffix}").resolve() for suffix in ("", "-wal", "-shm", "-journal")}
    return path.resolve() in family


def integrity_check(path: Path) -> str:
    """``PRAGMA integrity_check`` on a database file, opened read-only; "ok" when sound."""
    if not path.is_file():
        raise BackupError(f"No such database file: {path}")
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True,
                                     timeout=30)) as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
    except sqlite3.DatabaseError as exc:  # not a database at all, or truncated
        return str(exc)
    return "; ".join(str(r[0]) for r in rows)


def _sqlite_backup(source: Path, tmp: Path) -> None:
    if not source.is_file():
        raise BackupError(f"No such database file: {source}")
    with closing(sqlite3.connect(source, timeout=30)) as src, \
            closing(sqlite3.connect(tmp)) as dst:
        src.backup(dst)  # pages=-1: the whole database in one consistent step
        dst.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
    _require_ok(tmp, "the backup copy")


def _sqlite_restore(source: Path, target: Path) -> None:
    _require_ok(source, f"the backup {source}")
    if not target.parent.is_dir():
        raise BackupError(f"No such directory: {target.parent}")
    if target.exists() and sqlite_in_use(target):
        raise BackupError(f"{target} is open in another process: stop the app (and any "
                          "worker) before restoring.")
    with _private_temp(target) as tmp:
        # Copy through SQLite rather than byte-copying, so the result is a database SQLite
        # wrote itself; then check it before it goes anywhere near the live path.
        with closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as src, \
                closing(sqlite3.connect(tmp)) as dst:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")
        _require_ok(tmp, "the restored copy")
        _fsync(tmp)
        if target.exists():
            # Fold and delete the old database's -wal/-shm: left beside the new file, an old
            # WAL would be replayed onto it.
            try:
                with closing(sqlite3.connect(target, timeout=30)) as old:
                    old.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    old.execute("PRAGMA journal_mode = DELETE")
            except sqlite3.DatabaseError:  # a damaged database: nobody has it open, drop its WAL
                for side in ("-wal", "-shm"):
                    Path(f"{target}{side}").unlink(missing_ok=True)
        os.replace(tmp, target)
    _fsync_dir(target.parent)
    _require_ok(target, "the restored database")


def _require_ok(path: Path, what: str) -> None:
    result = integrity_check(path)
    if result != "ok":
        raise BackupError(f"Integrity check failed on {what}: {result[:500]}")


def sqlite_in_use(path: Path) -> bool:
    """Whether another process has the WAL database open (it holds a shared lock on the -shm
    file's DMS byte for as long as its connection is open, even when idle).

    POSIX locks belong to the process, and closing any descriptor of a file drops them all:
    call this with no connection of our own open on the database.
    """
    shm = Path(f"{path}-shm")
    if not shm.exists():
        return False
    fd = os.open(shm, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SQLITE_SHM_DMS_BYTE)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _SQLITE_SHM_DMS_BYTE)
        return False
    finally:
        os.close(fd)


# -- PostgreSQL --------------------------------------------------------------------------------

def pg_environment(url: URL) -> dict[str, str]:
    """libpq variables for ``url``: the password travels in PGPASSWORD, not in argv."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    query = dict(url.query)
    host = url.host or query.get("host")
    values = {"PGHOST": host, "PGPORT": url.port, "PGUSER": url.username,
              "PGPASSWORD": url.password, "PGDATABASE": url.database}
    values.update({var: query.get(key) for key, var in _PG_ENV.items()})
    env.update({k: str(v) for k, v in values.items() if v not in (None, "")})
    return env


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return path


def _run(argv: list[str], env: dict[str, str]) -> None:
    # argv is a fixed list of our own options and paths; no shell is involved.
    result = subprocess.run(argv, env=env, capture_output=True, text=True,  # noqa: S603  # nosec B603
                            timeout=PG_TIMEOUT_S, check=False)
    if result.returncode != 0:
        raise BackupError(f"{Path(argv[0]).name} failed: {result.stderr.strip()[-2000:]}")


def _pg_dump(url: URL, tmp: Path) -> None:
    env = pg_environment(url)
    _run([_pg_tool("pg_dump"), "--format=custom", "--no-password", "--file", str(tmp)], env)
    _pg_check_archive(tmp, env)


def _pg_check_archive(path: Path, env: dict[str, str]) -> None:
    """Reading the archive's table of contents catches truncated or foreign files."""
    _run([_pg_tool("pg_restore"), "--list", str(path)], env)


def _pg_restore(url: URL, source: Path) -> None:
    env = pg_environment(url)
    if not env.get("PGDATABASE"):
        raise BackupError("The database URL names no database to restore into.")
    _pg_check_archive(source, env)
    # One transaction: a failure half-way leaves the database as it was.
    _run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-password",
          "--single-transaction", "--exit-on-error", "--dbname", env["PGDATABASE"],
          str(source)], env)


# -- files -------------------------------------------------------------------------------------

@contextmanager
def _private_temp(beside: Path) -> Iterator[Path]:
    """An empty owner-only file in ``beside``'s directory (same file system, so the final
    ``os.replace`` is atomic); removed unless it was renamed into place."""
    fd, name = tempfile.mkstemp(prefix=f".{beside.name}.", suffix=".tmp", dir=beside.parent)
    os.close(fd)  # mkstemp creates it 0600; pg_dump and SQLite reuse the file as it is
    tmp = Path(name)
    try:
        yield tmp
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            leftover.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    _fsync(path)  # makes the rename itself durable
