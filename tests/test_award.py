"""After the deadline: bids open for the buyer, who compares, shortlists, disqualifies with a
reason and awards exactly one (fresh login); every bidder hears the outcome."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from marketplace.bids import services
from marketplace.errors import InvalidState, PermissionDenied
from marketplace.models import Bid, BidState, Notification, Tender, TenderStatus
from tests.bidding import acting, approve_all, build_team, start_bid
from tests.conftest import flashes, html


@pytest.fixture
def field(app, db, make_user, make_org):
    """A tender with a joint bid, a solo rival (both submitted) and a draft that never was."""
    deadline = datetime.now(UTC) + timedelta(hours=2)
    team = build_team(app, make_user, make_org, partners=1, deadline=deadline)
    joint = start_bid(app, team, price=Decimal("90000"))
    approve_all(app, team, joint)
    rival_owner = make_user()
    rival = make_org(rival_owner, name="Rival Roofs")
    with acting(app, rival_owner):
        solo = services.create_bid(rival_owner, team.tender, f"org:{rival.id}",
                                   datetime.now(UTC))
        services.update_bid(rival_owner, solo.id, solo.version, price=Decimal("80000"),
                            currency="GBP", proposal="Cheaper roofs.",
                            members=[services.MemberLine(rival.id, solo.members[0].role,
                                                         Decimal(100))], now=datetime.now(UTC))
        services.request_approval(rival_owner, solo.id, solo.version, datetime.now(UTC))
        services.approve(rival_owner, solo.id, rival.id, solo.version, datetime.now(UTC))
        db.session.commit()
    late_owner = make_user()
    late = make_org(late_owner, name="Never Finished Ltd")
    with acting(app, late_owner):
        draft = services.create_bid(late_owner, team.tender, f"org:{late.id}",
                                    datetime.now(UTC))
        db.session.commit()
    return dict(team=team, joint=joint, solo=solo, draft=draft, deadline=deadline,
                rival_owner=rival_owner)


def after(field, minutes=5):
    return time_machine.travel(field["deadline"] + timedelta(minutes=minutes), tick=False)


def test_before_the_deadline_the_buyer_sees_a_sealed_page(app, client, login_as, field):
    team = field["team"]
    login_as(team.buyer_owner)
    page = client.get(f"/tenders/{team.tender.id}/bids")
    assert page.status_code == 200
    text = html(page).select_one("main").get_text(" ")
    assert "Sealed until the deadline" in text
    assert "Lead Roofing" not in text and "Rival" not in text and "90,000" not in text
    for bid in (field["joint"], field["solo"]):
        assert client.get(f"/bids/{bid.id}").status_code == 404
    with acting(app, team.buyer_owner), pytest.raises(InvalidState, match="sealed"):
        services.award(team.buyer_owner, team.tender.id, field["joint"].id, datetime.now(UTC))


def test_after_the_deadline_the_buyer_compares_submitted_bids(app, db, client, login_as,
                                                             field):
    team = field["team"]
    with after(field):
        login_as(team.buyer_owner)
        page = html(client.get(f"/tenders/{team.tender.id}/bids"))
        cards = page.select(".bid-card")
        assert [c.select_one("h2").get_text(strip=True) for c in cards] == [
            "Rival Roofs", "Lead Roofing"]  # cheapest first
        text = page.get_text(" ")
        assert "90,000.00" in text and "Partner Firm 0" in text and "50 %" in text
        assert "Never Finished" not in text  # drafts are never opened
        assert client.get(f"/bids/{field['joint'].id}").status_code == 200
        assert client.get(f"/bids/{field['draft'].id}").status_code == 404
        # Bidders' own receipts stay theirs.
        assert client.get(f"/bids/{field['joint'].id}/receipt").status_code == 404


def test_shortlist_disqualify_award_and_outcomes(app, db, client, login_as, field):
    team, joint, solo = field["team"], field["joint"], field["solo"]
    with after(field):
        login_as(team.buyer_owner)
        r = client.post(f"/tenders/{team.tender.id}/bids/{joint.id}/shortlist",
                        follow_redirects=True)
        assert "Bid shortlisted." in flashes(r)
        r = client.post(f"/tenders/{team.tender.id}/bids/{solo.id}/disqualify",
                        data={"reason": ""}, follow_redirects=True)
        assert any("reason" in f for f in flashes(r))
        r = client.post(f"/tenders/{team.tender.id}/bids/{solo.id}/disqualify",
                        data={"reason": "No insurance certificate."}, follow_redirects=True)
        assert any("disqualified" in f for f in flashes(r))
        assert client.get(f"/tenders/{team.tender.id}/bids/{joint.id}/award").status_code == 200
        r = client.post(f"/tenders/{team.tender.id}/bids/{joint.id}/award",
                        follow_redirects=True)
        assert any("awarded" in f for f in flashes(r))
    db.session.expire_all()
    assert db.session.get(Bid, joint.id).state == BidState.AWARDED
    assert db.session.get(Bid, solo.id).state == BidState.DISQUALIFIED
    assert db.session.get(Bid, solo.id).disqualification_reason == "No insurance certificate."
    assert db.session.get(Tender, team.tender.id).status == TenderStatus.AWARDED
    outcomes = db.session.scalars(select(Notification).where(
        Notification.kind == "bid_outcome")).all()
    told = {n.user_id for n in outcomes}
    assert told == {team.lead_owner.id, team.partner_owners[0].id, field["rival_owner"].id}
    with after(field), acting(app, team.buyer_owner), pytest.raises(InvalidState):
        services.award(team.buyer_owner, team.tender.id, solo.id, datetime.now(UTC))


def test_award_to_one_makes_the_others_not_awarded(app, db, field):
    team = field["team"]
    with after(field), acting(app, team.buyer_owner):
        services.award(team.buyer_owner, team.tender.id, field["solo"].id, datetime.now(UTC))
        db.session.commit()
    db.session.expire_all()
    assert db.session.get(Bid, field["joint"].id).state == BidState.NOT_AWARDED
    assert db.session.get(Bid, field["solo"].id).state == BidState.AWARDED
    assert db.session.get(Bid, field["draft"].id).state == BidState.DRAFT


def test_award_needs_a_fresh_login_and_the_buyer(app, db, client, login_as, field):
    team = field["team"]
    with after(field):
        login_as(team.buyer_owner, fresh=False)
        r = client.post(f"/tenders/{team.tender.id}/bids/{field['joint'].id}/award")
        assert r.status_code == 302 and "/reauthenticate" in r.headers["Location"]
        with acting(app, team.lead_owner), pytest.raises(PermissionDenied):
            services.award(team.lead_owner, team.tender.id, field["joint"].id,
                           datetime.now(UTC))
    db.session.rollback()
    assert db.session.get(Bid, field["joint"].id).award_flag is None


def test_late_actions_are_refused_with_a_clear_message(app, db, client, login_as, field):
    team, joint = field["team"], field["joint"]
    with after(field):
        login_as(team.lead_owner)
        r = client.post(f"/bids/{joint.id}/withdraw", follow_redirects=True)
        assert any(f.startswith("Too late: the deadline passed") for f in flashes(r))
        r = client.post(f"/bids/{joint.id}/request-approval", data={"version": joint.version},
                        follow_redirects=True)
        assert any("Too late" in f for f in flashes(r))


def test_members_see_the_outcome_after_the_deadline(app, db, client, login_as, field):
    team = field["team"]
    with after(field), acting(app, team.buyer_owner):
        services.award(team.buyer_owner, team.tender.id, field["joint"].id, datetime.now(UTC))
        db.session.commit()
    with after(field, 10):
        login_as(team.partner_owners[0])
        text = client.get(f"/bids/{field['joint'].id}").get_data(as_text=True)
        assert "this bid won the contract" in text
