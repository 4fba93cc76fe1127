"""Error pages: the right status, a reference id for 500s that is in the log, and never a
traceback (SECURITY.md 17, 20)."""

import re

import pytest
from flask import abort

from marketplace.errors import Conflict, InvalidState, NotFound, PermissionDenied
from tests.conftest import html, log_in

SECRET = "internal detail 7f3a: do not show"


def add_failing_routes(app):
    """Test-only routes that fail in each of the ways a view can."""

    def crash():
        raise RuntimeError(SECRET)

    errors = {"invalid": InvalidState("This bid is already submitted."),
              "conflict": Conflict("Someone else saved first."),
              "denied": PermissionDenied("Not your organisation."),
              "missing": NotFound("No such bid.")}

    def domain(kind):
        raise errors[kind]

    app.add_url_rule("/_test/crash", "test_crash", crash, methods=["GET", "POST"])
    app.add_url_rule("/_test/domain/<kind>", "test_domain", domain)
    app.add_url_rule("/_test/abort/<int:code>", "test_abort", lambda code: abort(code))


def heading(response) -> str:
    return html(response).h1.get_text(strip=True)


class TestInternalErrors:
    @pytest.fixture
    def app_config(self):
        return {"ERRORS_RAISE": False}

    @pytest.mark.parametrize("method", ["GET", "POST"])
    def test_500_page_has_a_reference_that_is_in_the_log(self, app, client, caplog, method):
        add_failing_routes(app)
        response = client.open("/_test/crash", method=method)
        assert response.status_code == 500
        page = html(response)
        assert page.h1.get_text(strip=True) == "Something went wrong"
        reference = page.select_one(".reference").get_text(strip=True)
        assert re.fullmatch(r"[0-9a-f]{12}", reference)
        body = response.get_data(as_text=True)
        for leak in (SECRET, "Traceback", "RuntimeError", "File \""):
            assert leak not in body
        logged = [r for r in caplog.records if f"ref={reference}" in r.getMessage()]
        assert len(logged) == 1
        assert logged[0].exc_info and SECRET in str(logged[0].exc_info[1])

    def test_each_500_gets_its_own_reference(self, app, client):
        add_failing_routes(app)
        refs = {html(client.get("/_test/crash")).select_one(".reference").get_text()
                for _ in range(3)}
        assert len(refs) == 3

    def test_json_clients_get_json_errors(self, app, client):
        add_failing_routes(app)
        response = client.get("/_test/crash", headers={"Accept": "application/json"})
        assert response.status_code == 500
        error = response.get_json()["error"]
        assert error["code"] == 500 and re.fullmatch(r"[0-9a-f]{12}", error["reference"])
        assert SECRET not in response.get_data(as_text=True)


def test_tests_see_real_exceptions_by_default(app, client):
    add_failing_routes(app)
    with pytest.raises(RuntimeError, match="internal detail"):
        client.get("/_test/crash")


@pytest.mark.parametrize(("kind", "status", "title", "message"), [
    ("invalid", 409, "Not possible right now", "This bid is already submitted."),
    ("conflict", 409, "Someone else changed this", "Someone else saved first."),
    ("denied", 403, "Not allowed", "Not your organisation."),
    ("missing", 404, "Not found", "No such bid."),
])
def test_domain_errors_become_pages(app, client, kind, status, title, message):
    add_failing_routes(app)
    response = client.get(f"/_test/domain/{kind}")
    assert response.status_code == status
    assert heading(response) == title
    assert html(response).select_one(".lead").get_text(strip=True) == message


@pytest.mark.parametrize(("code", "title"), [
    (400, "Bad request"), (403, "Not allowed"), (404, "Page not found"), (409, "Conflict"),
    (413, "Too large"), (429, "Too many attempts"),
])
def test_http_errors_render_the_error_page(app, client, code, title):
    add_failing_routes(app)
    response = client.get(f"/_test/abort/{code}")
    assert response.status_code == code
    assert heading(response) == title
    assert re.search(rf"\b{code}\b", html(response).select_one(".error-code").get_text())


def test_unknown_page_is_404(client):
    response = client.get("/there/is/nothing/here")
    assert response.status_code == 404
    assert heading(response) == "Page not found"


def test_forbidden_page_is_403(client, make_user, login_as):
    login_as(make_user())
    response = client.get("/admin/users")
    assert response.status_code == 403
    assert heading(response) == "Not allowed"


class TestRequestLimits:
    @pytest.fixture
    def app_config(self):
        return {"MAX_CONTENT_LENGTH": 4096, "MAX_FORM_PARTS": 20}

    def test_a_body_over_max_content_length_is_413(self, client):
        response = client.post("/login", data={"email": "a@example.com",
                                               "password": "x" * 10_000})
        assert response.status_code == 413
        assert heading(response) == "Too large"

    def test_too_many_form_parts_is_413(self, client):
        data = {f"field{i}": "v" for i in range(50)}
        response = client.post("/login", data=data, content_type="multipart/form-data")
        assert response.status_code == 413
        assert heading(response) == "Too large"

    def test_a_normal_form_still_works(self, client, make_user):
        make_user("me@example.com")
        assert log_in(client, "me@example.com").status_code == 302


def test_production_limits_are_configured(app):
    assert 0 < app.config["MAX_CONTENT_LENGTH"] <= 50 * 1024 * 1024
    assert 0 < app.config["MAX_FORM_PARTS"] <= 1000
    assert 0 < app.config["MAX_FORM_MEMORY_SIZE"] <= app.config["MAX_CONTENT_LENGTH"]
