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
            session["_id"] = session_identifier(client)  # else Flask-Login unfreshens it
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


# -- helpers for the foundation tests (accounts, routes, CSRF) ---------------------------------

def session_identifier(client) -> str:
    """The id Flask-Login's session protection derives from the client's address and agent;
    a planted session with any other id is marked non-fresh on its first request."""
    from flask_login.utils import _create_identifier

    with client.application.test_request_context(environ_base=client.environ_base):
        return _create_identifier()


def log_in(client, email: str, password: str = PASSWORD, *, remember: bool = False,
           next: str | None = None):
    """Log in through the real form, as a browser does."""
    from urllib.parse import urlencode

    url = "/login" + (f"?{urlencode({'next': next})}" if next is not None else "")
    data = {"email": email, "password": password}
    if remember:
        data["remember"] = "y"
    return client.post(url, data=data)


ROUTE_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def route_requests(app) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every route, URL parameters filled generically: ints 1,
    `any(...)` its first choice, strings "x". New routes are picked up without edits."""
    from werkzeug.routing.converters import (
        AnyConverter,
        FloatConverter,
        IntegerConverter,
        UUIDConverter,
    )

    def sample(converter):
        if isinstance(converter, IntegerConverter):
            return 1
        if isinstance(converter, FloatConverter):
            return 1.0
        if isinstance(converter, AnyConverter):
            return sorted(converter.items)[0]
        if isinstance(converter, UUIDConverter):
            return "00000000-0000-4000-8000-000000000001"
        return "x"

    adapter = app.url_map.bind("localhost")
    found = []
    for rule in app.url_map.iter_rules():
        values = {name: sample(conv) for name, conv in rule._converters.items()}
        for method in sorted(set(ROUTE_METHODS) & rule.methods):
            found.append((rule.endpoint, method, adapter.build(rule.endpoint, values,
                                                               method=method)))
    return found


@pytest.fixture(autouse=True)
def _isolated_requests(request):
    """Each test-client request gets its own ``g`` and its own transaction, as in production.

    The ``app`` fixture keeps one app context open for the whole test and Flask re-uses it for
    every request, so without this Flask-Login's cached user, the once-per-request clock and
    the CSRF token would leak from one request into the next (a replayed cookie would still
    look logged in, a time-machine shift would not be seen), and a POST would carry on the
    transaction a GET left open instead of beginning its own.
    """
    if "app" not in request.fixturenames:
        yield
        return
    from flask import g, request_started, request_tearing_down

    app = request.getfixturevalue("app")

    def fresh_globals(_sender, **_extra):
        for name in list(g):
            g.pop(name)

    def end_transaction(_sender, **_extra):
        _db.session.rollback()

    request_started.connect(fresh_globals, app)
    request_tearing_down.connect(end_transaction, app)
    yield
    request_started.disconnect(fresh_globals, app)
    request_tearing_down.disconnect(end_transaction, app)


@pytest.fixture
def index_now(app):
    """Apply pending search-outbox rows to this test app's index, synchronously (the job
    ``flask search worker`` does in production). Commit first: the indexer reads committed
    rows only, in a session of its own."""
    from marketplace.search.indexer import run_once
    from marketplace.search.service import close_searchers

    def run(**options):
        _db.session.commit()  # end the test's transaction (SQLite: it may hold the write lock)
        return run_once(app.config["SEARCH_INDEX_DIR"], lock_timeout=10, **options)

    yield run
    close_searchers()


# -- heavy tier: real servers, minutes each; only under `make test-heavy` ----------------------

def pytest_collection_modifyitems(config, items):
    if os.environ.get("GUILD_HEAVY") == "1":
        return
    skip = pytest.mark.skip(reason="heavy tier: run with `make test-heavy` (GUILD_HEAVY=1)")
    for item in items:
        if "heavy" in item.keywords:
            item.add_marker(skip)
