"""The profile update endpoint's lists (capabilities, CPV codes, certifications), publishing,
and the OCDS feed before anything is published."""

from sqlalchemy import select

from marketplace.extensions import db as _db
from marketplace.models import Certification, SearchOutbox
from tests.api.test_api_endpoints import bearer, error_of, make_token
from tests.conftest import html

FULL_PROFILE = {
    "summary": "Roofers in Bristol.", "description": "Flat and pitched roofs since 1990.",
    "town": "Bristol", "capabilities": ["Roofing", "Lead work", "roofing"],
    "cpv_codes": ["45261000", "45261210", "45261000"],
    "certifications": [
        {"name": "ISO 9001", "issuer": "BSI", "number": "FS 12345",
         "valid_until": "2099-01-31"},
        {"name": "CHAS"}],
}


def _firm(make_user, make_org):
    owner = make_user(name="Rita Roofer")
    return owner, make_org(owner, name="Rita Roofing")


def test_lists_set_by_patch_show_on_get_and_on_the_profile_page(client, make_user,
                                                                   make_org):
    owner, org = _firm(make_user, make_org)
    secret = make_token(owner)
    response = client.patch(f"/api/v1/organisations/{org.id}", headers=bearer(secret),
                            json={"version": 0, **FULL_PROFILE, "published": True})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["published"] is True
    assert body["capabilities"] == ["lead work", "roofing"]
    assert body["cpv_codes"] == ["45261000", "45261210"]
    assert body["certifications"] == [
        {"name": "CHAS", "issuer": None, "number": None, "valid_until": None},
        {"name": "ISO 9001", "issuer": "BSI", "number": "FS 12345",
         "valid_until": "2099-01-31"}]
    assert _db.session.scalars(select(SearchOutbox)).first() is not None

    # Anyone reads the published profile; the certificate number is for its managers.
    public = client.get(f"/api/v1/organisations/{org.id}").get_json()
    assert public["cpv_codes"] == ["45261000", "45261210"]
    assert public["capabilities"] == ["lead work", "roofing"]
    assert [c["number"] for c in public["certifications"]] == [None, None]
    assert public["version"] == body["version"]

    page = html(client.get(f"/orgs/{org.slug}"))
    assert [c.get_text(strip=True) for c in page.select(".cpv-code")] == ["45261000",
                                                                          "45261210"]
    assert "lead work" in page.select_one(".capability-tags").get_text()
    certs = page.select_one(".cert-list").get_text()
    assert "ISO 9001" in certs and "CHAS" in certs and "BSI" in certs

    # The lists are replaced; an unchanged certification keeps its row.
    iso_id = _db.session.scalar(select(Certification.id).where(Certification.name == "ISO 9001"))
    response = client.patch(f"/api/v1/organisations/{org.id}", headers=bearer(secret), json={
        "version": body["version"], "cpv_codes": ["45261210"], "capabilities": ["roofing"],
        "certifications": [FULL_PROFILE["certifications"][0]]})
    assert response.status_code == 200, response.get_json()
    again = response.get_json()
    assert again["cpv_codes"] == ["45261210"] and again["capabilities"] == ["roofing"]
    assert [c["name"] for c in again["certifications"]] == ["ISO 9001"]
    assert again["version"] > body["version"]
    _db.session.expire_all()
    assert _db.session.scalars(select(Certification.id)).all() == [iso_id]

    # Unpublishing hides it from everyone but its own people.
    response = client.patch(f"/api/v1/organisations/{org.id}", headers=bearer(secret),
                            json={"version": again["version"], "published": False})
    assert response.status_code == 200 and response.get_json()["published"] is False
    assert client.get(f"/api/v1/organisations/{org.id}").status_code == 404


def test_unknown_cpv_code_is_422_naming_the_field_and_changes_nothing(client, make_user,
                                                                      make_org):
    owner, org = _firm(make_user, make_org)
    secret = make_token(owner)
    response = client.patch(f"/api/v1/organisations/{org.id}", headers=bearer(secret),
                            json={"version": 0, "cpv_codes": ["45261000", "99999999", "12"]})
    assert response.status_code == 422
    fields = error_of(response)["fields"]
    assert set(fields) == {"cpv_codes.1", "cpv_codes.2"}
    bad_cert = client.patch(f"/api/v1/organisations/{org.id}", headers=bearer(secret), json={
        "version": 0, "certifications": [{"name": " ", "valid_until": "soon", "extra": 1}]})
    assert bad_cert.status_code == 422
    assert {"certifications.0.name", "certifications.0.valid_until",
            "certifications.0.extra"} <= set(error_of(bad_cert)["fields"])
    _db.session.expire_all()
    assert org.profile is None


def test_publishing_an_incomplete_profile_is_422_and_rolls_back(client, make_user, make_org):
    owner, org = _firm(make_user, make_org)
    secret = make_token(owner)
    response = client.patch(f"/api/v1/organisations/{org.id}", headers=bearer(secret),
                            json={"version": 0, "cpv_codes": ["45261000"], "published": True})
    assert response.status_code == 422
    assert "published" in error_of(response)["fields"]
    _db.session.expire_all()
    assert org.profile is None  # the whole request, not just the publishing, was refused


def test_another_organisations_token_is_404_and_stale_version_409(client, make_user,
                                                                   make_org):
    owner, org = _firm(make_user, make_org)
    stranger = make_user(name="Sid Stranger")
    make_org(stranger, name="Stranger Ltd")
    response = client.patch(f"/api/v1/organisations/{org.id}",
                            headers=bearer(make_token(stranger)),
                            json={"version": 0, "cpv_codes": ["45261000"],
                                  "certifications": [{"name": "Fake"}], "published": True})
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"

    secret = make_token(owner)
    first = client.patch(f"/api/v1/organisations/{org.id}", headers=bearer(secret),
                         json={"version": 0, "cpv_codes": ["45261000"]})
    assert first.status_code == 200
    stale = client.patch(f"/api/v1/organisations/{org.id}", headers=bearer(secret), json={
        "version": 0, "cpv_codes": ["45261210"], "certifications": [{"name": "Lost"}]})
    assert stale.status_code == 409
    assert error_of(stale)["code"] == "conflict"
    current = client.get(f"/api/v1/organisations/{org.id}", headers=bearer(secret)).get_json()
    assert current["cpv_codes"] == ["45261000"] and current["certifications"] == []
    assert current["version"] == first.get_json()["version"]


def test_profile_update_schema_is_documented(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    update = doc["components"]["schemas"]["ProfileUpdate"]["properties"]
    assert {"cpv_codes", "certifications", "published"} <= set(update)


def test_empty_ocds_feed_is_404_with_an_error_object(client):
    response = client.get("/ocds/releases.json")
    assert response.status_code == 404
    assert error_of(response)["message"] == "No releases are published yet."
    assert "at least one release" in client.get("/api/v1/docs").get_data(as_text=True)
