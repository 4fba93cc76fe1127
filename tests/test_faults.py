"""Fault points (marketplace/faults.py) for the crash-safety drills (SECURITY.md 29, 30):
production refuses them, an unarmed point does nothing, an armed one kills the process at
the place it names. The kills themselves are exercised in tests/heavy/test_crash_safety.py;
here ``os.kill`` is replaced, so that the test process survives."""

import signal

import pytest
from sqlalchemy import create_engine, func, select, text

from marketplace import ConfigurationError, create_app, faults
from marketplace.extensions import db as _db
from marketplace.models import AuditEvent, BidApproval
from tests.bidding import build_team, start_bid
from tests.conftest import BASE_CONFIG

ARMED = ["bid.approve.before_commit"]


class Killed(BaseException):
    """Stands for the SIGKILL: nothing after the point runs, no handler catches it."""


@pytest.fixture
def kills(monkeypatch):
    calls = []

    def kill(pid, sig):
        calls.append((pid, sig))
        raise Killed

    monkeypatch.setattr(faults.os, "kill", kill)
    return calls


def settings(database_url, **extra):
    return {**BASE_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url, **extra}


def test_production_refuses_fault_points(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("GUILD_INSTANCE_PATH", str(tmp_path / "instance"))
    with pytest.raises(ConfigurationError, match="FAULT_POINTS"):
        create_app(settings(database_url, GUILD_ENV="production", TRUSTED_HOSTS=["x.org"],
                            FAULT_POINTS=ARMED))


def test_production_refuses_fault_points_from_the_environment(monkeypatch, database_url,
                                                              tmp_path):
    # How the drills arm them: FLASK_FAULT_POINTS, parsed as JSON by from_prefixed_env.
    monkeypatch.setenv("GUILD_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("FLASK_FAULT_POINTS", '["index.before_commit"]')
    with pytest.raises(ConfigurationError, match="FAULT_POINTS"):
        create_app(settings(database_url, GUILD_ENV="production", TRUSTED_HOSTS=["x.org"]))
    app = create_app(settings(database_url, GUILD_ENV="development"))
    assert app.config["FAULT_POINTS"] == ["index.before_commit"]


def test_production_starts_without_fault_points(monkeypatch, database_url, tmp_path):
    monkeypatch.setenv("GUILD_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("FLASK_FAULT_POINTS", raising=False)
    app = create_app(settings(database_url, GUILD_ENV="production", TRUSTED_HOSTS=["x.org"]))
    assert not app.config["FAULT_POINTS"]


def test_unarmed_points_do_nothing(app, kills):
    for name in sorted(faults.POINTS):
        faults.fault_point(name)  # FAULT_POINTS is empty in tests
    app.config["FAULT_POINTS"] = ["index.after_commit"]
    faults.fault_point("index.before_commit")  # another point armed: not this one
    faults.fault_point("bid.approve.before_commit")
    assert kills == []


def test_points_outside_an_application_do_nothing(kills):
    faults.fault_point("index.before_commit")
    assert kills == []


def test_an_unknown_point_is_a_programming_error(app):
    with pytest.raises(AssertionError):
        faults.fault_point("bid.approve.after_commit")


def test_an_armed_point_sends_sigkill_to_its_own_process(app, kills):
    app.config["FAULT_POINTS"] = ["index.after_commit"]
    with pytest.raises(Killed):
        faults.fault_point("index.after_commit")
    assert len(kills) == 1
    assert kills[0][1] == signal.SIGKILL
    assert kills[0][0] == faults.os.getpid()


def test_approval_point_is_after_the_flush_and_before_the_commit(app, db, client, login_as,
                                                                  make_user, make_org,
                                                                  monkeypatch, database_url):
    team = build_team(app, make_user, make_org)
    bid = start_bid(app, team)
    bid_id, version, lead_id = bid.id, bid.version, team.lead.id
    seen = {}

    def kill(pid, sig):
        # At the point: the approval row is in this transaction, nobody else can see it.
        seen["own"] = _db.session.scalar(select(func.count()).select_from(BidApproval)
                                         .where(BidApproval.bid_id == bid_id))
        other = create_engine(database_url)
        with other.connect() as conn:
            seen["others"] = conn.execute(text(
                "SELECT count(*) FROM bid_approvals WHERE bid_id = :b"), {"b": bid_id}).scalar()
        other.dispose()
        raise Killed

    monkeypatch.setattr(faults.os, "kill", kill)
    app.config["FAULT_POINTS"] = ARMED
    login_as(team.lead_owner)
    with pytest.raises(Killed):
        client.post(f"/bids/{bid_id}/approve",
                    data={"organisation_id": lead_id, "version": version, "confirm": "y"})
    assert seen == {"own": 1, "others": 0}
    _db.session.rollback()
    assert _db.session.scalar(select(func.count()).select_from(BidApproval)
                              .where(BidApproval.bid_id == bid_id)) == 0
    assert _db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.subject_id == bid_id, AuditEvent.action == "approved")) == 0
