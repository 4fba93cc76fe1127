"""The authorization matrix (SECURITY.md items 9 and 10), driven by tests/authz/matrix.toml.

One test per (case, actor): the actor's request, ids filled from the shared world
(tests/world.py), must get exactly the answer the matrix states — so no unexpected 2xx, and
404 where existence is private. A case that is not a GET may change the world; the world is
restored from its snapshot afterwards, so every test sees the same data.

A route with an object id, or any route that is not public, that the matrix lacks fails
test_every_route_with_an_id_or_login_is_in_the_matrix: a new route needs its row.
"""

import tomllib
from pathlib import Path

import pytest
from werkzeug.exceptions import MethodNotAllowed, NotFound

from tests.authz.harness import outcome, send
from tests.test_routes import PUBLIC
from tests.world import ACTORS, client_for, fill, shared_world

MATRIX = tomllib.loads((Path(__file__).parent / "matrix.toml").read_text())["case"]
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}


def _split(route: str) -> tuple[str, str]:
    method, url = route.split(" ", 1)
    return method, url


@pytest.fixture(scope="module")
def world_env(_schema, database_url, tmp_path_factory):
    with shared_world(database_url, str(tmp_path_factory.mktemp("authz-instance"))) as env:
        yield env


CASES = [pytest.param(case, actor,
                      id=f"{case['route']}{' (' + case['note'] + ')' if 'note' in case else ''}"
                         f" [{actor}]")
         for case in MATRIX for actor in ACTORS]


@pytest.mark.parametrize(("case", "actor"), CASES)
def test_matrix(world_env, case, actor):
    app, world, snapshot = world_env
    method, url = _split(case["route"])
    client = client_for(app, world, actor)
    try:
        response = send(client, world, actor, method, url, case.get("data"))
        got = outcome(client, response)
    finally:
        if method != "GET":
            snapshot.restore()
    expected = case["expect"][actor]
    assert got == expected, (f"{case['route']} as {actor}: expected {expected}, got {got} "
                             f"({response.status_code} {response.headers.get('Location', '')})")


def test_every_case_names_every_actor_once():
    for case in MATRIX:
        assert sorted(case["expect"]) == sorted(ACTORS), case["route"]
        assert _split(case["route"])[0] in METHODS, case["route"]


def test_every_route_with_an_id_or_login_is_in_the_matrix(world_env):
    app, world, _ = world_env
    adapter = app.url_map.bind("localhost")
    covered = set()
    for case in MATRIX:
        method, url = _split(case["route"])
        path = fill(url, world).split("?", 1)[0]
        try:
            rule, _ = adapter.match(path, method=method, return_rule=True)
        except (NotFound, MethodNotAllowed):
            pytest.fail(f"matrix route matches no route of the app: {case['route']}")
        covered.add((rule.endpoint, method))
    required = {(rule.endpoint, method)
                for rule in app.url_map.iter_rules() if rule.endpoint != "static"
                and (rule.arguments or rule.endpoint not in PUBLIC)
                for method in rule.methods & METHODS}
    assert sorted(required - covered) == [], "routes missing from tests/authz/matrix.toml"
