"""The approval rules: owners/admins of member organisations, the exact version, fresh login.
(Who may reach which bid route is in the shared matrix, tests/authz/matrix.toml.)"""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from marketplace.bids import services
from marketplace.errors import PermissionDenied
from marketplace.models import BidApproval, Membership, OrgRole
from tests.bidding import acting, build_team, make_alliance

# The route x actor matrix for bids lives in tests/authz/matrix.toml (bid_pending: a joint
# alliance bid awaiting approval).


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
