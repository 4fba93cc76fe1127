"""Who may do what to a bid: a route x actor matrix kept as data (SECURITY 10), plus the
approval rules (owners/admins of member organisations, the exact version, fresh login)."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from marketplace.bids import services
from marketplace.errors import PermissionDenied
from marketplace.models import BidApproval, Membership, OrgRole
from tests.bidding import acting, build_team, make_alliance

ACTORS = ("anonymous", "outsider", "member_without_role", "org_admin", "alliance_lead",
          "alliance_member", "buyer", "site_admin")

# (method, path template, form data) -> expected status per actor, before the deadline, for
# a joint alliance bid awaiting approval. 404 wherever the bid's existence is sealed.
LOGIN = 302
MATRIX = {
    ("GET", "/bids/{bid}", None):
        dict(anonymous=LOGIN, outsider=404, member_without_role=200, org_admin=200,
             alliance_lead=200, alliance_member=200, buyer=404, site_admin=404),
    ("GET", "/bids/{bid}/history", None):
        dict(anonymous=LOGIN, outsider=404, member_without_role=200, org_admin=200,
             alliance_lead=200, alliance_member=200, buyer=404, site_admin=404),
    ("GET", "/bids/{bid}/edit", None):
        dict(anonymous=LOGIN, outsider=404, member_without_role=403, org_admin=403,
             alliance_lead=200, alliance_member=403, buyer=404, site_admin=404),
    ("GET", "/bids/{bid}/approve", None):
        dict(anonymous=LOGIN, outsider=404, member_without_role=403, org_admin=200,
             alliance_lead=200, alliance_member=200, buyer=404, site_admin=404),
    ("POST", "/bids/{bid}/approve", "approve"):
        dict(anonymous=LOGIN, outsider=404, member_without_role=403, org_admin=302,
             alliance_lead=302, alliance_member=302, buyer=404, site_admin=404),
    ("GET", "/bids/{bid}/receipt", None):
        dict(anonymous=LOGIN, outsider=404, member_without_role=404, org_admin=404,
             alliance_lead=404, alliance_member=404, buyer=404, site_admin=404),
    ("POST", "/bids/{bid}/withdraw", "empty"):
        dict(anonymous=LOGIN, outsider=404, member_without_role=403, org_admin=403,
             alliance_lead=302, alliance_member=403, buyer=404, site_admin=404),
    ("POST", "/bids/{bid}/edit", "edit"):
        dict(anonymous=LOGIN, outsider=404, member_without_role=403, org_admin=403,
             alliance_lead=302, alliance_member=403, buyer=404, site_admin=404),
    ("POST", "/bids/{bid}/members", "member"):
        dict(anonymous=LOGIN, outsider=404, member_without_role=403, org_admin=403,
             alliance_lead=302, alliance_member=403, buyer=404, site_admin=404),
    ("GET", "/bids/{bid}/documents/{doc}", None):
        dict(anonymous=LOGIN, outsider=404, member_without_role=404, org_admin=404,
             alliance_lead=404, alliance_member=404, buyer=404, site_admin=404),
    ("GET", "/tenders/{tender}/bids", None):
        dict(anonymous=LOGIN, outsider=404, member_without_role=404, org_admin=404,
             alliance_lead=404, alliance_member=404, buyer=200, site_admin=404),
    ("GET", "/tenders/{tender}/bids/new", None):
        dict(anonymous=LOGIN, outsider=200, member_without_role=403, org_admin=200,
             alliance_lead=200, alliance_member=200, buyer=403, site_admin=403),
    ("GET", "/tenders/{tender}/bids/{bid}/award", None):
        dict(anonymous=LOGIN, outsider=404, member_without_role=404, org_admin=404,
             alliance_lead=404, alliance_member=404, buyer=404, site_admin=404),
    ("POST", "/tenders/{tender}/bids/{bid}/award", "empty"):
        dict(anonymous=LOGIN, outsider=404, member_without_role=404, org_admin=404,
             alliance_lead=404, alliance_member=404, buyer=404, site_admin=404),
    ("POST", "/tenders/{tender}/bids/{bid}/shortlist", "empty"):
        dict(anonymous=LOGIN, outsider=404, member_without_role=404, org_admin=404,
             alliance_lead=404, alliance_member=404, buyer=302, site_admin=404),
    ("GET", "/bids", None):
        dict(anonymous=LOGIN, outsider=200, member_without_role=200, org_admin=200,
             alliance_lead=200, alliance_member=200, buyer=200, site_admin=200),
}
CASES = [(key, actor) for key in MATRIX for actor in ACTORS]


@pytest.fixture
def world(app, db, make_user, make_org):
    team = build_team(app, make_user, make_org, partners=1)
    partner = team.partners[0]
    plain, admin_user = make_user(name="Mo Member"), make_user(name="Ann Admin")
    db.session.add_all([Membership(organisation_id=partner.id, user_id=plain.id,
                                   role=OrgRole.MEMBER),
                        Membership(organisation_id=partner.id, user_id=admin_user.id,
                                   role=OrgRole.ADMIN)])
    db.session.commit()
    alliance = make_alliance("Roof Alliance", team.lead, partner)
    outsider = make_user()
    make_org(outsider, name="Outsider Co")
    with acting(app, team.lead_owner):
        now = datetime.now(UTC)
        bid = services.create_bid(team.lead_owner, team.tender,
                                  f"alliance:{alliance.id}:{team.lead.id}", now)
        services.add_alliance_members(team.lead_owner, bid.id, bid.version, now)
        lines = [services.MemberLine(m.organisation_id, m.role, 50) for m in bid.members]
        services.update_bid(team.lead_owner, bid.id, bid.version, price=1000, currency="GBP",
                            proposal="Plan.", members=lines, now=now)
        services.request_approval(team.lead_owner, bid.id, bid.version, now)
        db.session.commit()
    users = dict(anonymous=None, outsider=outsider, member_without_role=plain,
                 org_admin=admin_user, alliance_lead=team.lead_owner,
                 alliance_member=team.partner_owners[0], buyer=team.buyer_owner,
                 site_admin=make_user(site_admin=True))
    return dict(team=team, bid=bid, users=users, partner=partner)


def _form(kind, world, actor):
    bid, team = world["bid"], world["team"]
    if kind == "approve":
        org = team.lead.id if actor == "alliance_lead" else world["partner"].id
        return {"version": bid.version, "organisation_id": org, "confirm": "y"}
    if kind == "edit":
        return {"version": bid.version, "price": "10", "currency": "GBP", "proposal": "x",
                **{f"members-{i}-{k}": v for i, m in enumerate(bid.members) for k, v in (
                    ("organisation_id", m.organisation_id), ("role", m.role.value),
                    ("work_share", "50"))}}
    if kind == "member":
        return {"version": bid.version, "organisation": "outsider co", "role": "member"}
    return {}


@pytest.mark.parametrize("key, actor", CASES, ids=[f"{m} {p} {a}" for (m, p, _), a in CASES])
def test_route_actor_matrix(app, client, login_as, world, key, actor):
    method, template, form = key
    expected = MATRIX[key][actor]
    path = template.format(bid=world["bid"].id, tender=world["team"].tender.id, doc=999)
    if world["users"][actor] is not None:
        login_as(world["users"][actor])
    data = _form(form, world, actor) if form is not None else None
    response = client.open(path, method=method, data=data)
    assert response.status_code == expected, (path, actor, response.status_code)
    if expected == LOGIN:
        location = response.headers.get("Location", "")
        assert actor != "anonymous" or "/login" in location


def test_matrix_covers_every_bid_route(app):
    covered = {t.split("{")[0].rstrip("/") for (_m, t, _f) in MATRIX}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("bids.") and "GET" in rule.methods:
            assert any(rule.rule.startswith(c) for c in covered), rule.rule


def test_only_managers_of_member_organisations_approve(app, db, world):
    bid, users = world["bid"], world["users"]
    with acting(app, users["member_without_role"]), pytest.raises(PermissionDenied):
        services.approve(users["member_without_role"], bid.id, world["partner"].id,
                         bid.version, datetime.now(UTC))
    db.session.rollback()
    # A manager of one member cannot approve for another member organisation.
    with acting(app, users["org_admin"]), pytest.raises(PermissionDenied):
        services.approve(users["org_admin"], bid.id, world["team"].lead.id, bid.version,
                         datetime.now(UTC))
    db.session.rollback()
    with acting(app, users["org_admin"]):
        services.approve(users["org_admin"], bid.id, world["partner"].id, bid.version,
                         datetime.now(UTC))
        db.session.commit()
    approval = db.session.scalar(select(BidApproval))
    assert approval.approved_by_user_id == users["org_admin"].id
    assert approval.content_hash == bid.content_hash
