"""Hypothesis drives every HTML form (every POST route) with hostile input (SECURITY.md 11,
14, 17): fields of the route's WTForms classes by type, plus missing, empty and repeated
fields and extra fields no form has. FUZZ_EXAMPLES examples per route (200 by default).

Per example: no response >= 500; a rejected request leaves the database as it was; an
accepted one sets no ownership, role or status column it is not for (tests/fuzz/harness.py).
"""

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from wtforms import FieldList, FormField

from marketplace.extensions import db
from marketplace.models import User
from tests.fuzz import snapshot
from tests.fuzz.harness import (
    FUZZ_EXAMPLES,
    FUZZ_SETTINGS,
    Stats,
    check_example,
    is_rejected,
    short,
)
from tests.fuzz.specs import API_SPECS, SPECS, Spec, privileged_extras
from tests.fuzz.strategies import encode, form_data, urlencoded
from tests.fuzz.world import World, build_world, log_in

STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


def test_every_state_changing_route_is_fuzzed(app):
    routes = {rule.endpoint for rule in app.url_map.iter_rules()
              if rule.methods & STATE_CHANGING}
    assert routes - SPECS.keys() - API_SPECS.keys() == set(), "add these routes to specs.py"
    assert (SPECS.keys() | API_SPECS.keys()) - routes == set(), "stale entries in specs.py"


def form_fields(app, form_classes, prefix="") -> dict[str, tuple[str, list[str]]]:
    """{posted name: (WTForms field type, static choices)} for the route's form classes."""
    found = {}

    def walk(fields):
        for f in fields:
            if isinstance(f, FieldList):
                walk(f.entries)
            elif isinstance(f, FormField):
                walk(f.form)
            else:
                choices = getattr(f, "choices", None)
                values = ([str(c[0]) if isinstance(c, tuple) else str(c) for c in choices]
                          if isinstance(choices, list | tuple) else [])
                found[f.name] = (type(f).__name__, values)

    with app.test_request_context(method="POST"):
        for form_class in form_classes:
            walk(form_class(prefix=prefix, meta={"csrf": False}))
    return found


def with_prefix(data: dict, prefix: str) -> dict:
    return {f"{prefix}-{k}" if prefix else k: v for k, v in data.items()}


def multidict(data: dict) -> MultiDict:
    return MultiDict(list(data.items()))  # a tuple value (a file) stays one value


def send(client, url: str, method: str, form: MultiDict, query: MultiDict | None = None):
    body, content_type = encode(form)
    if query:
        url += "?" + urlencoded(query.items(multi=True))
    return client.open(url, method=method, data=body, content_type=content_type)


@dataclass
class Route:
    endpoint: str
    spec: Spec
    world: World
    prefix: str
    fields: dict
    query_fields: dict

    @classmethod
    def build(cls, app, make_user, make_org, endpoint: str) -> "Route":
        spec = SPECS[endpoint]
        world = build_world(app, make_user, make_org)
        prefix = spec.prefix(world) if callable(spec.prefix) else spec.prefix
        return cls(endpoint, spec, world, prefix, form_fields(app, spec.forms, prefix),
                   form_fields(app, spec.query_forms),
                   world.users[spec.actor].id if spec.actor else None)

    actor_id: int | None = None

    def start(self, client) -> tuple[str, dict, dict]:
        """Log the actor in afresh (logout and password changes end sessions) and read the
        URL and the baseline from the current database."""
        if self.actor_id is None:
            client._cookies.clear()  # nor a remember-me cookie from an accepted login
        log_in(client, db.session.get(User, self.actor_id) if self.actor_id else None)
        url = self.spec.url(self.world)
        baseline = with_prefix(self.spec.baseline(self.world), self.prefix)
        query = self.spec.query(self.world)
        db.session.rollback()  # the request begins its own transaction
        return url, baseline, query


@pytest.mark.parametrize("endpoint", sorted(SPECS))
def test_fuzz_form(app, make_user, make_org, endpoint):
    route = Route.build(app, make_user, make_org, endpoint)
    client = app.test_client()
    spec = route.spec

    # The valid baseline, carrying every privileged field no form has, is accepted: the world
    # lets the actor use the form (so the fuzzing below reaches past the permission checks),
    # and the extra fields change nothing they name (SECURITY.md 11). Some routes use their
    # object up here (a deletion, an answer); the fuzzing then drives their refusals.
    url, baseline, query = route.start(client)
    extras = {k: v for k, v in privileged_extras(route.world).items()
              if k not in route.fields and k not in baseline}
    before = snapshot.take()
    response = send(client, url, spec.method, multidict({**baseline, **extras}),
                    multidict(query))
    rejected = is_rejected(client, response, renders_on_success=spec.renders_on_success)
    assert not rejected, (response.status_code, response.headers.get("Location"),
                          getattr(response, "fuzz_flashes", None),
                          [e for e in response.get_data(as_text=True).splitlines()
                           if "error" in e][:10])
    check_example(endpoint, Stats(), before, response, rejected, spec.may_change,
                  short((baseline, extras)), route.actor_id)

    stats = Stats()
    state = {}

    @FUZZ_SETTINGS
    @given(data=st.data())
    def example(data):
        url, baseline, query = route.start(client)
        # After a failing example (while Hypothesis shrinks) the last snapshot is stale.
        before = state.pop("snapshot", None) or snapshot.take()
        form = data.draw(form_data(route.fields, baseline), label="form")
        params = (data.draw(form_data(route.query_fields, query), label="query")
                  if spec.query_forms else None)
        response = send(client, url, spec.method, form, params)
        rejected = is_rejected(client, response, renders_on_success=spec.renders_on_success)
        state["snapshot"] = check_example(endpoint, stats, before, response, rejected,
                                          spec.may_change, short((form, params)),
                                          route.actor_id)

    example()
    print(stats.line(endpoint))
    # Hypothesis stops early only when it runs out of distinct inputs, which these
    # strategies do not; fewer examples would mean the route was not really fuzzed.
    assert stats.examples >= FUZZ_EXAMPLES
