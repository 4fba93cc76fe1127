"""The server clock rules: tenders close at the deadline, on every page at once, and every
tender action compares the request's one "now" with the deadline. Driven by time-machine at
the deadline -1 µs, at the deadline and +1 µs."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import EmailMessage, Notification, TenderStatus
from tests.conftest import html
from tests.tendering import (
    events,
    install_bids_stub,
    make_actors,
    make_tender,
    reload,
    tender_form,
)

DEADLINE = datetime(2031, 6, 2, 11, 0, tzinfo=UTC)  # 12:00 in London (BST)
US = timedelta(microseconds=1)
MOMENTS = {"before": DEADLINE - US, "at": DEADLINE, "after": DEADLINE + US}


@pytest.fixture
def actors(make_user, make_org):
    return make_actors(make_user, make_org)


@pytest.fixture
def bids_hook(monkeypatch):
    return install_bids_stub(monkeypatch)


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


@pytest.fixture
def login_as(login_as):
    """Log in at the travelled-to time: a session from "today" would be years old in 2031."""
    pending = []

    def login(user):
        pending.append(user)

    login.apply = lambda: [login_as(u) for u in pending]
    return login


@pytest.mark.parametrize("moment", MOMENTS)
def test_status_everywhere_follows_the_deadline_before_any_job_ran(client, actors, moment):
    tender = make_tender(actors.buyer.org, deadline=DEADLINE, title="Clockwork roofs")
    with at(MOMENTS[moment]):
        page = html(client.get(f"/tenders/{tender.id}"))
        status = page.select_one(".page-head .tender-status").get_text(strip=True)
        open_list = client.get("/tenders").get_data(as_text=True)
        closed_list = client.get("/tenders?status=closed").get_data(as_text=True)
    assert reload(tender).status == TenderStatus.OPEN  # nothing was written by reading
    if moment == "before":
        assert status == "Open"
        assert "Clockwork roofs" in open_list and "Clockwork roofs" not in closed_list
    else:
        assert status == "Closed"
        assert "Clockwork roofs" not in open_list and "Clockwork roofs" in closed_list
        assert "Deadline passed" in page.select_one("[data-countdown-text]").get_text()


@pytest.mark.parametrize("moment", MOMENTS)
def test_edit_is_allowed_only_before_the_deadline(client, actors, login_as, bids_hook, moment):
    tender = make_tender(actors.buyer.org, deadline=DEADLINE)
    login_as(actors.buyer.owner)
    with at(MOMENTS[moment]):
        login_as.apply()
        response = client.post(f"/tenders/{tender.id}/edit", data=tender_form(
            title="Edited at the wire", version="1", deadline_zone="UTC",
            deadline_local=DEADLINE.strftime("%Y-%m-%dT%H:%M")))
    tender = reload(tender)
    if moment == "before":
        assert response.status_code == 302
        assert tender.title == "Edited at the wire"
        # Less than 2 days were left: the deadline moved so that exactly 2 days remain
        # (rounded up to the minute).
        assert tender.deadline == DEADLINE + timedelta(days=2)
        assert len(bids_hook["invalidate"]) == 1
    else:
        assert response.status_code == 302  # back to the page, which says it is closed
        assert tender.title != "Edited at the wire" and tender.version == 1
        assert bids_hook["invalidate"] == []


@pytest.mark.parametrize("moment", MOMENTS)
def test_edit_service_refuses_at_and_after_the_deadline(app, actors, bids_hook, moment):
    """The service checks too, whatever a view did: one "now", compared with the deadline."""
    from marketplace.errors import InvalidState
    from marketplace.tenders import services
    from tests.tendering import tender_terms

    tender = make_tender(actors.buyer.org, deadline=DEADLINE)
    with at(MOMENTS[moment]), app.test_request_context("/", method="POST"):
        from marketplace.clock import now

        terms = tender_terms(deadline=DEADLINE + timedelta(days=5))
        if moment == "before":
            services.update_tender(actors.buyer.owner, tender, terms, 1, now())
            assert tender.deadline == DEADLINE + timedelta(days=5)
        else:
            with pytest.raises(InvalidState, match="deadline has passed"):
                services.update_tender(actors.buyer.owner, tender, terms, 1, now())
        db.session.rollback()


@pytest.mark.parametrize("moment", MOMENTS)
def test_publish_needs_the_deadline_ahead(client, actors, login_as, moment):
    tender = make_tender(actors.buyer.org, deadline=DEADLINE, status=TenderStatus.DRAFT)
    login_as(actors.buyer.owner)
    with at(MOMENTS[moment]):
        login_as.apply()
        client.post(f"/tenders/{tender.id}/publish", data={"version": "1"})
    expected = TenderStatus.OPEN if moment == "before" else TenderStatus.DRAFT
    assert reload(tender).status == expected


@pytest.mark.parametrize("moment", MOMENTS)
def test_cancel_works_on_both_sides_and_closing_is_recorded_first(client, actors, login_as,
                                                                  moment):
    tender = make_tender(actors.buyer.org, deadline=DEADLINE)
    login_as(actors.buyer.owner)
    with at(MOMENTS[moment]):
        login_as.apply()
        client.post(f"/tenders/{tender.id}/cancel",
                    data={"version": "1", "reason": "The works are no longer needed."})
    assert reload(tender).status == TenderStatus.CANCELLED
    actions = [e.action for e in events(tender.id)]
    assert actions == (["cancelled"] if moment == "before" else ["closed", "cancelled"])


@pytest.mark.parametrize("moment", MOMENTS)
def test_questions_and_teaming_posts_only_while_open(client, actors, login_as, moment):
    from marketplace.models import Clarification, TeamingPost

    tender = make_tender(actors.buyer.org, deadline=DEADLINE)
    login_as(actors.outsider)
    with at(MOMENTS[moment]):
        login_as.apply()
        client.post(f"/tenders/{tender.id}/questions", data={"question": "Is scaffolding in?"})
        client.post(f"/tenders/{tender.id}/teaming", data={"kind": "interested"})
    asked = db.session.scalars(select(Clarification)).all()
    posted = db.session.scalars(select(TeamingPost)).all()
    assert (len(asked), len(posted)) == ((1, 1) if moment == "before" else (0, 0))


@pytest.mark.parametrize("moment", MOMENTS)
def test_document_changes_stop_at_the_deadline(client, actors, login_as, bids_hook, moment):
    tender = make_tender(actors.buyer.org, deadline=DEADLINE)
    login_as(actors.buyer.owner)
    from io import BytesIO

    with at(MOMENTS[moment]):
        login_as.apply()
        client.post(f"/tenders/{tender.id}/documents", data={
            "version": "1", "file": (BytesIO(b"%PDF-1.7\n%%EOF\n"), "addendum.pdf")},
            content_type="multipart/form-data")
    tender = reload(tender)
    assert len(tender.documents) == (1 if moment == "before" else 0)
    if moment == "before":
        assert bids_hook["invalidate"]  # a new document changes the terms
        assert tender.deadline == DEADLINE + timedelta(days=2)


def test_close_due_tenders_job_is_idempotent_and_audited(app, actors, runner):
    due = make_tender(actors.buyer.org, deadline=DEADLINE)
    later = make_tender(actors.buyer.org, deadline=DEADLINE + timedelta(seconds=1))
    with at(DEADLINE - US):
        assert "Closed 0 tender(s)" in runner.invoke(args=["tenders", "close-due"]).output
    with at(DEADLINE):
        assert "Closed 1 tender(s)" in runner.invoke(args=["tenders", "close-due"]).output
        assert "Closed 0 tender(s)" in runner.invoke(args=["tenders", "close-due"]).output
    due, later = reload(due), reload(later)
    assert (due.status, later.status) == (TenderStatus.CLOSED, TenderStatus.OPEN)
    assert due.closed_at == DEADLINE
    [closed] = events(due.id)
    assert (closed.action, closed.actor_user_id, closed.version) == ("closed", None,
                                                                     due.version)


def test_reminders_once_per_tender_and_organisation_within_24_hours(
        app, actors, runner, monkeypatch, make_user, make_org):
    tender = make_tender(actors.buyer.org, deadline=DEADLINE)
    late_admin = make_user()
    firm_a = make_org(name="Firm A", members={late_admin: "admin"})
    firm_b = make_org(name="Firm B")
    calls = install_bids_stub(monkeypatch, needing_reminder={tender.id: [firm_a, firm_b]})

    def remind():
        return runner.invoke(args=["tenders", "remind"]).output

    with at(DEADLINE - timedelta(hours=24, microseconds=1)):
        assert "Sent 0 reminder(s)" in remind()
    with at(DEADLINE - timedelta(hours=23)):
        assert "Sent 2 reminder(s)" in remind()
        assert "Sent 0 reminder(s)" in remind()
    with at(DEADLINE):
        assert "Sent 0 reminder(s)" in remind()
    assert calls["remind"] == [tender.id, tender.id]
    reminded = {n.user_id for n in db.session.scalars(
        select(Notification).where(Notification.kind == "deadline_reminder"))}
    assert reminded == {m.user_id for org in (firm_a, firm_b) for m in org.memberships}
    assert actors.buyer.owner.id not in reminded
    mails = db.session.scalars(select(EmailMessage)).all()
    assert len(mails) == 3 and all("Less than 24 hours" in m.subject for m in mails)
    assert "Firm A" in next(m.body_text for m in mails if m.to_address == late_admin.email)
