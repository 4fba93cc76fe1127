"""The in-app inbox: a user's own notifications, marking read, the unread count in the
navigation."""

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Notification
from tests.conftest import html


@pytest.fixture
def inbox(make_user):
    me, someone = make_user(name="Me"), make_user(name="Someone")
    rows = [Notification(user_id=me.id, kind="bid_invitation", title=f"Invitation {i}",
                         body="Body <b>text</b>", link=f"/tenders/{i}") for i in range(3)]
    rows.append(Notification(user_id=someone.id, kind="x", title="Not yours", link="/"))
    rows.append(Notification(user_id=me.id, kind="x", title="Evil link", link="//evil.com"))
    db.session.add_all(rows)
    db.session.commit()
    return me, someone, rows


def nav_count(response) -> str | None:
    badge = html(response).select_one(".nav-count")
    return badge.get_text(strip=True) if badge else None


def test_inbox_lists_only_my_notifications_escaped(client, login_as, inbox):
    me, _, _ = inbox
    login_as(me)
    response = client.get("/inbox")
    titles = [t.get_text(strip=True) for t in html(response).select(".inbox-title strong")]
    assert titles[:1] == ["Evil link"] and "Not yours" not in titles and len(titles) == 4
    assert "<b>text</b>" not in response.get_data(as_text=True)
    assert "&lt;b&gt;text&lt;/b&gt;" in response.get_data(as_text=True)


def test_unread_count_in_the_navigation(client, login_as, inbox):
    me, _, _ = inbox
    login_as(me)
    assert nav_count(client.get("/tenders")) == "4"
    client.post("/inbox/read-all")
    assert nav_count(client.get("/tenders")) is None


def test_open_marks_read_and_follows_the_link(client, login_as, inbox):
    me, _, rows = inbox
    login_as(me)
    response = client.post(f"/inbox/{rows[1].id}/open")
    assert response.status_code == 302 and response.headers["Location"] == "/tenders/1"
    db.session.expire_all()
    assert db.session.get(Notification, rows[1].id).read_at is not None
    assert nav_count(client.get("/inbox")) == "3"


def test_hostile_links_are_not_followed(client, login_as, inbox):
    me, _, rows = inbox
    login_as(me)
    response = client.post(f"/inbox/{rows[4].id}/open")
    assert response.headers["Location"] == "/inbox"


def test_mark_one_read_and_filter_unread(client, login_as, inbox):
    me, _, rows = inbox
    login_as(me)
    client.post(f"/inbox/{rows[0].id}/read")
    page = html(client.get("/inbox?show=unread"))
    assert "Invitation 0" not in page.get_text() and "Invitation 1" in page.get_text()


def test_someone_elses_notification_is_404(client, login_as, inbox):
    me, _someone, rows = inbox
    login_as(me)
    assert client.post(f"/inbox/{rows[3].id}/read").status_code == 404
    assert client.post(f"/inbox/{rows[3].id}/open").status_code == 404
    db.session.expire_all()
    assert db.session.get(Notification, rows[3].id).read_at is None


def test_reading_never_happens_on_get(client, login_as, inbox):
    me, _, rows = inbox
    login_as(me)
    assert client.get(f"/inbox/{rows[0].id}/open").status_code == 405
    client.get("/inbox")
    assert all(n.read_at is None for n in db.session.scalars(select(Notification)))


@pytest.mark.parametrize("page", ["0", "-3", "abc", "999999999999", "2"])
def test_bad_pages_never_500(client, login_as, inbox, page):
    login_as(inbox[0])
    assert client.get(f"/inbox?page={page}").status_code == 200


def test_anonymous_is_sent_to_login(client):
    assert "/login" in client.get("/inbox").headers["Location"]
    assert "/login" in client.post("/inbox/read-all").headers["Location"]
