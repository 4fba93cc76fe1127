"""The audit trail (SECURITY.md 27): events are append-only (ORM and database), earlier events
survive every later action unchanged, and the newest event of each bid and tender matches the
object's state and version."""

from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import time_machine
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError

from marketplace.bids import services
from marketplace.models import AuditEvent, AuditTrailIsAppendOnly, Bid, BidState, Tender
from tests.bidding import acting, approve_all, build_team, start_bid

DEADLINE = datetime(2031, 9, 1, 12, 0, tzinfo=UTC)


def snapshot(db) -> dict[int, tuple]:
    db.session.expire_all()
    return {e.id: (e.occurred_at, e.actor_user_id, e.actor_org_id, e.subject_kind,
                   e.subject_id, e.action, e.version, dict(e.details or {}))
            for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))}


def as_utc(moment: datetime) -> datetime:
    # SQLite gives back naive UTC, PostgreSQL aware datetimes.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def events_of(db, kind: str, subject_id: int) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.subject_kind == kind, AuditEvent.subject_id == subject_id)
        .order_by(AuditEvent.id)))


@pytest.fixture
def awarded(app, db, make_user, make_org):
    """A joint bid submitted before the deadline and awarded after it, with the trail's
    snapshot at each step."""
    steps = []
    with time_machine.travel(DEADLINE - timedelta(days=1), tick=False):
        team = build_team(app, make_user, make_org, partners=1, deadline=DEADLINE)
        bid = start_bid(app, team)
        steps.append(snapshot(db))
        approve_all(app, team, bid)
        steps.append(snapshot(db))
    with time_machine.travel(DEADLINE + timedelta(minutes=5), tick=False), \
            acting(app, team.buyer_owner):
        from marketplace.clock import now

        services.award(team.buyer_owner, team.tender.id, bid.id, now())
        db.session.commit()
    steps.append(snapshot(db))
    return team, bid, steps


def test_earlier_events_survive_every_later_action_unchanged(awarded):
    _, _, steps = awarded
    for earlier, later in pairwise(steps):
        assert len(later) > len(earlier)
        assert {i: later[i] for i in earlier} == earlier


def test_the_newest_event_matches_the_bid_and_the_tender(db, awarded):
    team, bid, _ = awarded
    db.session.expire_all()
    bid = db.session.get(Bid, bid.id)
    assert bid.state == BidState.AWARDED
    bid_events = events_of(db, "bid", bid.id)
    assert [e.action for e in bid_events][-1] == "awarded"
    assert bid_events[-1].details["state"] == bid.state.value
    assert bid_events[-1].version == bid.version
    submitted = [e for e in bid_events if e.action == "submitted"]
    assert len(submitted) == 1 and as_utc(submitted[0].occurred_at) < DEADLINE
    tender = db.session.get(Tender, team.tender.id)
    tender_events = events_of(db, "tender", tender.id)
    assert tender_events[-1].action == "awarded"
    assert tender_events[-1].version == tender.version
    ids = [e.id for e in bid_events + tender_events]
    assert len(ids) == len(set(ids))
    times = [as_utc(e.occurred_at) for e in sorted(bid_events + tender_events, key=lambda e: e.id)]
    assert times == sorted(times)


def test_orm_cannot_change_or_delete_an_event(db, awarded):
    _, bid, steps = awarded
    event = events_of(db, "bid", bid.id)[0]
    event.action = "forged"
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    event = events_of(db, "bid", bid.id)[0]
    db.session.delete(event)
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.flush()
    db.session.rollback()
    assert snapshot(db) == steps[-1]


def test_bulk_statements_cannot_change_or_delete_events(db, awarded):
    """``update()``/``delete()`` skip the mapper events; a session hook refuses them too."""
    _, bid, steps = awarded
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.execute(update(AuditEvent).values(action="forged"))
    db.session.rollback()
    with pytest.raises(AuditTrailIsAppendOnly):
        db.session.execute(delete(AuditEvent).where(AuditEvent.subject_id == bid.id))
    db.session.rollback()
    assert snapshot(db) == steps[-1]


def test_the_database_refuses_raw_rewrites_but_lets_erasure_clear_the_actor(db, awarded):
    """Whatever the client (raw SQL here), the trigger refuses to rewrite an event's content;
    the actor columns may still be cleared, as ON DELETE SET NULL does for an erased user."""
    _, _, steps = awarded
    db.session.rollback()  # the raw connections below must not wait for the session's lock
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET action = 'forged'"))
    with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET occurred_at = CURRENT_TIMESTAMP"))
    assert snapshot(db) == steps[-1]
    db.session.rollback()
    with db.engine.begin() as conn:
        cleared = conn.execute(text("UPDATE audit_events SET actor_user_id = NULL "
                                    "WHERE actor_user_id IS NOT NULL")).rowcount
    assert cleared > 0
