"""SQLite set-up (SECURITY.md 28): WAL, busy timeout, enforced foreign keys, and write
requests that take the write lock up front with BEGIN IMMEDIATE."""

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from marketplace.models import Membership, OrgRole
from tests.conftest import is_postgres

pytestmark = pytest.mark.skipif(is_postgres(), reason="SQLite engine settings; PostgreSQL "
                                "serialises writers with row locks instead")


def pragma(db, name):
    return db.session.execute(text(f"PRAGMA {name}")).scalar()


def test_pragmas_on_every_connection(app, db):
    assert str(pragma(db, "journal_mode")).lower() == "wal"
    assert pragma(db, "foreign_keys") == 1
    assert pragma(db, "busy_timeout") == app.config["SQLITE_BUSY_TIMEOUT_MS"] >= 5000
    db.session.commit()  # outside requests every transaction is a writer: end this one first
    with db.engine.connect() as other:  # a second pooled connection gets them too
        assert other.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert other.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_foreign_keys_are_enforced(db):
    db.session.add(Membership(organisation_id=999_999, user_id=999_999, role=OrgRole.MEMBER))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.fixture
def begins(db):
    """The BEGIN statements the engine sends, in order."""
    seen = []

    def record(conn, cursor, statement, *args):
        if statement.upper().startswith("BEGIN"):
            seen.append(statement.upper())

    db.session.commit()  # the test's own transaction is over before requests start
    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


def test_post_requests_begin_immediate(client, begins):
    client.post("/login", data={"email": "nobody@example.com", "password": "x" * 12})
    assert begins and set(begins) == {"BEGIN IMMEDIATE"}


def test_get_requests_begin_deferred(client, make_user, login_as, begins):
    client.get("/")
    assert begins and set(begins) == {"BEGIN"}


def test_logged_in_get_and_post(client, make_user, login_as, begins, db):
    login_as(make_user())
    db.session.commit()
    begins.clear()
    client.get("/dashboard")
    get_begins = list(begins)
    begins.clear()
    client.post("/orgs/new", data={"name": "Lock Test Ltd"})
    assert get_begins == ["BEGIN"]
    assert begins and set(begins) == {"BEGIN IMMEDIATE"}
