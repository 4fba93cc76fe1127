"""Bids: assembling, versions, constraints, eligibility, conflicts, pages, tender hooks."""

import hashlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.bids import eligibility, services
from marketplace.bids.content import canonical_json
from marketplace.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.models import (
    AuditEvent,
    Bid,
    BidApproval,
    BidRole,
    BidState,
    BidVersion,
    EmailMessage,
    Notification,
)
from marketplace.models.bid import FrozenRowChanged
from tests.bidding import acting, approve_all, build_team, give_profile, make_alliance, start_bid
from tests.conftest import form_errors, html


@pytest.fixture
def team(app, make_user, make_org):
    return build_team(app, make_user, make_org, partners=1,
                      requirements=[("capability", "roofing"), ("capability", "scaffolding"),
                                    ("certification", "ISO 9001"), ("cpv", "45260000"),
                                    ("certification", "CHAS")])


def now():
    return datetime.now(UTC)


def test_joint_bid_lifecycle_versions_and_receipt(app, db, team):
    bid = start_bid(app, team)
    assert bid.state == BidState.AWAITING_APPROVAL
    assert [m.role for m in bid.members] == [BidRole.LEAD, BidRole.MEMBER]
    assert sum(m.work_share for m in bid.members) == Decimal("100")
    versions = db.session.scalars(select(BidVersion).where(BidVersion.bid_id == bid.id)
                                  .order_by(BidVersion.number)).all()
    assert [v.number for v in versions] == list(range(1, bid.version + 1))
    approve_all(app, team, bid)
    db.session.refresh(bid)
    assert bid.state == BidState.SUBMITTED and bid.submitted_at is not None
    # The receipt hash is the SHA-256 of the frozen version's canonical JSON.
    version = services.current_version(bid)
    assert bid.content_hash == version.content_hash == hashlib.sha256(
        canonical_json(version.content)).hexdigest()
    assert version.content["price"] == "90000.00"
    # Every user of every member organisation got the receipt, sealed from the admin.
    receipts = db.session.scalars(select(EmailMessage).where(
        EmailMessage.body_text.contains(bid.content_hash))).all()
    assert {m.to_address for m in receipts} == {team.lead_owner.email,
                                                team.partner_owners[0].email}
    assert all(m.sensitive and m.sealed_tender_id == team.tender.id for m in receipts)
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject_kind == "bid", AuditEvent.subject_id == bid.id)).all()
    assert actions.count("submitted") == 1 and actions.count("approved") == 2


def test_edit_creates_new_version_and_voids_approvals(app, db, team):
    bid = start_bid(app, team)
    approve_all(app, team, bid, skip_last=True)
    v = bid.version
    with acting(app, team.lead_owner):
        lines = [services.MemberLine(m.organisation_id, m.role, m.work_share)
                 for m in bid.members]
        services.update_bid(team.lead_owner, bid.id, v, price=Decimal("85000"), currency="GBP",
                            proposal="Cheaper.", members=lines, now=now())
        db.session.commit()
    db.session.refresh(bid)
    assert bid.version == v + 1 and bid.state == BidState.AWAITING_APPROVAL
    assert services.approvals_for(bid) == []
    assert db.session.scalar(select(BidApproval).where(BidApproval.version == v)) is not None
    voided = db.session.scalars(select(Notification).where(
        Notification.kind == "bid_approvals_voided")).all()
    assert {n.user_id for n in voided} == {team.lead_owner.id, team.partner_owners[0].id}
    # An approval of the old version is refused.
    with acting(app, team.partner_owners[0]), pytest.raises(Conflict):
        services.approve(team.partner_owners[0], bid.id, team.partners[0].id, v, now())


def test_editing_a_submitted_bid_unsubmits_it(app, db, team):
    bid = start_bid(app, team)
    approve_all(app, team, bid)
    with acting(app, team.lead_owner):
        services.remove_member(team.lead_owner, bid.id, bid.version, bid.members[1].id, now())
        db.session.commit()
    db.session.refresh(bid)
    assert bid.state == BidState.AWAITING_APPROVAL and bid.submitted_at is None
    assert [m.work_share for m in bid.members] == [Decimal("100")]


