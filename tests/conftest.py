"""Fixtures shared by the whole suite.

The same tests run on SQLite (default) and on PostgreSQL when TEST_DATABASE_URL is set.
The schema is created once per session; each test gets a fresh app and its rows are
deleted afterwards (reference tables such as the CPV list are kept).
"""

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import text

from marketplace import create_app
from marketplace.extensions import db as _db
from marketplace.models import Membership, Organisation, OrgRole, User
from marketplace.passwords import hash_password

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
KEEP_TABLES = {"cpv_codes", "alembic_version"}
PASSWORD = "a long test passphrase 42"
# Cheap Argon2id parameters keep the suite fast; production uses argon2-cffi's defaults.
FAST_HASH = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}

BASE_CONFIG = {
    "TESTING": True,
    "GUILD_ENV": "test",
    "SECRET_KEY": "test-secret-key-not-for-production",
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "PASSWORD_HASH_PARAMS": FAST_HASH,
    "MAIL_SERVER": None,
    "SERVER_NAME": None,
}


def is_postgres() -> bool:
    return bool(TEST_DATABASE_URL and TEST_DATABASE_URL.startswith("postgresql"))


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    if TEST_DATABASE_URL:
        return TEST_DATABASE_URL
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}"


def build_app(database_url: str, instance: str, **overrides):
    os.environ["GUILD_INSTANCE_PATH"] = instance
    config = {**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url}
    config.update(overrides)
    return create_app(config)


@pytest.fixture(scope="session")
def _schema(database_url, tmp_path_factory) -> None:
    app = build_app(database_url, str(tmp_path_factory.mktemp("schema-instance")))
    with app.app_context():
        if is_postgres():
            with _db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            _db.drop_all()
        _db.create_all()
        from marketplace.cpv import load_cpv_codes

        load_cpv_codes()
        _db.session.commit()
        _db.engine.dispose()


def clean_database() -> None:
    _db.session.remove()
    with _db.engine.begin() as conn:
        for table in reversed(_db.metadata.sorted_tables):
            if table.name not in KEEP_TABLES:
                conn.execute(table.delete())


@pytest.fixture
def app_config() -> dict:
    """Override per test module or test: ``@pytest.fixture def app_config(): return {...}``."""
    return {}


@pytest.fixture
def app(_schema, database_url, tmp_path, app_config):
    app = build_app(database_url, str(tmp_path / "instance"), **app_config)
    with app.app_context():
        yield app
        clean_database()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    return _db


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


_seq = count(1)


@pytest.fixture
def make_user(db):
    def make(email: str | None = None, *, name: str | None = None, password: str = PASSWORD,
             site_admin: bool = False, **fields) -> User:
        n = next(_seq)
        user = User(email=(email or f"user{n}@example.com").lower(),
                    display_name=name or f"User {n}", password_hash=hash_password(password),
                    is_site_admin=site_admin, **fields)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_org(db, make_user):
    def make(owner: User | None = None, *, name: str | None = None, slug: str | None = None,
             members: dict | None = None, **fields) -> Organisation:
        """An organisation with an owner, and optionally {user: role} further members."""
        n = next(_seq)
        org = Organisation(name=name or f"Org {n}", slug=slug or f"org-{n}", **fields)
        org.memberships.append(Membership(user=owner or make_user(), role=OrgRole.OWNER))
        for user, role in (members or {}).items():
            org.memberships.append(Membership(user=user, role=OrgRole(role)))
        db.session.add(org)
        db.session.commit()
        return org

    return make


@pytest.fixture
def login_as(client):
    """Log a user in on the test client without going through the form."""

    def login(user: User, *, fresh: bool = True):
        with client.session_transaction() as session:
            session.clear()
            session["_user_id"] = user.get_id()
            session["_fresh"] = fresh
            session["_id"] = "test"
            session["auth_at"] = datetime.now(UTC).timestamp()
        return user

    return login


def html(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def form_errors(response) -> list[str]:
    return [e.get_text(" ", strip=True) for e in html(response).select(".field-error")]


def flashes(response) -> list[str]:
    return [e.get_text(" ", strip=True) for e in html(response).select(".flash")]


@pytest.fixture
def utc_now() -> datetime:
    return datetime.now(UTC)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


@pytest.fixture
def caplog_all(caplog) -> Iterator:
    caplog.set_level("DEBUG")
    yield caplog
