"""GET never changes state (SECURITY.md item 13): every GET page, as every actor, leaves
every table row exactly as it was.

The world (tests/world.py) holds one of everything; the pages are the authorization
matrix's GET cases (with ids) and every GET route without parameters, with a few query
strings. The database is compared row by row after each page.

One column is left out, on purpose: ``api_tokens.last_used_at``. The API stamps it on an
authenticated call (at most once every 5 minutes, marketplace/api/auth.py) so owners can
see which tokens are still in use; it is bookkeeping about the caller, not state a GET
changes for anyone else. Everything else that a GET writes is a bug.
"""

import tomllib
from pathlib import Path

import pytest

from tests.authz.harness import get_urls, send
from tests.world import ACTORS, client_for, fill, shared_world

MATRIX = tomllib.loads((Path(__file__).parent / "authz" / "matrix.toml").read_text())["case"]
IGNORED_COLUMNS = {("api_tokens", "last_used_at")}


def _without_ignored(digest_rows: dict[str, list[dict]]) -> dict[str, list[str]]:
    return {table: sorted(repr(sorted((k, v) for k, v in row.items()
                                      if (table, k) not in IGNORED_COLUMNS))
                          for row in rows)
            for table, rows in digest_rows.items()}


@pytest.fixture(scope="module")
def world_env(_schema, database_url, tmp_path_factory):
    with shared_world(database_url, str(tmp_path_factory.mktemp("get-safe"))) as env:
        yield env


def test_no_get_changes_the_database(world_env):
    app, world, snapshot = world_env
    before = _without_ignored(snapshot.read())
    files_before = sorted(p for p in Path(app.config["UPLOAD_DIR"]).rglob("*"))
    changed, served = [], 0
    for url in get_urls(app, MATRIX):
        for actor in ACTORS:
            response = send(client_for(app, world, actor), world, actor, "GET", url, None)
            assert response.status_code < 500, f"GET {fill(url, world)} as {actor}"
            served += response.status_code == 200
        after = _without_ignored(snapshot.read())
        if after != before:
            tables = sorted(t for t in before if before[t] != after[t])
            changed.append(f"GET {fill(url, world)} changed {tables}")
            snapshot.restore()
    assert changed == []
    assert sorted(p for p in Path(app.config["UPLOAD_DIR"]).rglob("*")) == files_before
    # The walk reached real pages, not only refusals.
    assert served > 300


def test_the_comparison_sees_a_change(world_env):
    """The check above can fail: one changed column in one row is seen."""
    _app, _world, snapshot = world_env
    from sqlalchemy import text

    from marketplace.extensions import db

    before = _without_ignored(snapshot.read())
    try:
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE notifications SET title = 'changed' WHERE id = "
                              "(SELECT MIN(id) FROM notifications)"))
        assert _without_ignored(snapshot.read()) != before
    finally:
        snapshot.restore()
    assert _without_ignored(snapshot.read()) == before
