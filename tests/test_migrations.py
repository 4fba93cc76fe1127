"""Migrations: on an empty database `flask db upgrade` builds the schema the models describe
(`flask db check` finds nothing to add) and `flask db downgrade base` removes it again.

Runs the real `flask` command in a subprocess, on a database of its own: a temporary SQLite
file, or on PostgreSQL a database named ``<test database>_migrations``.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from tests.conftest import is_postgres

ROOT = Path(__file__).resolve().parent.parent
FLASK = Path(sys.executable).with_name("flask")


@pytest.fixture
def empty_database(database_url, tmp_path):
    if not is_postgres():
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    url = make_url(database_url)
    name = f"{url.database}_migrations"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def flask(database_url, tmp_path, *args):
    env = {k: v for k, v in os.environ.items()
           if k not in ("SECRET_KEY", "REDIS_URL", "GUILD_ENV", "TEST_DATABASE_URL")}
    env.update(DATABASE_URL=database_url, FLASK_APP="wsgi",
               GUILD_INSTANCE_PATH=str(tmp_path / "instance"))
    return subprocess.run([str(FLASK), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)


def tables(database_url) -> set[str]:
    engine = create_engine(database_url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def audit_rewrite_refused(database_url) -> bool:
    """Migration 0004's trigger: the database itself refuses to rewrite an audit event."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO audit_events (occurred_at, subject_kind, subject_id, "
                              "action, details) VALUES (CURRENT_TIMESTAMP, 'bid', 1, "
                              "'created', '{}')"))
        try:
            with engine.begin() as conn:
                conn.execute(text("UPDATE audit_events SET action = 'forged'"))
        except DBAPIError as exc:
            return "append-only" in str(exc)
        return False
    finally:
        engine.dispose()


def test_upgrade_check_downgrade(empty_database, tmp_path):
    from marketplace.extensions import db

    upgrade = flask(empty_database, tmp_path, "db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr[-3000:]
    assert tables(empty_database) == {t.name for t in db.metadata.sorted_tables}

    assert audit_rewrite_refused(empty_database)

    check = flask(empty_database, tmp_path, "db", "check")
    assert check.returncode == 0, (
        "the models and the migrations differ; generate a migration:\n" + check.stderr[-3000:])
    assert "No new upgrade operations detected" in check.stdout + check.stderr

    downgrade = flask(empty_database, tmp_path, "db", "downgrade", "base")
    assert downgrade.returncode == 0, downgrade.stderr[-3000:]
    assert tables(empty_database) == set()
