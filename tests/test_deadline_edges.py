"""The deadline edges for the bid actions test_bid_clock.py does not drive (SECURITY.md 22):
starting a bid, naming a partner, asking for approval (allowed only strictly before the
deadline) and the buyer's shortlist/award (allowed only from the deadline on), at deadline
-1 µs, the deadline itself and +1 µs; and the new-bid page end to end with the server clock."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import func, select

from marketplace.bids import services
from marketplace.errors import InvalidState
from marketplace.models import Bid, BidRole, BidState
from tests.bidding import acting, approve_all, build_team, start_bid

DEADLINE = datetime(2031, 5, 20, 17, 0, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
BEFORE_ONLY = [("before", DEADLINE - US, True), ("at", DEADLINE, False),
               ("after", DEADLINE + US, False)]
FROM_DEADLINE_ON = [("before", DEADLINE - US, False), ("at", DEADLINE, True),
                    ("after", DEADLINE + US, True)]


@pytest.fixture
def team(app, make_user, make_org):
    return build_team(app, make_user, make_org, partners=1, deadline=DEADLINE)


def at(moment):
    return time_machine.travel(moment, tick=False)


def server_now():
    from marketplace.clock import now

    return now()


def count_bids(db) -> int:
    return db.session.scalar(select(func.count(Bid.id)))


@pytest.mark.parametrize(("label", "moment", "allowed"), BEFORE_ONLY)
def test_start_a_bid(app, db, team, label, moment, allowed):
    with at(moment), acting(app, team.lead_owner):
        if allowed:
            services.create_bid(team.lead_owner, team.tender, f"org:{team.lead.id}",
                                server_now())
            db.session.commit()
        else:
            with pytest.raises(InvalidState, match="Too late"):
                services.create_bid(team.lead_owner, team.tender, f"org:{team.lead.id}",
                                    server_now())
            db.session.rollback()
    assert count_bids(db) == (1 if allowed else 0)


@pytest.mark.parametrize(("label", "moment", "allowed"), BEFORE_ONLY)
def test_name_a_partner(app, db, team, label, moment, allowed):
    with at(DEADLINE - timedelta(hours=1)), acting(app, team.lead_owner):
        bid = services.create_bid(team.lead_owner, team.tender, f"org:{team.lead.id}",
                                  server_now())
        db.session.commit()
        version = bid.version
    partner = team.partners[0]
    with at(moment), acting(app, team.lead_owner):
        if allowed:
            services.add_member(team.lead_owner, bid.id, version, partner, BidRole.MEMBER,
                                server_now())
            db.session.commit()
        else:
            with pytest.raises(InvalidState):
                services.add_member(team.lead_owner, bid.id, version, partner,
                                    BidRole.MEMBER, server_now())
            db.session.rollback()
    db.session.expire_all()
    members = {m.organisation_id for m in db.session.get(Bid, bid.id).members}
    assert (partner.id in members) is allowed


@pytest.mark.parametrize(("label", "moment", "allowed"), BEFORE_ONLY)
def test_ask_for_approval(app, db, team, label, moment, allowed):
    with at(DEADLINE - timedelta(hours=1)):
        bid = start_bid(app, team, request=False)
    with at(moment), acting(app, team.lead_owner):
        if allowed:
            services.request_approval(team.lead_owner, bid.id, bid.version, server_now())
            db.session.commit()
        else:
            with pytest.raises(InvalidState):
                services.request_approval(team.lead_owner, bid.id, bid.version, server_now())
            db.session.rollback()
    db.session.expire_all()
    state = db.session.get(Bid, bid.id).state
    assert state == (BidState.AWAITING_APPROVAL if allowed else BidState.DRAFT)


@pytest.fixture
def submitted(app, db, team):
    with at(DEADLINE - timedelta(hours=1)):
        bid = start_bid(app, team)
        approve_all(app, team, bid)
    db.session.expire_all()
    assert db.session.get(Bid, bid.id).state == BidState.SUBMITTED
    return bid


@pytest.mark.parametrize("action", ["shortlist", "award"])
@pytest.mark.parametrize(("label", "moment", "allowed"), FROM_DEADLINE_ON)
def test_buyer_decisions_wait_for_the_deadline(app, db, team, submitted, action, label,
                                               moment, allowed):
    call = getattr(services, action)
    with at(moment), acting(app, team.buyer_owner):
        if allowed:
            call(team.buyer_owner, team.tender.id, submitted.id, server_now())
            db.session.commit()
        else:
            with pytest.raises(InvalidState, match="sealed until the deadline"):
                call(team.buyer_owner, team.tender.id, submitted.id, server_now())
            db.session.rollback()
    db.session.expire_all()
    state = db.session.get(Bid, submitted.id).state
    expected = {"shortlist": BidState.SHORTLISTED, "award": BidState.AWARDED}[action]
    assert (state == expected) is allowed
    if not allowed:
        assert state == BidState.SUBMITTED


@pytest.mark.parametrize(("label", "moment", "allowed"), BEFORE_ONLY)
def test_new_bid_page_reads_the_server_clock(app, db, client, login_as, team, label, moment,
                                            allowed):
    with at(moment):
        login_as(team.lead_owner)
        response = client.post(f"/tenders/{team.tender.id}/bids/new",
                               data={"party": f"org:{team.lead.id}"})
    assert (response.status_code == 302) is allowed
    if not allowed:
        assert "Too late" in response.get_data(as_text=True)
    assert count_bids(db) == (1 if allowed else 0)