@pytest.mark.parametrize("shares, ok", [
    (("60", "40"), True), (("60.5", "39.5"), True), (("60", "39.99"), False),
    (("100", "0.01"), False), (("50", "50.001"), False)])
def test_work_shares_must_sum_to_exactly_100(app, db, team, shares, ok):
    bid = start_bid(app, team, request=False)
    lines = [services.MemberLine(m.organisation_id, m.role, Decimal(s))
             for m, s in zip(bid.members, shares, strict=True)]
    with acting(app, team.lead_owner):
        if ok:
            services.update_bid(team.lead_owner, bid.id, bid.version, price=Decimal(1),
                                currency="GBP", proposal="x", members=lines, now=now())
        else:
            with pytest.raises(ValidationFailed):
                services.update_bid(team.lead_owner, bid.id, bid.version, price=Decimal(1),
                                    currency="GBP", proposal="x", members=lines, now=now())


def test_edit_form_shows_share_error_and_changes_nothing(app, db, client, login_as, team):
    bid = start_bid(app, team, request=False)
    login_as(team.lead_owner)
    data = {"version": bid.version, "price": "100", "currency": "GBP", "proposal": "p",
            "members-0-organisation_id": team.lead.id, "members-0-role": "lead",
            "members-0-work_share": "70",
            "members-1-organisation_id": team.partners[0].id, "members-1-role": "member",
            "members-1-work_share": "20"}
    response = client.post(f"/bids/{bid.id}/edit", data=data)
    assert response.status_code == 200
    assert "add up to exactly 100" in html(response).select_one(".error-summary").get_text()
    db.session.expire_all()
    assert db.session.get(Bid, bid.id).version == bid.version
    data["members-1-work_share"] = "30"
    response = client.post(f"/bids/{bid.id}/edit", data=data)
    assert response.status_code == 302
    data["members-1-work_share"] = "abc"
    response = client.post(f"/bids/{bid.id}/edit", data={**data, "version": bid.version + 1})
    assert response.status_code == 200 and form_errors(response)


def test_mass_assignment_fields_are_ignored(app, db, client, login_as, team):
    bid = start_bid(app, team, request=False)
    login_as(team.lead_owner)
    client.post(f"/bids/{bid.id}/edit", data={
        "version": bid.version, "price": "5", "currency": "GBP", "proposal": "p",
        "state": "submitted", "lead_org_id": team.partners[0].id, "live_key": "x",
        "members-0-organisation_id": team.lead.id, "members-0-role": "lead",
        "members-0-work_share": "100", "members-1-organisation_id": team.partners[0].id,
        "members-1-role": "lead", "members-1-work_share": "0"})
    db.session.expire_all()
    bid = db.session.get(Bid, bid.id)
    assert bid.state == BidState.DRAFT and bid.lead_org_id == team.lead.id
    assert bid.live_key == f"org:{team.lead.id}"


def test_one_live_bid_per_party_in_service_and_database(app, db, team):
    bid = start_bid(app, team, request=False)
    with acting(app, team.lead_owner), pytest.raises(Conflict):
        services.create_bid(team.lead_owner, team.tender, f"org:{team.lead.id}", now())
    db.session.rollback()
    # The database refuses a second live bid even if the service check were bypassed.
    with pytest.raises(IntegrityError):
        db.session.add(Bid(tender_id=team.tender.id, party_org_id=team.lead.id,
                           lead_org_id=team.lead.id, live_key=f"org:{team.lead.id}"))
        db.session.flush()
    db.session.rollback()
    # Withdrawn bids free the slot.
    with acting(app, team.lead_owner):
        services.withdraw(team.lead_owner, bid.id, now())
        again = services.create_bid(team.lead_owner, team.tender, f"org:{team.lead.id}", now())
        db.session.commit()
    assert again.id != bid.id
    assert db.session.get(Bid, bid.id).live_key is None


