"""Engine set-up per dialect.

SQLite (the embedded default) gets WAL, a busy timeout and enforced foreign keys, and write
requests take the write lock up front with ``BEGIN IMMEDIATE``: a deferred transaction
that later upgrades to a writer can fail at once with "database is locked" instead of
waiting, which is what breaks SQLite under several gunicorn workers.
"""

from flask import Flask, has_request_context, request
from sqlalchemy import event

from marketplace.extensions import db

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _wants_write_lock() -> bool:
    if has_request_context():
        return request.method not in SAFE_METHODS
    return True  # CLI commands, workers and tests write


def init_app(app: Flask) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "sqlite":
        return
    busy_ms = int(app.config["SQLITE_BUSY_TIMEOUT_MS"])

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Hand transaction control to SQLAlchemy's "begin" event below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _wants_write_lock() else "BEGIN")


def is_sqlite() -> bool:
    return db.engine.dialect.name == "sqlite"
