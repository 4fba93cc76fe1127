"""Alerts: saved searches and "tenders for you", notified once, e-mailed in a daily digest."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from marketplace.errors import NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import AlertMatch, EmailMessage, Notification, TenderStatus
from marketplace.search import alerts, indexer
from marketplace.search_outbox import record_change
from tests.search.test_pipeline import path_of, published_org
from tests.tendering import make_tender


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def notifications_of(user) -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(
        Notification.user_id == user.id, Notification.kind == "tender_alert")))


@pytest.fixture
def setting(make_user, make_org, index_now):
    roofer_owner = make_user(name="Rita Roofer")
    roofer = published_org(lambda **kw: make_org(roofer_owner, **kw), "Brightwater Roofing")
    published_org(make_org, "Pixel Forge", caps=("web design",), cpv=("72212000",),
                  description="Websites for councils.")
    searcher_user = make_user(name="Sam Searcher")
    other_user = make_user(name="Olive Other")
    buyer = make_org(name="Avonmere Council", is_buyer=True)
    index_now()
    saved = alerts.save_search(searcher_user, {"q": "roof repairs", "status": "open",
                                               "page": "2"}, label="Roofs")
    alerts.save_search(other_user, {"q": "catering"})
    sub = alerts.subscribe_tenders_for(roofer_owner, roofer)
    db.session.commit()
    return {"roofer_owner": roofer_owner, "roofer": roofer, "searcher": searcher_user,
            "other": other_user, "buyer": buyer, "saved": saved, "sub": sub}


def publish(buyer, **kw):
    tender = make_tender(buyer, **kw)
    record_change("tender", tender.id)
    db.session.commit()
    return tender


def test_new_open_tender_notifies_matching_alerts_once(app, setting, index_now):
    tender = publish(setting["buyer"], title="Roof repairs at three schools")
    stats = index_now()
    assert stats.alerts == 2
    mine = notifications_of(setting["searcher"])
    assert len(mine) == 1 and "Roof repairs" in mine[0].title
    assert mine[0].link == f"/tenders/{tender.id}"
    assert len(notifications_of(setting["roofer_owner"])) == 1
    assert notifications_of(setting["other"]) == []

    # the tender is edited (indexed again), and a crash makes the indexer re-apply everything
    record_change("tender", tender.id)
    db.session.commit()
    index_now()
    indexer.write_state(path_of(app), indexer.State())
    index_now()
    assert len(notifications_of(setting["searcher"])) == 1
    assert len(notifications_of(setting["roofer_owner"])) == 1
    assert count(AlertMatch) == 2


def test_drafts_and_closed_tenders_raise_no_alert(app, setting, index_now):
    publish(setting["buyer"], title="Roof repairs draft", status=TenderStatus.DRAFT)
    publish(setting["buyer"], title="Roof repairs gone",
            deadline=datetime.now(UTC) - timedelta(hours=1))
    index_now()
    assert count(AlertMatch) == 0
    assert notifications_of(setting["searcher"]) == []


def test_daily_digest_sends_each_match_once(app, setting, index_now):
    publish(setting["buyer"], title="Roof repairs at three schools")
    publish(setting["buyer"], title="Slate roof repairs at the library")
    index_now()
    with app.test_request_context("/"):
        assert alerts.send_digests() == 2  # the searcher and the roofer's owner
        db.session.commit()
        assert alerts.send_digests() == 0
    mail = db.session.scalars(select(EmailMessage).where(
        EmailMessage.to_address == setting["searcher"].email)).all()
    assert len(mail) == 1 and "2 new tenders" in mail[0].subject
    assert "Slate roof repairs" in mail[0].body_text
    assert db.session.get(type(setting["saved"]), setting["saved"].id).last_sent_at


def test_alerts_send_command(app, setting, index_now, runner):
    publish(setting["buyer"], title="Roof repairs at three schools")
    index_now()
    result = runner.invoke(args=["alerts", "send"])
    assert result.exit_code == 0, result.output
    assert "Queued 2 digest" in result.output


def test_saved_search_services(app, setting, make_user, make_org):
    user = setting["searcher"]
    assert [s.params for s in alerts.saved_searches_for(user)] == [
        {"q": "roof repairs", "status": "open"}]  # "page" is not part of a search
    assert alerts.save_search(user, {"q": "roof repairs", "status": "open"}).id == \
        setting["saved"].id  # saving twice keeps one
    with pytest.raises(ValidationFailed):
        alerts.save_search(user, {"status": "open"})
    with pytest.raises(ValidationFailed):
        alerts.save_search(user, {"q": "x" * 500})
    with pytest.raises(ValidationFailed):
        alerts.save_search(user, {"q": "roof", "Bad-Key": "1"})
    with pytest.raises(NotFound):
        alerts.delete_saved_search(setting["other"], setting["saved"].id)
    with pytest.raises(PermissionDenied):
        alerts.subscribe_tenders_for(user, setting["roofer"])
    alerts.delete_saved_search(user, setting["saved"].id)
    db.session.commit()
    assert alerts.saved_searches_for(user) == []
