"""Hypothesis drives every write of the JSON API (/api/v1) with hostile bodies (SECURITY.md 11,
14, 17): the documented fields with values of any JSON type, huge and non-finite numbers,
missing and null fields, repeated keys, unknown fields (mass assignment), arrays, scalars and
broken JSON instead of an object. A valid bearer token of an actor allowed to write.

tests/api/test_schemathesis.py checks conformance to the OpenAPI document; this adds the
database checks: a refused body changes nothing, an accepted one sets no field it is not for.
"""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.extensions import db
from tests.fuzz import snapshot
from tests.fuzz.harness import FUZZ_EXAMPLES, FUZZ_SETTINGS, Stats, check_example, short
from tests.fuzz.specs import API_SPECS, privileged_extras
from tests.fuzz.strategies import json_body
from tests.fuzz.world import build_world


def schema_properties(client, name: str) -> dict:
    document = client.get("/api/v1/openapi.json").get_json()
    return document["components"]["schemas"][name].get("properties", {})


def send(client, spec, url: str, secret: str, body: bytes):
    return client.open(url, method=spec.method, data=body,
                       headers={"Authorization": f"Bearer {secret}",
                                "Content-Type": "application/json"})


@pytest.mark.parametrize("endpoint", sorted(API_SPECS))
def test_fuzz_api_write(app, make_user, make_org, endpoint):
    spec = API_SPECS[endpoint]
    world = build_world(app, make_user, make_org)
    client = app.test_client()
    secret = world.secrets[spec.secret]
    actor_id = world.users["lead" if spec.secret == "lead_api" else "buyer"].id
    properties = schema_properties(client, spec.schema)
    assert properties, f"no documented fields for {spec.schema}"

    # With fields the operation does not document (owner, role, status ...) the body is
    # refused as a whole and nothing changes (SECURITY.md 11) ...
    url, baseline = spec.url(world), spec.baseline(world)
    extras = {k: v for k, v in privileged_extras(world).items() if k not in properties}
    db.session.rollback()
    before = snapshot.take()
    response = send(client, spec, url, secret, json.dumps({**baseline, **extras}).encode())
    assert response.status_code == 422, response.get_json()
    assert set(extras) <= set(response.get_json()["error"]["fields"])
    check_example(endpoint, Stats(), before, response, True, request_repr=short(extras))
    # ... and without them it is accepted (the token and the world allow the write).
    before = snapshot.take()
    response = send(client, spec, url, secret, json.dumps(baseline).encode())
    assert response.status_code < 300, response.get_json()
    check_example(endpoint, Stats(), before, response, False, spec.may_change,
                  short(baseline), actor_id)
    stats = Stats()
    state = {}

    @FUZZ_SETTINGS
    @given(data=st.data())
    def example(data):
        url, baseline = spec.url(world), spec.baseline(world)
        db.session.rollback()
        before = state.pop("snapshot", None) or snapshot.take()
        body = data.draw(json_body(properties, baseline), label="body")
        response = send(client, spec, url, secret, body)
        if response.status_code >= 400:
            assert response.is_json and "error" in response.get_json(), response.data[:300]
        state["snapshot"] = check_example(endpoint, stats, before, response,
                                          response.status_code >= 400, spec.may_change,
                                          short(body), actor_id)

    example()
    print(stats.line(endpoint))
    assert stats.examples >= FUZZ_EXAMPLES
