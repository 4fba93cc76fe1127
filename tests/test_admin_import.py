"""The admin import page: /admin/import."""

import io
import json

import pytest
from sqlalchemy import func, select

from marketplace.models import Organisation, Tender
from tests.conftest import html

URL = "/admin/import"


@pytest.fixture
def app_config():
    return {"IMPORT_MAX_UPLOAD_BYTES": 4096}


@pytest.fixture
def admin(make_user, login_as):
    return login_as(make_user(site_admin=True))


def upload(client, content: bytes, filename: str = "orgs.jsonl", kind: str = "organisations",
           **fields):
    data = {"kind": kind, "file": (io.BytesIO(content), filename), **fields}
    return client.post(URL, data=data, content_type="multipart/form-data")


def jsonl(*records) -> bytes:
    return "\n".join(json.dumps(r) for r in records).encode()


def problem_rows(response) -> list[list[str]]:
    return [[td.get_text(strip=True) for td in tr.select("td")]
            for tr in html(response).select("table.import-report tbody tr")]


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_anonymous_users_are_sent_to_login(client):
    for response in (client.get(URL), upload(client, jsonl({"id": 1, "name": "A"}))):
        assert response.status_code == 302
        assert "/login" in response.headers["Location"]


def test_ordinary_users_are_refused(client, make_user, login_as, db):
    login_as(make_user())
    assert client.get(URL).status_code == 403
    assert upload(client, jsonl({"id": 1, "name": "A"})).status_code == 403
    assert count(db, Organisation) == 0


def test_admin_sees_the_form_and_the_nav_link(client, admin):
    page = html(client.get(URL))
    assert page.h1.get_text(strip=True) == "Import"
    assert page.select_one('nav.tabs a[aria-current="page"]').get_text(strip=True) == "Import"
    form = page.select_one("form[enctype='multipart/form-data']")
    assert form.select_one("input[type=file][name=file]") is not None
    assert {o["value"] for o in form.select("select[name=kind] option")} == {
        "organisations", "tenders"}


def test_admin_upload_imports_and_shows_the_report(client, admin, db):
    content = jsonl({"id": "a", "name": "Alpha Ltd", "cpv_codes": ["45000000"]},
                    {"id": "b", "name": "Beta Ltd", "cpv_codes": ["00000001"]})
    response = upload(client, content, source="chamber-x")
    assert response.status_code == 200
    page = html(response)
    assert "1 created" in page.select_one("[role=status]").get_text()
    assert problem_rows(response) == [["line 2", "b", "cpv_codes",
                                       "bad CPV code '00000001': not in the CPV 2008 "
                                       "vocabulary"]]
    imported = db.session.scalar(select(Organisation).where(Organisation.external_id == "a"))
    assert imported.external_source == "chamber-x"
    assert imported.profile.is_published


def test_admin_dry_run_saves_nothing(client, admin, db):
    response = upload(client, jsonl({"id": "a", "title": "Roof"}), "t.jsonl", kind="tenders",
                      dry_run="y")
    assert response.status_code == 200
    assert "1 would be created" in html(response).select_one("[role=status]").get_text()
    assert count(db, Tender) == 0


def test_oversize_upload_is_refused_with_413(client, admin, db):
    big = jsonl(*({"id": n, "name": "x" * 100} for n in range(100)))
    assert len(big) > 4096
    assert upload(client, big).status_code == 413
    # Far beyond the cap: refused on the declared length, before the body is parsed.
    assert upload(client, big * 20).status_code == 413
    assert count(db, Organisation) == 0


@pytest.mark.parametrize(("content", "filename", "kind"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "logo.png", "organisations"),
    (b"\xff\xfe\x00garbage\n{not json", "x.jsonl", "tenders"),
    (b'{"releases": 5}', "package.json", "tenders"),
    (b"", "empty.csv", "organisations"),
    (b"name;town\n", "header-only.csv", "organisations"),
])
def test_bad_files_give_a_report_not_an_error_page(client, admin, db, content, filename, kind):
    response = upload(client, content, filename, kind=kind)
    assert response.status_code == 200
    page = html(response)
    assert page.select_one("section.panel-danger") is not None
    assert problem_rows(response)
    assert count(db, Organisation) == 0


def test_missing_file_and_bad_source_show_form_errors(client, admin):
    response = client.post(URL, data={"kind": "organisations"},
                           content_type="multipart/form-data")
    assert response.status_code == 200
    assert "Choose a file to import." in html(response).select_one(".field-error").get_text()
    response = upload(client, jsonl({"id": 1, "name": "A"}), source="bad source!")
    assert html(response).select_one(".field-error") is not None


class TestWithCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_upload_without_a_csrf_token_is_refused(self, client, admin, db):
        response = upload(client, jsonl({"id": 1, "name": "A"}))
        assert response.status_code == 400
        assert count(db, Organisation) == 0