def test_state_and_keys_cannot_disagree(app, db, team):
    bid = start_bid(app, team, request=False)
    bid.state = BidState.WITHDRAWN  # live_key left set: the CHECK constraint refuses it
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    bid = db.session.get(Bid, bid.id)
    bid.award_flag = True  # flagged as the award while still a draft
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_versions_and_approvals_are_immutable(app, db, team):
    bid = start_bid(app, team)
    version = services.current_version(bid)
    version.content_hash = "0" * 64
    with pytest.raises(FrozenRowChanged):
        db.session.flush()
    db.session.rollback()


def test_alliance_party_and_members(app, db, team, make_org):
    alliance = make_alliance("Roof Alliance", team.lead, *team.partners)
    parties = dict(services.parties_for(team.lead_owner, team.tender))
    key = f"alliance:{alliance.id}:{team.lead.id}"
    assert key in parties
    # A plain member of the alliance cannot bid for it.
    assert not any(k.startswith("alliance:") for k in dict(
        services.parties_for(team.partner_owners[0], team.tender)))
    with acting(app, team.lead_owner):
        bid = services.create_bid(team.lead_owner, team.tender, key, now())
        services.add_alliance_members(team.lead_owner, bid.id, bid.version, now())
        db.session.commit()
    assert bid.live_key == f"alliance:{alliance.id}"
    assert {m.organisation_id for m in bid.members} == {team.lead.id, team.partners[0].id}
    with acting(app, team.partner_owners[0]), pytest.raises(PermissionDenied):
        services.create_bid(team.partner_owners[0], team.tender, key, now())


def test_buyer_cannot_bid_on_own_tender(app, db, team):
    assert services.parties_for(team.buyer_owner, team.tender) == []
    bid = start_bid(app, team, request=False)
    with acting(app, team.lead_owner), pytest.raises(ValidationFailed):
        services.add_member(team.lead_owner, bid.id, bid.version, team.buyer, BidRole.MEMBER,
                            now())


def test_eligibility_union_gaps_and_expired_certificates(app, db, team, make_org):
    bid = start_bid(app, team, request=False)
    result = eligibility.check_bid(bid, now())
    by_value = {c.value: c for c in result.checks}
    assert by_value["roofing"].covered_by == ["Lead Roofing"]
    assert by_value["scaffolding"].covered_by == ["Partner Firm 0"]
    assert by_value["ISO 9001"].covered
    assert by_value["45260000"].covered  # 45261000 and 45262100 lie inside it
    assert [g.value for g in result.gaps] == ["CHAS"]
    # An expired certificate does not count, and the gap says why.
    give_profile(make_org(name="Expired Ltd"), certs=[("CHAS", date(2020, 1, 1))])
    from marketplace.models import Organisation
    orgs = [m.organisation for m in bid.members] + [
        db.session.scalar(select(Organisation).where(Organisation.name == "Expired Ltd"))]
    chas = {c.value: c for c in eligibility.check(team.tender, orgs, now()).checks}["CHAS"]
    assert not chas.covered and "expired" in chas.note


@pytest.mark.parametrize("member, required, covered", [
    ("45261000", "45261000", True), ("45261210", "45000000", True),
    ("45260000", "45261210", True), ("45000000", "45261210", False),
    ("45200000", "45261210", False), ("45310000", "45261000", False)])
def test_cpv_coverage_rule(member, required, covered):
    assert eligibility.cpv_covers(member, required) is covered


def test_tender_cpv_codes_are_requirements_when_none_listed(app, db, make_user, make_org):
    team = build_team(app, make_user, make_org, partners=0, cpv=("45261000", "71000000"))
    bid = start_bid(app, team, request=False)
    result = eligibility.check_bid(bid, now())
    assert [c.value for c in result.gaps] == ["71000000"]


