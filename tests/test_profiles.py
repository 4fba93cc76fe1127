"""Capability profiles: who may edit, drafts, publishing, locking, certifications, location,
completeness, the search outbox, and escaping of every text field."""

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select, update

from marketplace.errors import Conflict
from marketplace.models import Certification, Profile, SearchOutbox
from marketplace.profiles import services
from tests.conftest import flashes, form_errors, html

XSS = '<script>alert("x")</script>"><img src=x onerror=alert(1)>'


def full_form(**overrides) -> dict:
    data = {
        "name": "Selwood Roofing", "summary": "Slate, tile and lead roofing around Frome.",
        "description": "We **repair** roofs.\n\n- slate\n- lead",
        "capabilities": "Slate Roofing, lead work, flat roofing, lead work",
        "size": "small", "employees": "12", "year_founded": "1998",
        "website": "https://selwood.example", "contact_name": "Rhys Morgan",
        "contact_email": "hello@selwood.example", "phone": "01373 960 123",
        "town": "Frome", "postcode": "ba11 1aa", "region": "", "lat": "", "lon": "",
        "service_radius_km": "40", "version": "0",
    }
    data.update(overrides)
    return data


@pytest.fixture
def people(make_user, make_org):
    """An organisation with one person per role, plus an outsider and a site admin."""
    owner, admin, member = make_user(), make_user(), make_user()
    org = make_org(owner, name="Selwood Roofing", slug="selwood",
                   members={admin: "admin", member: "member"})
    return {"owner": owner, "admin": admin, "member": member, "outsider": make_user(),
            "site_admin": make_user(site_admin=True), "org": org}


def save(client, slug="selwood", **overrides):
    return client.post(f"/orgs/{slug}/profile/edit", data=full_form(**overrides))


def profile_of(db, org) -> Profile | None:
    db.session.expire_all()
    return db.session.scalar(select(Profile).where(Profile.organisation_id == org.id))


def listed_names(response) -> list[str]:
    return [a.get_text(strip=True) for a in html(response).select(".business-card h3 a")]


def outbox_count(db, org) -> int:
    return db.session.scalar(select(func.count()).select_from(SearchOutbox).where(
        SearchOutbox.kind == "organisation", SearchOutbox.object_id == org.id))


@pytest.fixture
def published(people, client, login_as, db):
    """The organisation with a saved, published profile, a CPV code and a certification."""
    login_as(people["owner"])
    assert save(client).status_code == 302
    assert client.post("/orgs/selwood/profile/cpv/add",
                       data={"code": "45261000"}).status_code == 302
    assert client.post("/orgs/selwood/profile/certifications", data={
        "name": "CHAS", "issuer": "CHAS", "number": "C-1",
        "valid_until": "2099-01-01"}).status_code == 302
    assert client.post("/orgs/selwood/profile/publish").status_code == 302
    with client.session_transaction() as session:
        session.clear()
    return people


# -- permissions: every route, every actor -------------------------------------------------

def _cert_id(db, org):
    return db.session.scalar(select(Certification.id).join(Profile)
                             .where(Profile.organisation_id == org.id))


ROUTES = [
    ("GET", "/orgs/selwood/profile/edit", None),
    ("POST", "/orgs/selwood/profile/edit", "form"),
    ("POST", "/orgs/selwood/profile/publish", None),
    ("POST", "/orgs/selwood/profile/unpublish", None),
    ("GET", "/orgs/selwood/profile/cpv", None),
    ("POST", "/orgs/selwood/profile/cpv/add", {"code": "45261210"}),
    ("POST", "/orgs/selwood/profile/cpv/remove", {"code": "45261000"}),
    ("GET", "/orgs/selwood/profile/certifications", None),
    ("POST", "/orgs/selwood/profile/certifications", {"name": "ISO 9001"}),
    ("GET", "/orgs/selwood/profile/certifications/{cert}/edit", None),
    ("POST", "/orgs/selwood/profile/certifications/{cert}/edit", {"name": "CHAS Elite"}),
    ("POST", "/orgs/selwood/profile/certifications/{cert}/remove", None),
    ("GET", "/orgs/selwood/profile/logo", None),
    ("POST", "/orgs/selwood/profile/logo/remove", None),
]
EXPECTED = {"anonymous": {302}, "outsider": {404}, "member": {403}, "site_admin": {403},
            "admin": {200, 302}, "owner": {200, 302}}


