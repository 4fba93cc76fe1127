"""`flask seed demo`: realistic, deterministic, local demo data without known passwords
(issue 1/7, item 7; SECURITY.md 8)."""

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from marketplace.models import (
    Alliance,
    AuditEvent,
    CreditStatus,
    Organisation,
    Profile,
    ProjectExample,
    Tender,
    User,
)
from tests.conftest import clean_database, log_in

DEMO_PASSWORD = "demo passphrase for the tests"


def counts(db) -> dict[str, int]:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (User, Organisation, Profile, Tender)}


def snapshot(db) -> list[tuple]:
    db.session.expire_all()
    orgs = db.session.execute(select(Organisation.name, Organisation.slug).order_by(
        Organisation.slug)).all()
    users = db.session.scalars(select(User.email).order_by(User.email)).all()
    tenders = db.session.scalars(select(Tender.title).order_by(Tender.source_id,
                                                              Tender.title)).all()
    return [tuple(orgs), tuple(users), tuple(tenders)]


class TestWithDemoPassword:
    @pytest.fixture
    def app_config(self):
        return {"DEMO_PASSWORD": DEMO_PASSWORD}

    def test_seed_creates_a_believable_local_market(self, runner, db, app):
        # One seeding serves several checks: it is the slowest thing in the suite.
        result = runner.invoke(args=["seed", "demo", "--if-empty"])
        assert result.exit_code == 0, result.output
        assert DEMO_PASSWORD not in result.output

        profiles = db.session.scalars(select(Profile).join(Organisation).where(
            Organisation.is_buyer.is_(False), Profile.published_at.is_not(None))).all()
        complete = [p for p in profiles if p.description and p.capabilities and p.cpv_codes
                    and p.town and p.lat is not None and p.lon is not None]
        assert len(complete) >= 60
        assert all(re.fullmatch(r"\d{8}", c.code) for p in complete for c in p.cpv_codes)
        assert len({p.town for p in complete}) >= 5
        buyers = db.session.scalar(select(func.count(Organisation.id)).where(
            Organisation.is_buyer.is_(True)))
        assert buyers >= 3

        now = datetime.now(UTC)
        # Real notices, imported: credited to their source under its licence. (Later issues
        # seed tenders of their own, which have no source.)
        tenders = db.session.scalars(select(Tender).where(Tender.source.is_not(None))).all()
        assert len(tenders) >= 10
        for tender in tenders:
            assert tender.deadline > now
            assert tender.source and tender.source_licence and tender.source_id
            assert tender.cpv_codes and tender.description
        assert any(t.source_url and t.source_url.startswith("https://") for t in tenders)

        owner = db.session.scalar(select(User).join(User.memberships).order_by(User.id))
        assert log_in(app.test_client(), owner.email, DEMO_PASSWORD).status_code == 302

        # --if-empty: the second time nothing changes.
        before = (counts(db), snapshot(db))
        again = runner.invoke(args=["seed", "demo", "--if-empty"])
        assert again.exit_code == 0
        assert "nothing to do" in again.output
        assert (counts(db), snapshot(db)) == before

        # Deterministic: an empty database seeded again gets the same names.
        clean_database()
        assert runner.invoke(args=["seed", "demo"]).exit_code == 0
        assert snapshot(db) == before[1]


class TestWithoutDemoPassword:
    @pytest.fixture
    def app_config(self):
        return {"DEMO_PASSWORD": None}

    def test_a_password_is_generated_and_shown_once(self, runner, db, app, monkeypatch):
        monkeypatch.delenv("DEMO_PASSWORD", raising=False)
        result = runner.invoke(args=["seed", "demo"])
        assert result.exit_code == 0, result.output
        lines = result.output.splitlines()
        marker = next(i for i, line in enumerate(lines) if "generated password" in line)
        password = lines[marker + 1].strip()
        assert len(password) >= 12
        assert result.output.count(password) == 1
        owner = db.session.scalar(select(User).join(User.memberships).order_by(User.id))
        assert log_in(app.test_client(), owner.email, password).status_code == 302
        assert log_in(app.test_client(), owner.email, DEMO_PASSWORD).status_code == 200


class TestWeakDemoPassword:
    @pytest.fixture
    def app_config(self):
        return {"DEMO_PASSWORD": "short"}

    def test_a_weak_demo_password_is_refused(self, runner, db):
        result = runner.invoke(args=["seed", "demo"])
        assert result.exit_code == 1
        assert "Error: DEMO_PASSWORD is not acceptable" in result.output
        assert counts(db)["User"] == 0


class TestSeededAudit:
    @pytest.fixture
    def app_config(self):
        return {"DEMO_PASSWORD": DEMO_PASSWORD}

    def test_seeded_history_is_in_the_audit_trail(self, runner, db):
        """The demo's alliances and project confirmations carry audit events, as if the states had
        been reached through the services (SECURITY.md 27: audit events match the objects)."""
        assert runner.invoke(args=["seed", "demo"]).exit_code == 0
        events = db.session.scalars(select(AuditEvent)).all()
        seen = {(e.subject_kind, e.subject_id, e.action, (e.details or {}).get("organisation_id"))
                for e in events}
        alliances = db.session.scalars(select(Alliance)).all()
        projects = db.session.scalars(select(ProjectExample)).all()
        assert alliances and projects
        for alliance in alliances:
            assert ("alliance", alliance.id, "created", None) in seen
            for member in alliance.members[1:]:
                assert ("alliance", alliance.id, "member_joined", member.organisation_id) in seen
        for project in projects:
            assert ("project", project.id, "created", None) in seen
            for credit in project.partner_credits:
                confirmed = ("project", project.id, "credit_confirmed", credit.organisation_id)
                assert (confirmed in seen) == (credit.status == CreditStatus.CONFIRMED)
