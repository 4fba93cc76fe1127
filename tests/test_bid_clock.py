"""The deadline against the server clock (SECURITY 22): -1 µs is in time, the deadline itself
and +1 µs are late, for submit (the last approval), approve, edit and withdraw."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from marketplace.bids import services
from marketplace.errors import InvalidState
from marketplace.models import AuditEvent, Bid, BidState
from tests.bidding import acting, approve_all, build_team, start_bid

DEADLINE = datetime(2031, 3, 14, 12, 0, 0, tzinfo=UTC)
US = timedelta(microseconds=1)
MOMENTS = [("before", DEADLINE - US, True), ("at", DEADLINE, False),
           ("after", DEADLINE + US, False)]


@pytest.fixture
def team(app, make_user, make_org):
    return build_team(app, make_user, make_org, partners=1, deadline=DEADLINE)


def at(moment):
    return time_machine.travel(moment, tick=False)


def _lines(bid):
    return [services.MemberLine(m.organisation_id, m.role, m.work_share) for m in bid.members]


@pytest.mark.parametrize("label, moment, allowed", MOMENTS)
def test_last_approval_submits_only_before_the_deadline(app, db, team, label, moment,
                                                       allowed):
    with at(DEADLINE - timedelta(days=1)):
        bid = start_bid(app, team)
        approve_all(app, team, bid, skip_last=True)
    owner, org = team.partner_owners[0], team.partners[0]
    with at(moment), acting(app, owner):
        from marketplace.clock import now

        if allowed:
            services.approve(owner, bid.id, org.id, bid.version, now())
            db.session.commit()
        else:
            with pytest.raises(InvalidState, match="Too late"):
                services.approve(owner, bid.id, org.id, bid.version, now())
            db.session.rollback()
    db.session.expire_all()
    bid = db.session.get(Bid, bid.id)
    assert (bid.state == BidState.SUBMITTED) is allowed
    assert (bid.submitted_at == DEADLINE - US) is allowed
    submitted = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "submitted"))
    assert len(submitted.all()) == (1 if allowed else 0)


@pytest.mark.parametrize("label, moment, allowed", MOMENTS)
def test_first_approval(app, db, team, label, moment, allowed):
    with at(DEADLINE - timedelta(hours=2)):
        bid = start_bid(app, team)
    with at(moment), acting(app, team.lead_owner):
        from marketplace.clock import now

        if allowed:
            services.approve(team.lead_owner, bid.id, team.lead.id, bid.version, now())
            db.session.commit()
        else:
            with pytest.raises(InvalidState):
                services.approve(team.lead_owner, bid.id, team.lead.id, bid.version, now())
            db.session.rollback()
    assert len(services.approvals_for(db.session.get(Bid, bid.id))) == (1 if allowed else 0)


@pytest.mark.parametrize("label, moment, allowed", MOMENTS)
def test_edit(app, db, team, label, moment, allowed):
    with at(DEADLINE - timedelta(hours=2)):
        bid = start_bid(app, team)
        version = bid.version
    with at(moment), acting(app, team.lead_owner):
        from marketplace.clock import now

        def call():
            return services.update_bid(team.lead_owner, bid.id, version, price=Decimal("1"),
                                       currency="GBP", proposal="late change",
                                       members=_lines(bid), now=now())

        if allowed:
            call()
            db.session.commit()
        else:
            with pytest.raises(InvalidState, match="deadline passed"):
                call()
            db.session.rollback()
    db.session.expire_all()
    assert (db.session.get(Bid, bid.id).version == version + 1) is allowed


@pytest.mark.parametrize("label, moment, allowed", MOMENTS)
def test_withdraw(app, db, team, label, moment, allowed):
    with at(DEADLINE - timedelta(hours=2)):
        bid = start_bid(app, team)
        approve_all(app, team, bid)
    with at(moment), acting(app, team.lead_owner):
        from marketplace.clock import now

        if allowed:
            services.withdraw(team.lead_owner, bid.id, now())
            db.session.commit()
        else:
            with pytest.raises(InvalidState):
                services.withdraw(team.lead_owner, bid.id, now())
            db.session.rollback()
    db.session.expire_all()
    bid = db.session.get(Bid, bid.id)
    assert bid.state == (BidState.WITHDRAWN if allowed else BidState.SUBMITTED)


@pytest.mark.parametrize("label, moment, allowed", MOMENTS)
def test_late_approval_through_the_page_says_why(app, db, client, login_as, team, label,
                                                 moment, allowed):
    with at(DEADLINE - timedelta(hours=2)):
        bid = start_bid(app, team)
    with at(moment):
        login_as(team.lead_owner)
        response = client.post(f"/bids/{bid.id}/approve", data={
            "version": bid.version, "organisation_id": team.lead.id, "confirm": "y"},
            follow_redirects=True)
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert ("Too late" in text) is not allowed
    assert ("12:00:00 UTC" in text) is not allowed


def test_one_now_per_request(app):
    with app.test_request_context("/"):
        from marketplace.clock import now

        first = now()
        with time_machine.travel(first + timedelta(hours=1)):
            assert now() == first