@pytest.mark.parametrize("actor", list(EXPECTED))
@pytest.mark.parametrize("method,path,data", ROUTES)
def test_route_permissions(published, client, login_as, db, actor, method, path, data):
    org = published["org"]
    path = path.format(cert=_cert_id(db, org))
    if actor != "anonymous":
        login_as(published[actor])
    before = profile_of(db, org).version
    if data == "form":
        data = full_form(version=str(before))
    response = client.open(path, method=method, data=data or {})
    assert response.status_code in EXPECTED[actor], (actor, method, path)
    if actor == "anonymous":
        assert "/login" in response.headers["Location"]
    if actor in ("anonymous", "outsider", "member", "site_admin"):
        assert profile_of(db, org).version == before  # nothing changed


def test_logo_upload_post_is_refused_for_non_editors(published, client, login_as, db):
    for actor, status in (("member", 403), ("outsider", 404)):
        login_as(published[actor])
        response = client.post("/orgs/selwood/profile/logo", data={},
                               content_type="multipart/form-data")
        assert response.status_code == status


def test_certification_of_another_organisation_is_404(published, client, login_as, make_org,
                                                       db):
    cert_id = _cert_id(db, published["org"])
    other_owner = published["outsider"]
    make_org(other_owner, slug="other-co")
    login_as(other_owner)
    assert client.get(f"/orgs/other-co/profile/certifications/{cert_id}/edit").status_code == 404
    assert client.post(f"/orgs/other-co/profile/certifications/{cert_id}/remove"
                       ).status_code == 404
    assert _cert_id(db, published["org"]) == cert_id


def test_cpv_search_json_needs_login(client, people, login_as):
    assert client.get("/cpv/search?q=roof").status_code == 302
    login_as(people["member"])
    data = client.get("/cpv/search?q=roof").get_json()
    assert any(r["code"] == "45261000" for r in data["results"])


def test_hidden_organisation_page_and_editor_are_404_for_outsiders(published, client, login_as,
                                                                    db, utc_now):
    org = published["org"]
    org.hidden_at = utc_now
    db.session.commit()
    assert client.get("/orgs/selwood").status_code == 404
    login_as(published["outsider"])
    assert client.get("/orgs/selwood/profile/edit").status_code == 404
    login_as(published["owner"])
    assert client.get("/orgs/selwood").status_code == 200


# -- drafts and publishing ---------------------------------------------------------------------

def test_draft_visible_only_to_the_organisation_and_site_admins(people, client, login_as, db):
    login_as(people["owner"])
    assert save(client, description="DRAFT-MARKER text").status_code == 302
    for actor in ("owner", "admin", "member", "site_admin"):
        login_as(people[actor])
        page = client.get("/orgs/selwood")
        assert page.status_code == 200
        assert "DRAFT-MARKER" in page.get_data(as_text=True), actor
    for actor in ("outsider", None):
        if actor:
            login_as(people[actor])
        else:
            with client.session_transaction() as session:
                session.clear()
        page = client.get("/orgs/selwood")
        assert page.status_code == 200  # the organisation exists publicly...
        assert "DRAFT-MARKER" not in page.get_data(as_text=True)  # ...its draft does not
        assert "not published" in html(page).get_text()
    assert listed_names(client.get("/businesses")) == []


def test_publish_requires_the_essentials(people, client, login_as, db):
    login_as(people["owner"])
    save(client, description="", town="", summary="")
    response = client.post("/orgs/selwood/profile/publish", follow_redirects=True)
    message = " ".join(flashes(response))
    assert "a short summary" in message and "a description" in message
    assert "a location" in message
    assert profile_of(db, people["org"]).published_at is None


def test_publish_and_unpublish(people, client, login_as, db):
    login_as(people["owner"])
    save(client)
    assert client.post("/orgs/selwood/profile/publish").status_code == 302
    assert profile_of(db, people["org"]).published_at is not None
    with client.session_transaction() as session:
        session.clear()
    assert "Slate, tile and lead" in client.get("/orgs/selwood").get_data(as_text=True)
    assert listed_names(client.get("/businesses")) == ["Selwood Roofing"]
    login_as(people["owner"])
    assert client.post("/orgs/selwood/profile/unpublish").status_code == 302
    assert profile_of(db, people["org"]).published_at is None
    assert listed_names(client.get("/businesses")) == []
    # Unpublishing a draft is refused with a message, not an error page.
    response = client.post("/orgs/selwood/profile/unpublish", follow_redirects=True)
    assert "not published" in " ".join(flashes(response))


