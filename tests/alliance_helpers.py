"""Shared set-up for the alliance and project tests: one alliance and every kind of actor."""

from dataclasses import dataclass

from marketplace.alliances import services as alliances
from marketplace.clock import now
from marketplace.extensions import db
from marketplace.models import Alliance, Organisation, User
from marketplace.projects import services as projects

XSS = '<script>alert("x")</script>'


@dataclass
class World:
    lead_user: User  # owner of the lead organisation
    member_user: User  # owner of a member organisation
    plain_user: User  # a "member" (no manager role) of the lead organisation
    admin_user: User  # an admin (not owner) of an outsider organisation
    outsider_user: User  # owner of an organisation outside the alliance
    site_admin: User
    lead_org: Organisation
    member_org: Organisation
    outsider_org: Organisation
    alliance: Alliance


def build_world(app, make_user, make_org, *, name: str = "Severn Builders Alliance") -> World:
    lead_user, member_user, plain_user = make_user(), make_user(), make_user()
    outsider_user, admin_user = make_user(), make_user()
    site_admin = make_user(site_admin=True)
    lead_org = make_org(lead_user, name="Lead Joinery", members={plain_user: "member"})
    member_org = make_org(member_user, name="Member Electrics")
    outsider_org = make_org(outsider_user, name="Outsider Roofing",
                            members={admin_user: "admin"})
    with app.test_request_context():
        alliance = alliances.create_alliance(lead_user, lead_org, name=name,
                                             summary="Builders together")
        invitation = alliances.invite_organisation(lead_user, alliance, member_org, now())
        alliances.accept_invitation(member_user, invitation, now())
        db.session.commit()
    return World(lead_user, member_user, plain_user, admin_user, outsider_user, site_admin,
                 lead_org, member_org, outsider_org, alliance)


def post_project(app, user, org, partners, *, title="School refurbishment", **data):
    with app.test_request_context():
        project = projects.create_project(
            user, org, projects.ProjectData(title=title, year=data.pop("year", 2024),
                                            place=data.pop("place", "Bristol"), **data),
            partners, now())
        db.session.commit()
        return project


def confirm(app, user, project, org):
    with app.test_request_context():
        project = db.session.get(type(project), project.id)
        projects.confirm_credit(user, project.credit_for(org.id), now())
        db.session.commit()
