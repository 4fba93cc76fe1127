"""Race-freedom (SECURITY 25, 26) with real threads released together by a barrier.

Each thread has its own request context and so its own scoped session and connection; the
same tests run on SQLite (BEGIN IMMEDIATE) and PostgreSQL (SELECT … FOR UPDATE)."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from flask import g
from sqlalchemy import func, select

from marketplace.bids import services
from marketplace.errors import DomainError
from marketplace.extensions import db as _db
from marketplace.models import AuditEvent, Bid, BidApproval, BidState, BidVersion, User
from tests.bidding import acting, approve_all, build_team, start_bid


def run_together(app, n: int, fn) -> list:
    """Run fn(i) in n threads released at once; each commits its own transaction."""
    # The test's own session must not hold a transaction (on SQLite, the write lock).
    _db.session.commit()
    barrier = threading.Barrier(n, timeout=60)
    results: list = [None] * n

    def worker(i: int) -> None:
        with app.test_request_context("/", method="POST"):
            try:
                barrier.wait()
                value = fn(i)
                _db.session.commit()
                results[i] = ("ok", value)
            except DomainError as exc:
                _db.session.rollback()
                results[i] = ("refused", exc)
            except Exception as exc:  # reported by the assertion below
                _db.session.rollback()
                results[i] = ("error", exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    _db.session.expire_all()
    assert not [r for r in results if r is None or r[0] == "error"], results
    return results


def as_user(user_id: int) -> User:
    user = _db.session.get(User, user_id)
    g._login_user = user
    return user


def count(query) -> int:
    return _db.session.scalar(select(func.count()).select_from(query.subquery()))


def events(bid_id: int, action: str) -> int:
    return count(select(AuditEvent.id).where(AuditEvent.subject_kind == "bid",
                                            AuditEvent.subject_id == bid_id,
                                            AuditEvent.action == action))


def test_ten_members_approving_at_once(app, db, make_user, make_org):
    team = build_team(app, make_user, make_org, partners=9)
    bid = start_bid(app, team)
    owners = [team.lead_owner.id, *[u.id for u in team.partner_owners]]
    orgs = [team.lead.id, *[o.id for o in team.partners]]
    bid_id, version = bid.id, bid.version

    results = run_together(app, 10, lambda i: services.approve(
        as_user(owners[i]), bid_id, orgs[i], version, datetime.now(UTC)))

    assert [r[0] for r in results] == ["ok"] * 10
    bid = db.session.get(Bid, bid_id)
    assert bid.state == BidState.SUBMITTED and bid.version == version
    assert count(select(BidApproval.id).where(BidApproval.bid_id == bid_id)) == 10
    assert events(bid_id, "approved") == 10
    assert events(bid_id, "submitted") == 1


def test_twenty_identical_last_approvals_have_one_effect(app, db, make_user, make_org):
    team = build_team(app, make_user, make_org, partners=1)
    bid = start_bid(app, team)
    approve_all(app, team, bid, skip_last=True)
    owner, org = team.partner_owners[0].id, team.partners[0].id
    bid_id, version = bid.id, bid.version

    results = run_together(app, 20, lambda i: services.approve(
        as_user(owner), bid_id, org, version, datetime.now(UTC)))

    assert sorted(r[0] for r in results) == ["ok"] + ["refused"] * 19
    assert count(select(BidApproval.id).where(BidApproval.bid_id == bid_id)) == 2
    assert events(bid_id, "submitted") == 1
    assert db.session.get(Bid, bid_id).state == BidState.SUBMITTED


def test_twenty_simultaneous_requests_for_approval_have_one_effect(app, db, make_user,
                                                                  make_org):
    team = build_team(app, make_user, make_org, partners=1)
    bid = start_bid(app, team, request=False)
    bid_id, version, lead = bid.id, bid.version, team.lead_owner.id

    results = run_together(app, 20, lambda i: services.request_approval(
        as_user(lead), bid_id, version, datetime.now(UTC)))

    assert sorted(r[0] for r in results) == ["ok"] + ["refused"] * 19
    assert events(bid_id, "approval_requested") == 1


def test_twenty_simultaneous_new_bids_for_one_party(app, db, make_user, make_org):
    team = build_team(app, make_user, make_org, partners=0)
    tender_id, lead, party = team.tender.id, team.lead_owner.id, f"org:{team.lead.id}"
    from marketplace.models import Tender

    results = run_together(app, 20, lambda i: services.create_bid(
        as_user(lead), _db.session.get(Tender, tender_id), party, datetime.now(UTC)).id)

    assert sorted(r[0] for r in results) == ["ok"] + ["refused"] * 19
    assert count(select(Bid.id)) == 1


@pytest.mark.parametrize("round_", range(6))
def test_approval_racing_an_edit_never_submits_an_unapproved_version(app, db, make_user,
                                                                    make_org, round_):
    team = build_team(app, make_user, make_org, partners=1)
    bid = start_bid(app, team)
    approve_all(app, team, bid, skip_last=True)  # the lead approved; the partner is last
    bid_id, version = bid.id, bid.version
    lead, partner, partner_org = team.lead_owner.id, team.partner_owners[0].id, \
        team.partners[0].id
    lines = [services.MemberLine(m.organisation_id, m.role, m.work_share) for m in bid.members]

    def act(i):
        if i == 0:
            return services.update_bid(as_user(lead), bid_id, version,
                                       price=Decimal("1.00"), currency="GBP",
                                       proposal=f"changed {round_}", members=lines,
                                       now=datetime.now(UTC)).version
        return services.approve(as_user(partner), bid_id, partner_org, version,
                                datetime.now(UTC)).id

    results = run_together(app, 2, act)
    assert results[0][0] == "ok"  # the edit always goes through (before or after)
    bid = db.session.get(Bid, bid_id)
    assert bid.version == version + 1
    # Whatever the order, the edited version has no approvals, so it is not submitted...
    assert bid.state == BidState.AWAITING_APPROVAL
    assert services.approvals_for(bid) == []
    # ...and if the approval won the race, the submission was of the approved version only.
    submitted_versions = list(db.session.scalars(select(AuditEvent.version).where(
        AuditEvent.subject_id == bid_id, AuditEvent.action == "submitted")))
    assert submitted_versions in ([], [version])
    for v in submitted_versions:
        approved = set(db.session.scalars(select(BidApproval.organisation_id).where(
            BidApproval.bid_id == bid_id, BidApproval.version == v)))
        assert approved == {team.lead.id, partner_org}
    frozen = db.session.scalar(select(BidVersion).where(BidVersion.bid_id == bid_id,
                                                        BidVersion.number == bid.version))
    assert frozen.content["proposal"] == f"changed {round_}"


def test_twenty_simultaneous_awards_have_one_effect(app, db, make_user, make_org):
    deadline = datetime.now(UTC) + timedelta(hours=1)
    team = build_team(app, make_user, make_org, partners=0, deadline=deadline)
    bids = [start_bid(app, team)]
    approve_all(app, team, bids[0])
    for n in range(3):
        owner = make_user()
        org = make_org(owner, name=f"Rival {n}")
        with acting(app, owner):
            bid = services.create_bid(owner, team.tender, f"org:{org.id}", datetime.now(UTC))
            from marketplace.models import BidRole  # noqa: F401
            services.update_bid(owner, bid.id, bid.version, price=Decimal(50000 + n),
                                currency="GBP", proposal="ours",
                                members=[services.MemberLine(org.id, bid.members[0].role,
                                                             Decimal(100))],
                                now=datetime.now(UTC))
            services.request_approval(owner, bid.id, bid.version, datetime.now(UTC))
            services.approve(owner, bid.id, org.id, bid.version, datetime.now(UTC))
            _db.session.commit()
        bids.append(bid)
    bid_ids = [b.id for b in bids]
    tender_id, buyer = team.tender.id, team.buyer_owner.id

    with time_machine.travel(deadline + timedelta(minutes=5)):
        results = run_together(app, 20, lambda i: services.award(
            as_user(buyer), tender_id, bid_ids[i % len(bid_ids)], datetime.now(UTC)).id)

    assert sorted(r[0] for r in results) == ["ok"] + ["refused"] * 19
    states = {b: _db.session.get(Bid, b).state for b in bid_ids}
    assert list(states.values()).count(BidState.AWARDED) == 1
    assert list(states.values()).count(BidState.NOT_AWARDED) == 3
    assert count(select(AuditEvent.id).where(AuditEvent.action == "awarded",
                                             AuditEvent.subject_kind == "bid")) == 1
    assert count(select(AuditEvent.id).where(AuditEvent.action == "opened")) == 4