def test_public_page_shows_profile_and_contact_only_to_logged_in(published, client, login_as):
    page = client.get("/orgs/selwood")
    soup = html(page)
    text = soup.get_text(" ")
    assert "slate roofing" in text and "Roof works" in text  # capability and CPV label
    assert "CHAS" in text and "Works up to" in text
    assert soup.select_one(".markdown strong").get_text() == "repair"
    assert "hello@selwood.example" not in page.get_data(as_text=True)
    assert soup.find("a", string="Log in to contact")
    login_as(published["outsider"])
    soup = html(client.get("/orgs/selwood"))
    contact = soup.find("a", string="Contact Selwood Roofing")
    assert contact["href"].startswith("mailto:hello@selwood.example")


# -- editing -----------------------------------------------------------------------------------

def test_edit_saves_every_field(people, client, login_as, db):
    login_as(people["admin"])
    response = save(client)
    assert response.status_code == 302
    p = profile_of(db, people["org"])
    assert (p.size.value, p.employees, p.year_founded) == ("small", 12, 1998)
    assert (p.website, p.contact_name, p.contact_email, p.phone) == (
        "https://selwood.example", "Rhys Morgan", "hello@selwood.example", "01373 960 123")
    assert [c.tag for c in p.capabilities] == ["flat roofing", "lead work", "slate roofing"]
    assert (p.town, p.postcode, p.region, p.service_radius_km) == (
        "Frome", "BA11 1AA", "South West", 40)
    assert p.lat == pytest.approx(51.2286, abs=0.05) and p.lon == pytest.approx(-2.32, abs=0.05)
    assert p.organisation.summary.startswith("Slate, tile")
    assert p.version == 1


def test_editing_keeps_unchanged_capabilities(people, client, login_as, db):
    login_as(people["owner"])
    save(client)
    response = save(client, capabilities="lead work, heritage roofing", version="1")
    assert response.status_code == 302
    tags = [c.tag for c in profile_of(db, people["org"]).capabilities]
    assert tags == ["heritage roofing", "lead work"]


@pytest.mark.parametrize("field,value,message", [
    ("website", "javascript:alert(1)", "https://"),
    ("website", "ftp://files.example", "https://"),
    ("website", "https://", "https://"),
    ("lat", "91", "between -90 and 90"),
    ("lon", "-181", "between -180 and 180"),
    ("lat", "abc", "Not a valid decimal"),
    ("service_radius_km", "5000", "between 0 and 1000"),
    ("employees", "-1", "between 0 and"),
    ("year_founded", "3000", "Enter a year"),
    ("size", "gigantic", "Not a valid choice"),
    ("name", "x", "between 2 and 120"),
    ("name", "Bad\x00name", "control characters"),
    ("capabilities", "ok, " + "x" * 70, "longer than"),
    ("capabilities", ",".join(f"tag{i}" for i in range(40)), "Up to 30"),
    ("capabilities", "<b>bold</b>", "characters we do not accept"),
    ("phone", "call me", "Digits"),
    ("contact_email", "not-an-email", "valid e-mail"),
    ("postcode", "!!!", "postcode"),
])
def test_invalid_input_is_refused_and_nothing_changes(people, client, login_as, db, field, value,
                                                      message):
    login_as(people["owner"])
    response = save(client, **{field: value})
    assert response.status_code == 400
    assert any(message in e for e in form_errors(response)), form_errors(response)
    assert profile_of(db, people["org"]) is None


def test_coordinates_must_come_in_pairs(people, client, login_as, db):
    login_as(people["owner"])
    response = save(client, town="", lat="51.5", lon="")
    assert response.status_code == 400
    assert any("both latitude and longitude" in e for e in form_errors(response))


def test_typed_coordinates_win_over_the_town(people, client, login_as, db):
    login_as(people["owner"])
    save(client, town="Bath", lat="51.4", lon="-2.4")
    p = profile_of(db, people["org"])
    assert (p.town, p.lat, p.lon) == ("Bath", 51.4, -2.4)


def test_changing_town_moves_stale_coordinates(people, client, login_as, db):
    login_as(people["owner"])
    save(client, town="Bath")
    p = profile_of(db, people["org"])
    response = save(client, town="bristol", lat=str(p.lat), lon=str(p.lon), version="1")
    assert response.status_code == 302
    p = profile_of(db, people["org"])
    assert p.town == "Bristol" and p.lat == pytest.approx(51.4545)


