"""Clarifications: any logged-in organisation asks, the buyer answers publicly, and nobody
learns who asked: not other firms, not the buyer, not a site admin, not the e-mails or the
tender's history. Only the asker's own organisation recognises its question."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Clarification, EmailMessage, Notification
from tests.conftest import html
from tests.tendering import events, make_actors, make_tender

QUESTION = "Does the price include scaffolding at the two Keynsham sites?"


@pytest.fixture
def actors(make_user, make_org):
    return make_actors(make_user, make_org)


@pytest.fixture
def asked(client, actors, login_as, make_user):
    actors.outsider.display_name = "Ruth Questioner"
    db.session.commit()
    tender = make_tender(actors.buyer.org)
    login_as(actors.outsider)
    response = client.post(f"/tenders/{tender.id}/questions", data={"question": QUESTION})
    assert response.status_code == 302
    return tender, db.session.scalars(select(Clarification)).one()


def asker_marks(text: str) -> list[str]:
    return [m for m in ("Severn Roofing", "Ruth Questioner", "Your organisation asked")
            if m in text]


def test_question_is_public_and_the_asker_is_hidden_from_everyone_else(
        client, actors, login_as, asked, make_user, make_org):
    tender, question = asked
    assert question.asker_org_id == actors.outsider_org.id  # kept, never shown
    other = make_user()
    make_org(other, name="Another Firm")
    viewers = {"anonymous": None, "buyer owner": actors.buyer.owner,
               "buyer member": actors.buyer.member, "other firm": other,
               "site admin": actors.site_admin}
    for who, viewer in viewers.items():
        with client.session_transaction() as session:
            session.clear()
        if viewer:
            login_as(viewer)
        for path in (f"/tenders/{tender.id}", f"/tenders/{tender.id}/history"):
            response = client.get(path)
            if response.status_code != 200:
                continue
            text = response.get_data(as_text=True)
            assert asker_marks(text) == [], (who, path)
        page = client.get(f"/tenders/{tender.id}").get_data(as_text=True)
        assert QUESTION in page, who


def test_the_asking_organisation_recognises_its_own_question(client, actors, login_as, asked):
    tender, _ = asked
    login_as(actors.outsider)
    page = html(client.get(f"/tenders/{tender.id}"))
    assert "Your organisation asked this" in page.select_one(".qa").get_text()


def test_buyer_is_told_of_a_question_without_who_asked(actors, asked):
    tender, _question = asked
    notes = db.session.scalars(select(Notification).where(
        Notification.kind == "tender_question")).all()
    assert {n.user_id for n in notes} == {actors.buyer.owner.id, actors.buyer.admin.id}
    mails = db.session.scalars(select(EmailMessage)).all()
    assert len(mails) == 2
    for text in [n.title + n.body for n in notes] + [m.subject + m.body_text for m in mails]:
        assert asker_marks(text) == []
        assert actors.outsider.email not in text
    assert QUESTION in mails[0].body_text
    assert events(tender.id) == []  # asking is not a tender state change; no actor trail


def test_buyer_answers_publicly_and_the_asker_is_told(client, actors, login_as, asked):
    tender, question = asked
    login_as(actors.buyer.admin)
    response = client.post(f"/tenders/{tender.id}/questions/{question.id}/answer",
                           data={"answer": "Yes, scaffolding is included."})
    assert response.status_code == 302
    db.session.expire_all()
    question = db.session.get(Clarification, question.id)
    assert question.answer == "Yes, scaffolding is included."
    assert question.answered_by_id == actors.buyer.admin.id
    with client.session_transaction() as session:
        session.clear()
    page = html(client.get(f"/tenders/{tender.id}"))
    assert "Yes, scaffolding is included." in page.select_one(".qa-answer").get_text()
    told = db.session.scalars(select(Notification).where(
        Notification.kind == "tender_answer")).all()
    assert [n.user_id for n in told] == [actors.outsider.id]
    [answered] = events(tender.id, "clarification_answered")
    assert answered.actor_user_id == actors.buyer.admin.id
    assert "asker" not in str(answered.details)
    # Once only.
    login_as(actors.buyer.admin)
    client.post(f"/tenders/{tender.id}/questions/{question.id}/answer",
                data={"answer": "Changed my mind."})
    db.session.expire_all()
    assert db.session.get(Clarification, question.id).answer == "Yes, scaffolding is included."


def test_only_the_buyers_managers_answer(client, actors, login_as, asked):
    tender, question = asked
    for user in (actors.outsider, actors.buyer.member, actors.site_admin):
        login_as(user)
        response = client.post(f"/tenders/{tender.id}/questions/{question.id}/answer",
                               data={"answer": "Sneaky answer"})
        assert response.status_code == 403
    db.session.expire_all()
    assert db.session.get(Clarification, question.id).answer is None


def test_answer_to_a_question_of_another_tender_is_404(client, actors, login_as, asked):
    _, question = asked
    mine = make_tender(actors.buyer.org, title="Another tender of ours")
    login_as(actors.buyer.owner)
    response = client.post(f"/tenders/{mine.id}/questions/{question.id}/answer",
                           data={"answer": "Wrong tender"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Clarification, question.id).answer is None


@pytest.mark.parametrize("case", ["buyer", "no_org", "imported", "closed", "short", "long"])
def test_who_and_when_questions_are_refused(client, actors, login_as, make_user, case):
    tender = make_tender(
        actors.buyer.org,
        source="uk_contracts_finder" if case == "imported" else None,
        source_id="ocds-1" if case == "imported" else None,
        deadline=datetime.now(UTC) - timedelta(minutes=1) if case == "closed" else None)
    user = {"buyer": actors.buyer.member, "no_org": make_user()}.get(case, actors.outsider)
    login_as(user)
    question = {"short": "Why", "long": "x" * 2001}.get(case, QUESTION)
    response = client.post(f"/tenders/{tender.id}/questions", data={"question": question})
    assert response.status_code == 302
    assert db.session.scalars(select(Clarification)).all() == []


def test_anonymous_cannot_ask(client, actors):
    tender = make_tender(actors.buyer.org)
    response = client.post(f"/tenders/{tender.id}/questions", data={"question": QUESTION})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert db.session.scalars(select(Clarification)).all() == []