def test_conflict_warning_only_to_the_organisation_in_both_bids(app, db, team, make_user,
                                                               make_org, client, login_as):
    bid = start_bid(app, team, request=False)
    other_owner = make_user()
    other_lead = make_org(other_owner, name="Other Lead")
    with acting(app, other_owner):
        other = services.create_bid(other_owner, team.tender, f"org:{other_lead.id}", now())
        services.add_member(other_owner, other.id, other.version, team.partners[0],
                            BidRole.SUBCONTRACTOR, now())
        db.session.commit()
    assert [(o.id, b.id) for o, b in services.conflicts_for(team.partner_owners[0], bid)] == [
        (team.partners[0].id, other.id)]
    assert services.conflicts_for(team.lead_owner, bid) == []
    assert services.conflicts_for(other_owner, other) == []
    login_as(team.partner_owners[0])
    page = client.get(f"/bids/{bid.id}").get_data(as_text=True)
    assert "Conflict of interest" in page
    login_as(team.lead_owner)
    page = client.get(f"/bids/{bid.id}").get_data(as_text=True)
    assert "Conflict of interest" not in page and f"bid {other.id}" not in page


def test_member_pages_render(app, db, client, login_as, team):
    bid = start_bid(app, team)
    login_as(team.partner_owners[0])
    for path in (f"/bids/{bid.id}", f"/bids/{bid.id}/history", f"/bids/{bid.id}/approve",
                 "/bids"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert "Approve version" in client.get(f"/bids/{bid.id}/approve").get_data(as_text=True)
    response = client.post(f"/bids/{bid.id}/approve", data={
        "version": bid.version, "organisation_id": team.partners[0].id, "confirm": "y"})
    assert response.status_code == 302
    login_as(team.lead_owner)
    response = client.post(f"/bids/{bid.id}/approve", data={
        "version": bid.version, "organisation_id": team.lead.id, "confirm": "y"})
    assert response.headers["Location"].endswith(f"/bids/{bid.id}/receipt")
    page = html(client.get(f"/bids/{bid.id}/receipt"))
    db.session.expire_all()
    assert db.session.get(Bid, bid.id).content_hash in page.select_one(".receipt").get_text()
    assert client.get(f"/bids/{bid.id}/edit").status_code == 200


def test_approval_needs_a_fresh_login(app, db, client, login_as, team):
    bid = start_bid(app, team)
    login_as(team.partner_owners[0], fresh=False)
    response = client.post(f"/bids/{bid.id}/approve", data={
        "version": bid.version, "organisation_id": team.partners[0].id, "confirm": "y"})
    assert response.status_code == 302 and "/reauthenticate" in response.headers["Location"]
    assert services.approvals_for(bid) == []


def test_start_bid_page_and_add_member_by_name(app, db, client, login_as, team):
    login_as(team.lead_owner)
    assert client.get(f"/tenders/{team.tender.id}/bids/new").status_code == 200
    response = client.post(f"/tenders/{team.tender.id}/bids/new",
                           data={"party": f"org:{team.lead.id}"})
    assert response.status_code == 302
    bid = db.session.scalar(select(Bid))
    response = client.post(f"/bids/{bid.id}/members", data={
        "version": bid.version, "organisation": "Partner Firm 0", "role": "subcontractor"})
    assert response.status_code == 302
    db.session.expire_all()
    assert [m.role for m in db.session.get(Bid, bid.id).members] == [BidRole.LEAD,
                                                                   BidRole.SUBCONTRACTOR]
    # Another party cannot be chosen by id tampering.
    response = client.post(f"/tenders/{team.tender.id}/bids/new",
                           data={"party": f"org:{team.partners[0].id}"})
    assert response.status_code == 200 and form_errors(response)


def test_invalidate_bids_for_and_reapproval(app, db, team, make_user, make_org):
    submitted = start_bid(app, team)
    approve_all(app, team, submitted)
    other_owner = make_user()
    other_lead = make_org(other_owner, name="Draft Co")
    with acting(app, other_owner):
        draft = services.create_bid(other_owner, team.tender, f"org:{other_lead.id}", now())
        db.session.commit()
    with acting(app, team.buyer_owner):
        changed = services.invalidate_bids_for(team.tender, now())
        db.session.commit()
    assert [b.id for b in changed] == [submitted.id]
    db.session.refresh(submitted)
    db.session.refresh(draft)
    assert submitted.state == BidState.INVALIDATED and submitted.submitted_at is None
    assert draft.state == BidState.DRAFT
    assert submitted.live_key is not None  # still the party's one live bid
    old_version = submitted.version
    with acting(app, team.lead_owner):
        services.request_approval(team.lead_owner, submitted.id, old_version, now())
        db.session.commit()
    db.session.refresh(submitted)
    assert submitted.version == old_version + 1
    assert submitted.state == BidState.AWAITING_APPROVAL
    approve_all(app, team, submitted)
    db.session.refresh(submitted)
    assert submitted.state == BidState.SUBMITTED


def test_bids_needing_reminder(app, db, team, make_user, make_org):
    bid = start_bid(app, team)
    assert [o.id for o in services.bids_needing_reminder(team.tender)] == [
        team.lead.id, team.partners[0].id]
    approve_all(app, team, bid, skip_last=True)
    assert [o.id for o in services.bids_needing_reminder(team.tender)] == [team.partners[0].id]
    with acting(app, team.partner_owners[0]):
        services.approve(team.partner_owners[0], bid.id, team.partners[0].id, bid.version,
                         now())
        db.session.commit()
    assert services.bids_needing_reminder(team.tender) == []
    owner = make_user()
    org = make_org(owner)
    with acting(app, owner):
        services.create_bid(owner, team.tender, f"org:{org.id}", now())
        db.session.commit()
    assert [o.id for o in services.bids_needing_reminder(team.tender)] == [org.id]


def test_request_approval_refuses_incomplete_bid(app, db, team):
    bid = start_bid(app, team, request=False, proposal="")
    with acting(app, team.lead_owner), pytest.raises(ValidationFailed, match="proposal"):
        services.request_approval(team.lead_owner, bid.id, bid.version, now())


def test_withdraw_tells_members_and_is_audited(app, db, team):
    bid = start_bid(app, team)
    with acting(app, team.partner_owners[0]), pytest.raises(PermissionDenied):
        services.withdraw(team.partner_owners[0], bid.id, now())
    db.session.rollback()
    with acting(app, team.lead_owner):
        services.withdraw(team.lead_owner, bid.id, now())
        db.session.commit()
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "withdrawn"))
    assert db.session.scalars(select(Notification).where(
        Notification.kind == "bid_withdrawn")).all()


def test_buyer_deadline_reminder_window_is_not_our_business_but_deadline_is(app, db, team):
    assert team.tender.deadline > now() + timedelta(days=1)


def test_suggested_partner_is_prefilled_not_added(app, db, client, login_as, team):
    """Teaming board and team builder link to a new bid with ``member=<slug>``."""
    partner = team.partners[0]
    login_as(team.lead_owner)
    response = client.post(
        f"/tenders/{team.tender.id}/bids/new?member={partner.slug}",
        data={"party": f"org:{team.lead.id}"})
    assert response.status_code == 302
    assert f"member={partner.slug}" in response.headers["Location"]
    page = html(client.get(response.headers["Location"]))
    field = page.select_one("input[name=organisation]")
    assert field is not None and field.get("value") == partner.slug
    bid = db.session.scalar(select(Bid).where(Bid.tender_id == team.tender.id))
    assert [m.organisation_id for m in bid.members] == [team.lead.id]


def test_hostile_member_hint_is_ignored(app, db, client, login_as, team):
    login_as(team.lead_owner)
    response = client.post(f"/tenders/{team.tender.id}/bids/new?member=%22%3E%3Cx",
                           data={"party": f"org:{team.lead.id}"})
    assert "member=" not in response.headers["Location"]
