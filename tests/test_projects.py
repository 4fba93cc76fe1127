"""Collaborative project examples: credits, confirmation, reconfirmation, photos, privacy."""

import io

import pytest
from PIL import Image
from sqlalchemy import select

from marketplace import activity
from marketplace.clock import now
from marketplace.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.extensions import db as _db
from marketplace.models import (
    CreditStatus,
    EmailMessage,
    Notification,
    ProjectCredit,
    ProjectExample,
    ProjectPhoto,
    SearchOutbox,
)
from marketplace.projects import services as projects
from tests.alliance_helpers import XSS, build_world, confirm, post_project
from tests.conftest import flashes, html

PENDING_MARKER = "Pendingmarker Plastering"


@pytest.fixture
def world(app, make_user, make_org):
    return build_world(app, make_user, make_org)


def reload(project) -> ProjectExample:
    _db.session.expire_all()
    return _db.session.get(ProjectExample, project.id)


def png_bytes(size=(40, 30), color=(200, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def test_post_project_with_partners_through_the_form(app, client, db, login_as, world):
    login_as(world.lead_user)
    page = html(client.get("/projects/new"))
    assert page.find("select", id="organisation_id")
    response = client.post("/projects/new", data={
        "organisation_id": str(world.lead_org.id), "title": "Library refit", "year": "2024",
        "place": "Bath", "client": "Bath Council", "value_amount": "120000", "currency": "GBP",
        "owner_role": "Main contractor", "description": "New *shelving*.",
        "partners-0-organisation": "Member Electrics", "partners-0-role": "Electrical",
        "partners-1-organisation": world.outsider_org.slug, "partners-1-role": "Roof"})
    assert response.status_code == 302
    project = db.session.scalar(select(ProjectExample))
    statuses = {c.organisation_id: c.status for c in project.credits}
    assert statuses == {world.lead_org.id: CreditStatus.CONFIRMED,
                        world.member_org.id: CreditStatus.PENDING,
                        world.outsider_org.id: CreditStatus.PENDING}
    assert {m.to_address for m in db.session.scalars(select(EmailMessage))
            if "Library refit" in m.subject} == {world.member_user.email,
                                                  world.outsider_user.email,
                                                  world.admin_user.email}
    assert ("project", project.id) in {(r.kind, r.object_id)
                                       for r in db.session.scalars(select(SearchOutbox))}


def test_post_project_validation(app, client, db, login_as, world):
    login_as(world.lead_user)
    base = {"organisation_id": str(world.lead_org.id), "title": "Job", "year": "2024",
            "place": "Bath", "owner_role": "Builder"}
    cases = [
        {},  # no partner
        {"partners-0-organisation": "Member Electrics"},  # no role
        {"partners-0-organisation": "Nobody Ltd", "partners-0-role": "x"},
        {"partners-0-organisation": "Lead Joinery", "partners-0-role": "self"},
        {"partners-0-organisation": "Member Electrics", "partners-0-role": "a",
         "partners-1-organisation": "member electrics", "partners-1-role": "b"},
        {"partners-0-organisation": "Member Electrics", "partners-0-role": "a",
         "year": "3000"},
        {"partners-0-organisation": "Member Electrics", "partners-0-role": "a",
         "value_amount": "-5"},
        {"partners-0-organisation": "Member Electrics", "partners-0-role": "a",
         "currency": "XXX"},
        {"partners-0-organisation": "Member Electrics", "partners-0-role": "a",
         "organisation_id": str(world.outsider_org.id)},
    ]
    for extra in cases:
        response = client.post("/projects/new", data={**base, **extra})
        assert response.status_code == 200, extra
        assert html(response).select_one(".error-summary"), extra
    assert db.session.scalar(select(ProjectExample)) is None


def test_unconfirmed_project_is_private_until_a_partner_confirms(app, client, db, login_as,
                                                                 world):
    project = post_project(app, world.lead_user, world.lead_org,
                           [(world.member_org, "Electrical")])
    url = f"/projects/{project.id}"
    assert client.get(url).status_code == 404
    login_as(world.outsider_user)
    assert client.get(url).status_code == 404
    login_as(world.member_user)  # the credited partner sees it, with the answer buttons
    page = html(client.get(url))
    assert page.find("button", string="Confirm")
    response = client.post(f"{url}/credits/{project.credit_for(world.member_org.id).id}/confirm",
                           data={"version": str(project.version)})
    assert response.status_code == 302
    login_as(world.outsider_user)
    page = html(client.get(url))
    assert page.h1.get_text(strip=True) == "School refurbishment"
    assert {a.get_text() for a in page.select(".member-row a")} == {"Lead Joinery",
                                                                   "Member Electrics"}
    assert db.session.scalar(select(Notification).where(
        Notification.user_id == world.lead_user.id,
        Notification.kind == "project_credit_confirmed"))


def test_pending_and_rejected_credits_never_appear_publicly(app, client, db, login_as,
                                                            make_user, make_org, world):
    pending_user = make_user()
    pending_org = make_org(pending_user, name=PENDING_MARKER)
    rejecting_user = make_user()
    rejecting_org = make_org(rejecting_user, name="Rejectmarker Glazing")
    project = post_project(app, world.lead_user, world.lead_org,
                           [(world.member_org, "Electrical"), (pending_org, "Plastering"),
                            (rejecting_org, "Glazing")])
    confirm(app, world.member_user, project, world.member_org)
    with app.test_request_context():
        project = reload(project)
        projects.reject_credit(rejecting_user, project.credit_for(rejecting_org.id), now())
        db.session.commit()
    public_urls = ["/projects", f"/projects/{project.id}", f"/alliances/{world.alliance.slug}",
                   "/alliances", f"/orgs/{world.lead_org.slug}/projects",
                   f"/orgs/{world.member_org.slug}/projects", f"/orgs/{pending_org.slug}",
                   f"/orgs/{world.lead_org.slug}"]
    for user in (None, world.outsider_user, world.site_admin, world.member_user):
        if user is not None:
            login_as(user)
        for url in public_urls:
            response = client.get(url)
            assert response.status_code == 200, url
            body = response.get_data(as_text=True)
            if url.startswith("/orgs/") and url.endswith(pending_org.slug):
                continue  # the organisation's own page naturally shows its name
            if user is world.site_admin and url == f"/projects/{project.id}":
                continue  # moderators see pending credits, marked as pending
            assert "Rejectmarker" not in body, (url, user)
            if user is not world.member_user or not url.startswith("/projects/"):
                assert PENDING_MARKER not in body, (url, user)
    with app.test_request_context():
        project = reload(project)
        view = projects.public_project(project)
        names = [p["name"] for p in view.search_dict()["partners"]]
        assert sorted(names) == ["Lead Joinery", "Member Electrics"]
        assert projects.confirmed_projects_for(pending_org) == []
        assert projects.confirmed_projects_for(rejecting_org) == []
        assert [p.id for p in projects.confirmed_projects_for(world.member_org)] == [project.id]
        assert projects.track_record_count(world.lead_org) == 1
        items = activity.for_organisation(pending_org)
        assert all(i.kind != "project_confirmed" for i in items)
    # The rejecting organisation can no longer be credited again.
    with app.test_request_context(), pytest.raises(ValidationFailed):
        projects.add_credit(world.lead_user, reload(project), rejecting_org, "Glazing", now())


def test_editing_after_confirmation_asks_partners_again(app, client, db, login_as, world):
    project = post_project(app, world.lead_user, world.lead_org,
                           [(world.member_org, "Electrical")], description="Old text")
    confirm(app, world.member_user, project, world.member_org)
    old_version = reload(project).version
    login_as(world.lead_user)
    form = html(client.get(f"/projects/{project.id}/edit"))
    assert "confirm again" in form.select_one(".notice").get_text()
    data = {i["name"]: i.get("value", "") for i in form.select("input[name]")}
    data.update(description="New text with a bigger claim", currency="GBP")
    response = client.post(f"/projects/{project.id}/edit", data=data, follow_redirects=True)
    assert any("confirm the changes again" in f for f in flashes(response))
    project = reload(project)
    assert project.credit_for(world.member_org.id).status == CreditStatus.PENDING
    assert not project.is_public
    assert client.get("/projects").get_data(as_text=True).count(project.title) == 0
    assert any("confirm again" in m.subject for m in db.session.scalars(select(EmailMessage)))
    # A confirmation prepared against the old text is refused.
    login_as(world.member_user)
    credit = project.credit_for(world.member_org.id)
    response = client.post(f"/projects/{project.id}/credits/{credit.id}/confirm",
                           data={"version": str(old_version)}, follow_redirects=True)
    assert any("changed since you opened it" in f for f in flashes(response))
    assert reload(project).credit_for(world.member_org.id).status == CreditStatus.PENDING
    page = html(client.get(f"/projects/{project.id}"))
    version = page.select_one("input[name=version]")["value"]
    client.post(f"/projects/{project.id}/credits/{credit.id}/confirm", data={"version": version})
    assert reload(project).is_public
    # A change to the place alone does not need a new confirmation.
    login_as(world.lead_user)
    form = html(client.get(f"/projects/{project.id}/edit"))
    data = {i["name"]: i.get("value", "") for i in form.select("input[name]")}
    data.update(description="New text with a bigger claim", currency="GBP", place="Keynsham")
    client.post(f"/projects/{project.id}/edit", data=data)
    assert reload(project).is_public


def test_lost_update_is_refused(app, db, world):
    project = post_project(app, world.lead_user, world.lead_org,
                           [(world.member_org, "Electrical")])
    with app.test_request_context(), pytest.raises(Conflict):
        projects.update_project(world.lead_user, reload(project),
                                projects.ProjectData(title="X title", year=2020),
                                version=project.version - 1, now=now())


def test_alliance_link_needs_every_partner_in_the_alliance(app, client, db, login_as, world):
    project = post_project(app, world.lead_user, world.lead_org,
                           [(world.member_org, "Electrical"), (world.outsider_org, "Roof")])
    with app.test_request_context():
        assert projects.linkable_alliances(reload(project)) == []
        with pytest.raises(ValidationFailed, match="Outsider Roofing"):
            projects.link_alliance(world.lead_user, reload(project), world.alliance)
    db.session.rollback()
    login_as(world.lead_user)
    response = client.post(f"/projects/{project.id}/alliance",
                           data={"alliance_id": str(world.alliance.id)}, follow_redirects=True)
    assert reload(project).alliance_id is None
    credit = reload(project).credit_for(world.outsider_org.id)
    client.post(f"/projects/{project.id}/credits/{credit.id}/remove")
    response = client.post(f"/projects/{project.id}/alliance",
                           data={"alliance_id": str(world.alliance.id)}, follow_redirects=True)
    assert any("portfolio" in f for f in flashes(response))
    assert reload(project).alliance_id == world.alliance.id
    # While linked, only alliance members can be credited.
    response = client.post(f"/projects/{project.id}/credits",
                           data={"organisation": "Outsider Roofing", "role": "Roof"},
                           follow_redirects=True)
    assert any("must be a member" in f for f in flashes(response))
    confirm(app, world.member_user, project, world.member_org)
    page = html(client.get(f"/alliances/{world.alliance.slug}"))
    assert [a.get_text() for a in page.select(".project-card h3 a")] == ["School refurbishment"]
    assert "confirmed working with" in page.select_one(".activity").get_text()


def test_photos_are_validated_limited_and_served_safely(app, client, db, login_as, world):
    project = post_project(app, world.lead_user, world.lead_org,
                           [(world.member_org, "Electrical")])
    url = f"/projects/{project.id}/photos"
    login_as(world.member_user)  # a partner cannot add photos
    assert client.post(url, data={"photo": (io.BytesIO(png_bytes()), "a.png")},
                       content_type="multipart/form-data").status_code == 403
    login_as(world.lead_user)
    response = client.post(url, data={"photo": (io.BytesIO(b"<svg onload=alert(1)>"),
                                                "x.png")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert any("not a PNG" in f for f in flashes(response))
    for i in range(6):
        response = client.post(url, data={"photo": (io.BytesIO(png_bytes()), f"{i}.png"),
                                          "caption": f"Photo {i}"},
                               content_type="multipart/form-data")
        assert response.status_code == 302
    response = client.post(url, data={"photo": (io.BytesIO(png_bytes()), "7.png")},
                           content_type="multipart/form-data", follow_redirects=True)
    assert any("at most 6" in f for f in flashes(response))
    photos = db.session.scalars(select(ProjectPhoto)).all()
    assert len(photos) == 6
    served = client.get(f"/projects/{project.id}/photos/{photos[0].id}")
    assert served.status_code == 200
    assert served.headers["Content-Type"] == "image/jpeg"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Disposition"].startswith("attachment")
    assert Image.open(io.BytesIO(served.data)).size == projects.PHOTO_SIZE
    login_as(world.outsider_user)  # not public yet: the photo is private too
    assert client.get(f"/projects/{project.id}/photos/{photos[0].id}").status_code == 404
    login_as(world.lead_user)
    client.post(f"/projects/{project.id}/photos/{photos[0].id}/delete")
    assert len(db.session.scalars(select(ProjectPhoto)).all()) == 5


def test_service_permissions(app, db, world):
    project = post_project(app, world.lead_user, world.lead_org,
                           [(world.member_org, "Electrical")])
    credit = project.credit_for(world.member_org.id)
    owner_credit = project.credit_for(world.lead_org.id)
    with app.test_request_context():
        with pytest.raises(PermissionDenied):
            projects.confirm_credit(world.lead_user, credit, now())  # not the partner
        with pytest.raises(PermissionDenied):
            projects.confirm_credit(world.member_user, owner_credit, now())
        with pytest.raises(PermissionDenied):
            projects.update_project(world.member_user, project,
                                    projects.ProjectData(title="Hijack", year=2020),
                                    version=project.version, now=now())
        with pytest.raises(PermissionDenied):
            projects.create_project(world.plain_user, world.lead_org,
                                    projects.ProjectData(title="Nope", year=2020),
                                    [(world.member_org, "x")], now())


# -- authorization matrix: moved to tests/authz/matrix.toml (all routes x all actors) ------


# -- output escaping -----------------------------------------------------------------------

def test_xss_marker_is_escaped_everywhere(app, client, db, login_as, make_user, make_org,
                                          world):
    evil_user = make_user()
    evil_partner = make_org(evil_user, name=f"Partner {XSS}")
    project = post_project(
        app, world.lead_user, world.lead_org, [(world.member_org, XSS), (evil_partner, XSS)],
        title=f"Title {XSS}", description=f"{XSS} [x](javascript:alert(1))", client=XSS,
        place=XSS, owner_role=XSS)
    confirm(app, world.member_user, project, world.member_org)
    confirm(app, evil_user, project, evil_partner)
    login_as(world.lead_user)
    client.post(f"/projects/{project.id}/photos",
                data={"photo": (io.BytesIO(png_bytes()), f"{XSS}.png"), "caption": XSS},
                content_type="multipart/form-data")
    urls = [f"/projects/{project.id}", "/projects", f"/projects/{project.id}/edit",
            f"/orgs/{world.lead_org.slug}/projects", "/dashboard"]
    bodies = [client.get(u).get_data(as_text=True) for u in urls]
    login_as(world.member_user)
    bodies.append(client.get("/dashboard").get_data(as_text=True))
    bodies.append(client.get(f"/projects/{project.id}").get_data(as_text=True))
    for body in bodies:
        assert "<script>alert" not in body
        assert 'href="javascript' not in body
    assert "&lt;script&gt;" in bodies[0]


def test_credit_rows_stay_consistent(app, db, world):
    project = post_project(app, world.lead_user, world.lead_org,
                           [(world.member_org, "Electrical")])
    with app.test_request_context():
        projects.confirm_credit(world.member_user, project.credit_for(world.member_org.id),
                                now())
        db.session.commit()
        with pytest.raises(Exception, match="already confirmed"):
            projects.confirm_credit(world.member_user,
                                    reload(project).credit_for(world.member_org.id), now())
    assert len(db.session.scalars(select(ProjectCredit)).all()) == 2


def test_profile_partial_shows_confirmed_projects_alliances_and_activity(app, db, world):
    from bs4 import BeautifulSoup
    from flask import render_template_string

    project = post_project(app, world.lead_user, world.lead_org,
                           [(world.member_org, "Electrical"), (world.outsider_org, "Roof")])
    confirm(app, world.member_user, project, world.member_org)
    include = '{% include "alliances/_profile_collaboration.html" %}'
    with app.test_request_context():
        page = BeautifulSoup(render_template_string(include, org=world.member_org),
                             "html.parser")
        assert [a.get_text() for a in page.select(".project-card h3 a")] == [
            "School refurbishment"]
        assert "Outsider Roofing" not in page.get_text()  # its credit is still pending
        assert page.select_one("[aria-labelledby=prof-alliances-h] a").get_text() == (
            "Severn Builders Alliance")
        assert "confirmed working with" in page.select_one(".activity").get_text()
        outsider = BeautifulSoup(render_template_string(include, org=world.outsider_org),
                                 "html.parser")
        assert outsider.select(".project-card") == []