def test_unknown_town_keeps_text_without_coordinates(people, client, login_as, db):
    login_as(people["owner"])
    save(client, town="Atlantis")
    p = profile_of(db, people["org"])
    assert (p.town, p.lat, p.lon) == ("Atlantis", None, None)


def test_no_mass_assignment(people, client, login_as, db):
    login_as(people["owner"])
    response = client.post("/orgs/selwood/profile/edit", data={
        **full_form(), "published_at": "2020-01-01", "organisation_id": "999",
        "logo_filename": "../../etc/passwd", "slug": "hijack"})
    assert response.status_code == 302
    p = profile_of(db, people["org"])
    assert p.published_at is None and p.logo_filename is None
    assert p.organisation.slug == "selwood"


# -- optimistic locking --------------------------------------------------------------------

def test_second_save_from_the_same_version_gets_409_with_edits_kept(people, client, login_as,
                                                                    db, app):
    login_as(people["owner"])
    save(client)  # version 1
    other = app.test_client()
    with other.session_transaction() as session:
        session["_user_id"] = people["admin"].get_id()
        session["_fresh"] = True
    # Both open the form at version 1; the admin saves first.
    assert save(other, summary="Admin's summary", version="1").status_code == 302
    response = save(client, summary="Owner's summary", description="Owner's words",
                    version="1")
    assert response.status_code == 409
    soup = html(response)
    assert "Someone else saved this profile first" in soup.get_text()
    assert soup.find("textarea", id="summary").get_text(strip=True) == "Owner's summary"
    assert soup.find("textarea", id="description").get_text(strip=True) == "Owner's words"
    assert "Short summary" in soup.select_one(".conflict").get_text()
    assert soup.find("input", id="version")["value"] == "2"
    assert profile_of(db, people["org"]).organisation.summary == "Admin's summary"
    # Saving again from the conflict page, now knowingly, works.
    response = save(client, summary="Owner's summary", version="2")
    assert response.status_code == 302
    assert profile_of(db, people["org"]).organisation.summary == "Owner's summary"


def test_first_save_racing_another_first_save_is_409(people, client, login_as, db):
    login_as(people["owner"])
    assert save(client, version="0").status_code == 302
    assert save(client, version="0").status_code == 409


def test_concurrent_update_is_caught_by_the_version_column(people, client, login_as, db,
                                                            utc_now):
    """The conditional UPDATE refuses a write even when the in-memory check passed."""
    login_as(people["owner"])
    save(client)
    org = people["org"]
    db.session.expire_all()
    data = services.current_data(org)
    version = org.profile.version
    # Another transaction bumps the row behind the ORM's back.
    db.session.execute(update(Profile).where(Profile.id == org.profile.id)
                       .values(version=Profile.version + 1)
                       .execution_options(synchronize_session=False))
    with pytest.raises(Conflict):
        services.update_profile(people["owner"], org, data, expected_version=version,
                                now=utc_now)
    db.session.rollback()


def test_small_changes_bump_the_version(people, client, login_as, db):
    login_as(people["owner"])
    save(client)
    client.post("/orgs/selwood/profile/cpv/add", data={"code": "45261000"})
    assert profile_of(db, people["org"]).version == 2
    # The main form based on version 1 is now stale: no lost CPV code either way.
    assert save(client, version="1").status_code == 409


# -- certifications ----------------------------------------------------------------------------

def test_certifications_add_edit_remove_and_expiry(people, client, login_as, db):
    login_as(people["owner"])
    today = date.today()
    for name, until in (("ISO 9001", today + timedelta(days=30)),
                        ("Old Cert", today - timedelta(days=1)),
                        ("Lifetime", None)):
        response = client.post("/orgs/selwood/profile/certifications", data={
            "name": name, "issuer": "BSI", "valid_until": until.isoformat() if until else ""})
        assert response.status_code == 302
    p = profile_of(db, people["org"])
    assert sorted(c.name for c in services.valid_certifications(p, today)) == [
        "ISO 9001", "Lifetime"]
    assert [c.name for c in services.valid_certifications(p, today + timedelta(days=31))] == [
        "Lifetime"]
    assert services.valid_certifications(None, today) == []

    page = html(client.get("/orgs/selwood"))
    expired = page.select(".cert.is-expired")
    assert [e.find("strong").get_text() for e in expired] == ["Old Cert"]
    assert "Expired" in expired[0].get_text()

    old = next(c for c in p.certifications if c.name == "Old Cert")
    response = client.post(f"/orgs/selwood/profile/certifications/{old.id}/edit", data={
        "name": "Renewed Cert", "issuer": "BSI", "number": "N-2",
        "valid_until": (today + timedelta(days=365)).isoformat()})
    assert response.status_code == 302
    p = profile_of(db, people["org"])
    assert len(services.valid_certifications(p, today)) == 3
    assert client.post(f"/orgs/selwood/profile/certifications/{old.id}/remove"
                       ).status_code == 302
    assert len(profile_of(db, people["org"]).certifications) == 2


