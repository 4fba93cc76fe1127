"""The teaming board: posts by organisations on open tenders, contact between firms, and
links to invite a firm to an alliance or to a bid."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    Alliance,
    AllianceMember,
    AllianceRole,
    EmailMessage,
    Notification,
    TeamingKind,
    TeamingPost,
)
from tests.conftest import html
from tests.tendering import make_actors, make_tender


@pytest.fixture
def actors(make_user, make_org):
    return make_actors(make_user, make_org)


@pytest.fixture
def board(client, actors, login_as, make_user, make_org):
    """An open tender with a post by 'Severn Roofing' (the outsider's organisation)."""
    tender = make_tender(actors.buyer.org)
    login_as(actors.outsider)
    client.post(f"/tenders/{tender.id}/teaming", data={
        "kind": "partner_wanted", "looking_for": "electrical installation",
        "message": "We do the roofs; we need an electrician."})
    partner_owner = make_user(name="Pat Partner")
    partner = make_org(partner_owner, name="Bath Sparks")
    return tender, partner, partner_owner


def test_post_appears_on_the_board_for_logged_in_users(client, actors, login_as, board):
    tender, _partner, partner_owner = board
    post = db.session.scalars(select(TeamingPost)).one()
    assert (post.kind, post.looking_for) == (TeamingKind.PARTNER_WANTED,
                                             "electrical installation")
    login_as(partner_owner)
    page = html(client.get(f"/tenders/{tender.id}/teaming"))
    card = page.select_one(".teaming-post")
    assert "Severn Roofing" in card.get_text() and "electrical installation" in card.get_text()
    with client.session_transaction() as session:
        session.clear()
    response = client.get(f"/tenders/{tender.id}/teaming")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_posting_again_updates_the_one_post_and_withdraw_removes_it(client, actors, login_as,
                                                                    board):
    tender, *_ = board
    login_as(actors.outsider)
    client.post(f"/tenders/{tender.id}/teaming", data={"kind": "interested"})
    post = db.session.scalars(select(TeamingPost)).one()
    assert (post.kind, post.looking_for) == (TeamingKind.INTERESTED, "")
    client.post(f"/tenders/{tender.id}/teaming/withdraw")
    db.session.expire_all()
    assert db.session.scalars(select(TeamingPost)).one().withdrawn_at is not None
    assert html(client.get(f"/tenders/{tender.id}/teaming")).select(".teaming-post") == []


@pytest.mark.parametrize("who", ["buyer", "member_without_role", "no_org"])
def test_who_may_not_post(client, actors, login_as, make_user, make_org, who):
    tender = make_tender(actors.buyer.org)
    if who == "buyer":
        user = actors.buyer.owner
    elif who == "member_without_role":
        user = make_user()
        make_org(name="Some Firm", members={user: "member"})
    else:
        user = make_user()
    login_as(user)
    client.post(f"/tenders/{tender.id}/teaming", data={"kind": "interested"})
    assert db.session.scalars(select(TeamingPost)).all() == []


def test_partner_wanted_needs_what_for(client, actors, login_as):
    tender = make_tender(actors.buyer.org)
    login_as(actors.outsider)
    client.post(f"/tenders/{tender.id}/teaming", data={"kind": "partner_wanted"})
    assert db.session.scalars(select(TeamingPost)).all() == []


def test_board_closes_with_the_tender(client, actors, login_as):
    tender = make_tender(actors.buyer.org, deadline=datetime.now(UTC) - timedelta(seconds=1))
    login_as(actors.outsider)
    client.post(f"/tenders/{tender.id}/teaming", data={"kind": "interested"})
    assert db.session.scalars(select(TeamingPost)).all() == []
    assert "teaming board is closed" in client.get(f"/tenders/{tender.id}/teaming").get_data(
        as_text=True)


def test_contact_sends_inbox_and_mail_to_the_posting_firms_managers(client, actors, login_as,
                                                                    board):
    tender, _partner, partner_owner = board
    post = db.session.scalars(select(TeamingPost)).one()
    login_as(partner_owner)
    response = client.post(f"/tenders/{tender.id}/teaming/{post.id}/contact",
                           data={f"p{post.id}-message": "We are electricians in Bath."})
    assert response.status_code == 302
    [note] = db.session.scalars(select(Notification).where(
        Notification.kind == "teaming_contact")).all()
    assert note.user_id == actors.outsider.id and "Bath Sparks" in note.title
    assert note.link == f"/tenders/{tender.id}/teaming"
    [mail] = db.session.scalars(select(EmailMessage)).all()
    assert mail.to_address == actors.outsider.email
    assert "We are electricians in Bath." in mail.body_text
    assert partner_owner.email in mail.body_text  # so they can reply


def test_contact_refusals(client, actors, login_as, board, make_user):
    tender, *_ = board
    post = db.session.scalars(select(TeamingPost)).one()
    url = f"/tenders/{tender.id}/teaming/{post.id}/contact"
    data = {f"p{post.id}-message": "Hello there, shall we team up?"}
    login_as(actors.outsider)  # own post
    client.post(url, data=data)
    login_as(make_user())  # no organisation
    client.post(url, data=data)
    assert db.session.scalars(select(Notification).where(
        Notification.kind == "teaming_contact")).all() == []
    other = make_tender(actors.buyer.org, title="Another tender")
    login_as(actors.buyer.owner)
    assert client.post(f"/tenders/{other.id}/teaming/{post.id}/contact",
                       data=data).status_code == 404


def test_invite_links_to_a_bid_and_to_the_alliances_the_firm_leads(client, actors, login_as,
                                                                   board):
    tender, partner, partner_owner = board
    alliance = Alliance(name="Bath Builders", slug="bath-builders")
    alliance.members = [AllianceMember(organisation_id=partner.id, role=AllianceRole.LEAD)]
    db.session.add(alliance)
    db.session.commit()
    login_as(partner_owner)
    page = html(client.get(f"/tenders/{tender.id}/teaming"))
    links = [a["href"] for a in page.select(".invite-links a")]
    slug = actors.outsider_org.slug
    if "bids.new" in client.application.view_functions:
        assert f"/tenders/{tender.id}/bids/new?member={slug}" in links
    if "alliances.members" in client.application.view_functions:
        assert f"/alliances/bath-builders/members?invite={slug}" in links
