"""The JSON API: tokens, permissions, validation, pagination, optimistic locking, errors."""

from datetime import UTC, datetime, timedelta

import pytest

from marketplace.api import services as api_services
from marketplace.extensions import db as _db
from marketplace.models import ApiToken, Organisation, Profile, Tender, TenderStatus
from tests.bidding import give_profile, make_alliance, make_tender
from tests.conftest import html


def make_token(user, scope="read-write", **fields):
    with _db.session.no_autoflush:
        token, secret = api_services.create_token(user, "test", scope, None,
                                                  datetime.now(UTC))
    for name, value in fields.items():
        setattr(token, name, value)
    _db.session.commit()
    return secret


def bearer(secret):
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def buyer(make_user, make_org):
    owner = make_user(name="Bea Buyer")
    org = make_org(owner, name="Town Council", is_buyer=True)
    return owner, org


@pytest.fixture
def outsider(make_user, make_org):
    user = make_user(name="Olly Outsider")
    org = make_org(user, name="Outsider Ltd")
    return user, org


def error_of(response):
    body = response.get_json()
    assert set(body) == {"error"}
    assert {"code", "message", "fields"} <= set(body["error"])
    return body["error"]


NEW_TENDER = {"title": "Repair the library roof", "description": "Flat roof, 400 m2.",
              "cpv_codes": ["45261000"], "currency": "GBP", "budget_max": "50000",
              "requirements": [{"kind": "capability", "value": "roofing"}]}


# -- authentication -----------------------------------------------------------------------------