def test_certification_validation(people, client, login_as, db):
    login_as(people["owner"])
    response = client.post("/orgs/selwood/profile/certifications",
                           data={"name": "", "valid_until": "31/02/2020"})
    assert response.status_code == 400
    assert len(form_errors(response)) == 2


# -- completeness ------------------------------------------------------------------------------

def test_completeness_lists_what_is_missing(people, client, login_as, db):
    login_as(people["owner"])
    page = html(client.get("/orgs/selwood/profile/edit"))
    missing = [a.get_text() for a in page.select(".missing-list a")]
    assert "Logo" in missing and "At least one CPV code" in missing
    assert "0%" in page.select_one("#completeness-h").get_text()

    save(client, description="x" * 250)
    c = services.completeness(profile_of(db, people["org"]).organisation)
    assert {i.key for i in c.missing} == {"cpv", "certifications", "logo"}
    assert c.percent == 75
    page = html(client.get("/orgs/selwood/profile/edit"))
    assert "75%" in page.select_one("#completeness-h").get_text()
    links = {a.get_text(): a["href"] for a in page.select(".missing-list a")}
    assert links["At least one CPV code"] == "/orgs/selwood/profile/cpv"


# -- the search outbox -------------------------------------------------------------------------

def test_every_change_records_a_search_outbox_row(people, client, login_as, db):
    org = people["org"]
    login_as(people["owner"])
    steps = [
        lambda: save(client),
        lambda: client.post("/orgs/selwood/profile/cpv/add", data={"code": "45261000"}),
        lambda: client.post("/orgs/selwood/profile/cpv/remove", data={"code": "45261000"}),
        lambda: client.post("/orgs/selwood/profile/certifications", data={"name": "CHAS"}),
        lambda: client.post("/orgs/selwood/profile/publish"),
        lambda: client.post("/orgs/selwood/profile/unpublish"),
    ]
    for n, step in enumerate(steps, start=1):
        assert step().status_code == 302
        assert outbox_count(db, org) == n
    # A refused change writes nothing.
    save(client, version="0")
    assert outbox_count(db, org) == len(steps)


# -- escaping: an XSS marker in every text field ----------------------------------------------

def test_xss_marker_in_every_text_field_is_escaped_everywhere(people, client, login_as, db):
    login_as(people["owner"])
    form = full_form(name=XSS[:120], summary=XSS, description=XSS + "\n\n[x](javascript:alert(1))",
                     contact_name=XSS[:120], town=XSS, region=XSS)
    assert client.post("/orgs/selwood/profile/edit", data=form).status_code == 302
    # Tags cannot hold markup at all; a certification can.
    client.post("/orgs/selwood/profile/certifications",
                data={"name": XSS, "issuer": XSS, "number": XSS[:80]})
    client.post("/orgs/selwood/profile/cpv/add", data={"code": "45261000"})
    client.post("/orgs/selwood/profile/publish")
    pages = ["/orgs/selwood", "/orgs/selwood/profile/edit", "/orgs/selwood/profile/cpv",
             "/orgs/selwood/profile/certifications", "/orgs/selwood/profile/logo",
             "/businesses", "/businesses?q=script", "/dashboard"]
    cert_id = _cert_id(db, people["org"])
    pages.append(f"/orgs/selwood/profile/certifications/{cert_id}/edit")
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert '<script>alert("x")</script>' not in body, url
        assert "<img src=x onerror" not in body, url
        soup = html(response)
        assert not soup.select("img[onerror]"), url
        assert not [s for s in soup.find_all("script") if not s.get("src")], url
        assert not soup.select('a[href^="javascript"]'), url
    with client.session_transaction() as session:
        session.clear()
    body = client.get("/orgs/selwood").get_data(as_text=True)
    assert "&lt;script&gt;" in body and '<script>alert("x")</script>' not in body
