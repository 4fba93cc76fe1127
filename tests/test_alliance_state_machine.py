"""Stateful test of alliance membership: any order of actions, by any actor.

Hypothesis drives the real services (invite, accept, decline, remove, leave, promote, demote)
with actors that are owners of the lead, of members, of invited and of uninvited
organisations, a plain member and a site admin. A simple model predicts which calls must
succeed; after every step the database must match the model and the invariants hold:

* a live alliance always has at least one lead;
* only invited organisations join (each join consumed one accepted invitation);
* an invitation works once (at most one answer, and never two joins from it).
"""

from collections import Counter

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from marketplace.alliances import services
from marketplace.clock import now
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.models import (
    Alliance,
    AllianceInvitation,
    AllianceMember,
    AllianceRole,
    AuditEvent,
    Membership,
    Organisation,
    OrgRole,
    User,
)
from tests.conftest import clean_database

ORGS = 4  # organisation 0 founds the alliance
ACTORS = ORGS + 2  # one owner per organisation, then a plain member of org 0, a site admin


class AllianceMachine(RuleBasedStateMachine):
    def __init__(self, app):
        super().__init__()
        self.app = app
        self.ctx = app.test_request_context()
        self.ctx.push()

    @initialize()
    def setup(self):
        clean_database()
        self.orgs, self.users = [], []
        for i in range(ORGS):
            user = User(email=f"sm-owner{i}@example.com", display_name=f"Owner {i}",
                        password_hash="x")
            org = Organisation(name=f"SM Org {i}", slug=f"sm-org-{i}")
            org.memberships.append(Membership(user=user, role=OrgRole.OWNER))
            db.session.add(org)
            self.orgs.append(org)
            self.users.append(user)
        plain = User(email="sm-plain@example.com", display_name="Plain", password_hash="x")
        db.session.add(Membership(organisation=self.orgs[0], user=plain, role=OrgRole.MEMBER))
        admin = User(email="sm-admin@example.com", display_name="Admin", password_hash="x",
                     is_site_admin=True)
        db.session.add(admin)
        self.users += [plain, admin]
        db.session.flush()
        self.alliance = services.create_alliance(self.users[0], self.orgs[0],
                                                 name="Machine alliance")
        db.session.commit()
        self.alliance_id = self.alliance.id
        self.org_ids = [o.id for o in self.orgs]
        self.user_ids = [u.id for u in self.users]
        # The model.
        self.members: dict[int, AllianceRole] = {0: AllianceRole.LEAD}
        self.invitations: list[tuple[int, int]] = []  # (invitation id, org index)
        self.pending: set[int] = set()  # invitation ids still answerable

    def teardown(self):
        db.session.rollback()
        self.ctx.pop()

    # -- helpers ---------------------------------------------------------------------------

    def user(self, i):
        return db.session.get(User, self.user_ids[i])

    def org(self, i):
        return db.session.get(Organisation, self.org_ids[i])

    def alliance_(self):
        return db.session.get(Alliance, self.alliance_id)

    def manages(self, actor: int) -> int | None:
        """The organisation index an actor owns (plain member and site admin own none)."""
        return actor if actor < ORGS else None

    def is_lead_actor(self, actor: int) -> bool:
        org = self.manages(actor)
        return org is not None and self.members.get(org) == AllianceRole.LEAD

    def leads(self) -> int:
        return sum(1 for r in self.members.values() if r == AllianceRole.LEAD)

    def attempt(self, expect_ok: bool, call) -> bool:
        try:
            call()
        except DomainError:
            db.session.rollback()
            assert not expect_ok, "the model expected this to succeed"
            return False
        db.session.commit()
        assert expect_ok, "the model expected this to be refused"
        return True

    # -- rules -----------------------------------------------------------------------------

    @rule(actor=st.integers(0, ACTORS - 1), org=st.integers(0, ORGS - 1))
    def invite(self, actor, org):
        has_pending = any(o == org and i in self.pending for i, o in self.invitations)
        ok = self.is_lead_actor(actor) and org not in self.members and not has_pending
        result = {}

        def call():
            result["inv"] = services.invite_organisation(self.user(actor), self.alliance_(),
                                                         self.org(org), now())

        if self.attempt(ok, call):
            self.invitations.append((result["inv"].id, org))
            self.pending.add(result["inv"].id)

    @rule(actor=st.integers(0, ACTORS - 1), pick=st.integers(0, 50), accept=st.booleans())
    def answer(self, actor, pick, accept):
        if not self.invitations:
            return
        inv_id, org = self.invitations[pick % len(self.invitations)]
        ok = inv_id in self.pending and self.manages(actor) == org
        invitation = db.session.get(AllianceInvitation, inv_id)
        fn = services.accept_invitation if accept else services.decline_invitation
        if self.attempt(ok, lambda: fn(self.user(actor), invitation, now())):
            self.pending.discard(inv_id)
            if accept:
                self.members[org] = AllianceRole.MEMBER

    @rule(actor=st.integers(0, ACTORS - 1), org=st.integers(0, ORGS - 1))
    def remove(self, actor, org):
        ok = (self.is_lead_actor(actor) and org in self.members
              and not (self.members[org] == AllianceRole.LEAD and self.leads() == 1))
        member = db.session.scalar(select(AllianceMember).where(
            AllianceMember.alliance_id == self.alliance_id,
            AllianceMember.organisation_id == self.org_ids[org]))
        if member is None:
            member = AllianceMember(alliance_id=self.alliance_id,
                                    organisation_id=self.org_ids[org],
                                    role=AllianceRole.MEMBER)  # a stale, unsaved reference
        if self.attempt(ok, lambda: services.remove_member(self.user(actor), self.alliance_(),
                                                           member)):
            del self.members[org]

    @rule(actor=st.integers(0, ACTORS - 1), org=st.integers(0, ORGS - 1))
    def leave(self, actor, org):
        ok = (self.manages(actor) == org and org in self.members
              and not (self.members[org] == AllianceRole.LEAD and self.leads() == 1))
        if self.attempt(ok, lambda: services.leave_alliance(self.user(actor), self.alliance_(),
                                                            self.org(org))):
            del self.members[org]

    @rule(actor=st.integers(0, ACTORS - 1), org=st.integers(0, ORGS - 1),
          lead=st.booleans())
    def change_role(self, actor, org, lead):
        role = AllianceRole.LEAD if lead else AllianceRole.MEMBER
        ok = (self.is_lead_actor(actor) and org in self.members
              and not (not lead and self.members[org] == AllianceRole.LEAD
                       and self.leads() == 1))
        member = AllianceMember(alliance_id=self.alliance_id,
                                organisation_id=self.org_ids[org], role=role)
        if self.attempt(ok, lambda: services.set_member_role(self.user(actor), self.alliance_(),
                                                             member, role)):
            self.members[org] = role

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def database_matches_model(self):
        if not hasattr(self, "alliance_id"):
            return
        rows = db.session.scalars(select(AllianceMember).where(
            AllianceMember.alliance_id == self.alliance_id)
            .execution_options(populate_existing=True)).all()
        actual = {self.org_ids.index(m.organisation_id): m.role for m in rows}
        assert actual == self.members

    @invariant()
    def at_least_one_lead(self):
        if not hasattr(self, "alliance_id"):
            return
        assert services.lead_count(self.alliance_()) >= 1

    @invariant()
    def only_invited_organisations_join_and_invitations_work_once(self):
        if not hasattr(self, "alliance_id"):
            return
        invitations = db.session.scalars(select(AllianceInvitation).where(
            AllianceInvitation.alliance_id == self.alliance_id)
            .execution_options(populate_existing=True)).all()
        for inv in invitations:
            answers = [inv.accepted_at, inv.declined_at, inv.revoked_at]
            assert sum(a is not None for a in answers) <= 1
        accepted = Counter(inv.organisation_id for inv in invitations if inv.accepted_at)
        joins = Counter(e.details["organisation_id"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.subject_kind == "alliance",
                                     AuditEvent.subject_id == self.alliance_id,
                                     AuditEvent.action == "member_joined")))
        assert joins == accepted
        for org_index in self.members:
            if org_index != 0:
                assert accepted[self.org_ids[org_index]] >= 1


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_alliance_membership_state_machine(app):
    run_state_machine_as_test(
        lambda: AllianceMachine(app),
        settings=settings(max_examples=30, stateful_step_count=25, deadline=None,
                          suppress_health_check=list(HealthCheck)))