def test_anonymous_reads_public_data_but_cannot_write(client, buyer):
    tender = make_tender(buyer[1])
    assert client.get(f"/api/v1/tenders/{tender.id}").status_code == 200
    response = client.post("/api/v1/tenders", json={**NEW_TENDER, "buyer_id": buyer[1].id})
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer ", "Basic abc", "Bearer " + "x" * 300])
def test_bad_tokens_are_401_even_for_reads(client, header):
    response = client.get("/api/v1/tenders", headers={"Authorization": header})
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_revoked_and_expired_tokens_are_refused(client, buyer):
    owner, _org = buyer
    revoked = make_token(owner, revoked_at=datetime.now(UTC) - timedelta(seconds=1))
    expired = make_token(owner, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    for secret, word in ((revoked, "revoked"), (expired, "expired")):
        response = client.get("/api/v1/tenders", headers=bearer(secret))
        assert response.status_code == 401
        assert word in error_of(response)["message"]


def test_a_read_token_cannot_write(client, buyer):
    owner, org = buyer
    secret = make_token(owner, scope="read")
    response = client.post("/api/v1/tenders", json={**NEW_TENDER, "buyer_id": org.id},
                           headers=bearer(secret))
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert _db.session.query(Tender).count() == 0


def test_a_session_cookie_is_not_accepted_for_writes(client, buyer, login_as):
    owner, org = buyer
    login_as(owner)
    response = client.post("/api/v1/tenders", json={**NEW_TENDER, "buyer_id": org.id})
    assert response.status_code == 401
    assert _db.session.query(Tender).count() == 0


def test_token_stores_only_a_hash_and_records_use(client, buyer):
    owner, _ = buyer
    secret = make_token(owner, scope="read")
    token = _db.session.query(ApiToken).one()
    assert secret not in (token.token_hash, token.prefix) and secret.startswith(token.prefix)
    assert client.get("/api/v1/tenders", headers=bearer(secret)).status_code == 200
    _db.session.refresh(token)
    assert token.last_used_at is not None


# -- writes, permissions, validation, locking ----------------------------------------------------

def test_create_update_publish_tender(client, buyer):
    owner, org = buyer
    secret = make_token(owner)
    deadline = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    response = client.post("/api/v1/tenders", headers=bearer(secret), json={
        **NEW_TENDER, "buyer_id": org.id, "deadline": deadline.isoformat()})
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["status"] == "draft" and created["buyer"]["id"] == org.id
    assert response.headers["Location"].endswith(f"/api/v1/tenders/{created['id']}")

    response = client.patch(f"/api/v1/tenders/{created['id']}", headers=bearer(secret),
                            json={"version": created["version"], "title": "Repair the roof"})
    assert response.status_code == 200, response.get_json()
    updated = response.get_json()
    assert updated["title"] == "Repair the roof" and updated["version"] > created["version"]
    assert updated["cpv_codes"] == ["45261000"]  # fields left out keep their values

    response = client.post(f"/api/v1/tenders/{created['id']}/publish", headers=bearer(secret),
                           json={"version": updated["version"]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "open"


def test_stale_version_is_409_and_changes_nothing(client, buyer):
    owner, org = buyer
    secret = make_token(owner)
    tender = make_tender(org, status=TenderStatus.DRAFT)
    stale = tender.version
    first = client.patch(f"/api/v1/tenders/{tender.id}", headers=bearer(secret),
                         json={"version": stale, "title": "First edit wins"})
    assert first.status_code == 200
    second = client.patch(f"/api/v1/tenders/{tender.id}", headers=bearer(secret),
                          json={"version": stale, "title": "Lost update"})
    assert second.status_code == 409
    assert error_of(second)["code"] == "conflict"
    _db.session.expire_all()
    assert _db.session.get(Tender, tender.id).title == "First edit wins"


def test_validation_errors_are_422_with_fields(client, buyer):
    owner, org = buyer
    secret = make_token(owner)
    response = client.post("/api/v1/tenders", headers=bearer(secret), json={
        "buyer_id": org.id, "title": "x", "cpv_codes": ["99999999"], "currency": "XXX",
        "requirements": [{"kind": "magic", "value": "y"}], "status": "open"})
    assert response.status_code == 422
    fields = error_of(response)["fields"]
    assert {"title", "cpv_codes.0", "currency", "requirements.0.kind", "status"} <= set(fields)
    # Domain rules beyond the schema come back per field too.
    response = client.post("/api/v1/tenders", headers=bearer(secret), json={
        "buyer_id": org.id, "title": "Roof", "budget_min": 10, "budget_max": 5})
    assert response.status_code == 422
    assert "budget_max" in error_of(response)["fields"]
    assert client.post("/api/v1/tenders", headers={**bearer(secret),
                       "Content-Type": "application/json"}, data="{nope").status_code == 400
    assert client.get("/api/v1/tenders?limit=1000").status_code == 422
    assert client.get("/api/v1/tenders?cursor=%%%").status_code == 422
    assert _db.session.query(Tender).count() == 0


def test_objects_of_another_organisation_are_404(client, buyer, outsider):
    owner, org = buyer
    stranger, _ = outsider
    draft = make_tender(org, status=TenderStatus.DRAFT, title="Secret draft")
    published = make_tender(org)
    secret = make_token(stranger)
    assert client.get(f"/api/v1/tenders/{draft.id}", headers=bearer(secret)).status_code == 404
    for tender in (draft, published):
        response = client.patch(f"/api/v1/tenders/{tender.id}", headers=bearer(secret),
                                json={"version": tender.version, "title": "Hijacked"})
        assert response.status_code == 404
        response = client.post(f"/api/v1/tenders/{tender.id}/publish", headers=bearer(secret),
                               json={"version": tender.version})
        assert response.status_code == 404
    response = client.post("/api/v1/tenders", headers=bearer(secret),
                           json={**NEW_TENDER, "buyer_id": org.id})
    assert response.status_code == 404
    response = client.patch(f"/api/v1/organisations/{org.id}", headers=bearer(secret),
                            json={"version": 0, "name": "Hijacked"})
    assert response.status_code == 404
    listed = client.get("/api/v1/tenders", headers=bearer(secret)).get_json()["data"]
    assert [t["id"] for t in listed] == [published.id]
    # The buyer's own token sees its draft.
    own = client.get("/api/v1/tenders", headers=bearer(make_token(owner))).get_json()["data"]
    assert {t["id"] for t in own} == {draft.id, published.id}


def test_profile_update_and_visibility(client, buyer, outsider, make_user):
    owner, org = buyer
    secret = make_token(owner)
    assert client.get(f"/api/v1/organisations/{org.id}").status_code == 404  # no profile
    response = client.patch(f"/api/v1/organisations/{org.id}", headers=bearer(secret), json={
        "version": 0, "summary": "We buy roofs.", "capabilities": ["Roofing", "roofing"],
        "website": "https://council.example.org", "lat": 51.45, "lon": -2.59})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["capabilities"] == ["roofing"] and body["version"] == 1
    assert body["published"] is False
    # Unpublished: the manager's token sees it, nobody else.
    assert client.get(f"/api/v1/organisations/{org.id}").status_code == 404
    assert client.get(f"/api/v1/organisations/{org.id}",
                      headers=bearer(secret)).status_code == 200
    stale = client.patch(f"/api/v1/organisations/{org.id}", headers=bearer(secret),
                         json={"version": 0, "summary": "Lost"})
    assert stale.status_code == 409
    bad = client.patch(f"/api/v1/organisations/{org.id}", headers=bearer(secret), json={
        "version": 1, "website": "javascript:alert(1)", "lat": 10, "size": "huge",
        "published_at": "2020-01-01"})
    assert bad.status_code == 422
    assert {"website", "lon", "size", "published_at"} <= set(error_of(bad)["fields"])


def test_plain_member_cannot_write(client, make_user, make_org):
    member = make_user()
    org = make_org(name="Members Only", members={member: "member"})
    tender = make_tender(org, status=TenderStatus.DRAFT)
    secret = make_token(member)
    response = client.patch(f"/api/v1/tenders/{tender.id}", headers=bearer(secret),
                            json={"version": tender.version, "title": "Member edit"})
    assert response.status_code == 403


# -- reads and pagination -----------------------------------------------------------------------

@pytest.mark.parametrize("limit", [1, 2, 7])
def test_cursor_walks_every_item_once(client, make_org, limit):
    orgs = [make_org(name=f"Firm {i}") for i in range(7)]
    for org in orgs:
        give_profile(org, capabilities=["joinery"])
    hidden = make_org(name="Hidden")  # no published profile
    seen, cursor, pages = [], None, 0
    while True:
        url = f"/api/v1/organisations?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(url).get_json()
        seen += [o["id"] for o in body["data"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(o.id for o in orgs) and hidden.id not in seen
    assert pages == -(-7 // limit)


def test_alliance_and_project_reads(client, make_org):
    lead, member = make_org(name="Lead Co"), make_org(name="Member Co")
    give_profile(lead, capabilities=["roofing"], cpv=["45261000"])
    alliance = make_alliance("Roof Alliance", lead, member)
    body = client.get("/api/v1/alliances").get_json()
    assert [a["id"] for a in body["data"]] == [alliance.id]
    one = client.get(f"/api/v1/alliances/{alliance.id}").get_json()
    assert {m["role"] for m in one["members"]} == {"lead", "member"}
    assert one["capabilities"] == ["roofing"] and one["cpv_codes"] == ["45261000"]
    assert client.get("/api/v1/projects").get_json() == {"data": [], "next_cursor": None}
    assert client.get("/api/v1/projects/99").status_code == 404
    assert client.get(f"/api/v1/alliances/{2**40}").status_code == 404


def test_search_and_matches(client, app, make_org, buyer):
    from marketplace.search.service import catch_up, close_searchers

    firm = make_org(name="Bristol Roofers")
    give_profile(firm, capabilities=["roofing"], cpv=["45261000"])
    tender = make_tender(buyer[1], title="Roof repairs for schools")
    from marketplace.search_outbox import record_change

    record_change("organisation", firm.id)
    record_change("tender", tender.id)
    _db.session.commit()
    catch_up()
    close_searchers()
    body = client.get("/api/v1/search?q=roof").get_json()
    assert {(h["kind"], h["id"]) for h in body["data"]} >= {("tender", tender.id)}
    matches = client.get(f"/api/v1/tenders/{tender.id}/matches").get_json()["data"]
    assert matches and matches[0]["kind"] == "organisation" and matches[0]["id"] == firm.id
    assert "45261000" in matches[0]["reasons"]["cpv_codes"]
    assert client.get("/api/v1/search").status_code == 422


def test_error_shape_for_unknown_routes_and_methods(client):
    assert error_of(client.get("/api/v1/nothing-here"))["code"] == "not_found"
    response = client.delete("/api/v1/tenders")
    assert response.status_code == 405 and error_of(response)["code"] == "method_not_allowed"


def test_body_too_large_is_413(client, buyer):
    secret = make_token(buyer[0])
    response = client.post("/api/v1/tenders", headers=bearer(secret),
                           json={"title": "x" * 300_000})
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


class TestRateLimits:
    @pytest.fixture
    def app_config(self):
        return {"RATELIMIT_ENABLED": True, "API_RATE_LIMIT_TOKEN": "3 per minute",
                "API_RATE_LIMIT_ANONYMOUS": "2 per minute"}

    def test_limits_are_per_token_and_per_address(self, client, buyer, outsider):
        a, b = make_token(buyer[0], scope="read"), make_token(outsider[0], scope="read")
        codes = [client.get("/api/v1/tenders", headers=bearer(a)).status_code
                 for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        limited = client.get("/api/v1/tenders", headers=bearer(a))
        assert error_of(limited)["code"] == "rate_limited"
        assert client.get("/api/v1/tenders", headers=bearer(b)).status_code == 200
        anonymous = [client.get("/api/v1/tenders").status_code for _ in range(3)]
        assert anonymous == [200, 200, 429]


def test_openapi_document_and_docs_page(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"] == "3.1.0"
    assert "/api/v1/tenders/{tender_id}/matches" in doc["paths"]
    assert doc["paths"]["/api/v1/tenders"]["post"]["security"] == [{"bearerToken": []}]
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    soup = html(page)
    assert all(tag.get("src") for tag in soup.find_all("script"))  # no inline scripts
    assert not soup.select("[style]") and "cdn" not in text.lower()
    for path in doc["paths"]:
        assert path in text
    assert "TenderCreate" in text


def test_profile_model_untouched_by_reads(client, make_org):
    org = make_org(name="Reader Co")
    give_profile(org)
    before = _db.session.get(Profile, org.profile.id).version
    client.get(f"/api/v1/organisations/{org.id}")
    _db.session.expire_all()
    assert _db.session.get(Profile, org.profile.id).version == before
    assert _db.session.get(Organisation, org.id).name == "Reader Co"
