"""Property-based tests of the API against its own OpenAPI document (in-process, WSGI):
no server errors, and every response matches the documented status codes and schemas."""

from datetime import UTC, date, datetime, timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from marketplace.api import services as api_services
from marketplace.extensions import db as _db
from marketplace.models import TenderStatus
from tests.bidding import give_profile, make_alliance, make_tender

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance,
          content_type_conformance, negative_data_rejection]


@pytest.fixture
def seeded(app, make_user, make_org):
    owner = make_user(name="Api Owner")
    buyer = make_org(owner, name="Api Council", is_buyer=True)
    firms = [make_org(name=f"Api Firm {i}") for i in range(3)]
    for firm in firms:
        give_profile(firm, capabilities=["roofing", "joinery"], cpv=["45261000"],
                     certs=[("ISO 9001", date(2099, 1, 1))])
    give_profile(buyer, capabilities=["buying"])
    make_alliance("Api Alliance", firms[0], firms[1])
    make_tender(buyer, title="Roof repairs")
    make_tender(buyer, title="Old job", deadline=datetime.now(UTC) - timedelta(days=1))
    make_tender(buyer, title="Draft job", status=TenderStatus.DRAFT)
    _token, secret = api_services.create_token(owner, "schemathesis", "read-write", None,
                                              datetime.now(UTC))
    _db.session.commit()
    return secret


OPERATIONS = [
    ("GET", "/api/v1/organisations"), ("GET", "/api/v1/organisations/{org_id}"),
    ("PATCH", "/api/v1/organisations/{org_id}"), ("GET", "/api/v1/alliances"),
    ("GET", "/api/v1/alliances/{alliance_id}"), ("GET", "/api/v1/projects"),
    ("GET", "/api/v1/projects/{project_id}"), ("GET", "/api/v1/tenders"),
    ("POST", "/api/v1/tenders"), ("GET", "/api/v1/tenders/{tender_id}"),
    ("PATCH", "/api/v1/tenders/{tender_id}"), ("POST", "/api/v1/tenders/{tender_id}/publish"),
    ("GET", "/api/v1/tenders/{tender_id}/matches"), ("GET", "/api/v1/search"),
]


def test_every_operation_is_covered(app):
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    assert documented == set(OPERATIONS)


# schemathesis.pytest.from_fixture does not work with pytest 9 (it reads a removed private
# attribute), so each operation runs its own Hypothesis loop on the fixture's app.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_api_conforms_to_its_document(app, seeded, method, path, mode):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {seeded}"}

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        case.call_and_validate(headers=headers, checks=CHECKS)

    check()

