"""Deadline reminders, 24 hours ahead: one per tender per organisation, ever.

The bids side knows who has an unfinished bid; it provides
``marketplace.bids.services.bids_needing_reminder(tender) -> Iterable[Organisation]``: the
member organisations of bids still in ``draft`` or ``awaiting_approval`` (each at most once).
The ledger table ``tender_reminders`` (unique per tender and organisation) makes a rerun of
``flask tenders remind``, or two hosts running it at once, send nothing twice.
"""

from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Tender, TenderReminder, TenderStatus
from marketplace.notifications import notify
from marketplace.tenders.clarifications import managers_of

REMINDER_WINDOW = timedelta(hours=24)


def _bids_needing_reminder(tender: Tender):
    try:
        from marketplace.bids import services as bids_services
    except ModuleNotFoundError as exc:
        if exc.name not in ("marketplace.bids", "marketplace.bids.services"):
            raise
        return []
    return bids_services.bids_needing_reminder(tender)


def tenders_due_for_reminders(now: datetime) -> list[Tender]:
    return list(db.session.scalars(select(Tender).where(
        Tender.status == TenderStatus.OPEN, Tender.deadline > now,
        Tender.deadline <= now + REMINDER_WINDOW).order_by(Tender.deadline, Tender.id)))


def send_deadline_reminders(now: datetime) -> int:
    """Queue reminders (inbox + e-mail) for organisations with an unfinished bid on a tender
    closing within 24 hours. Caller commits. Returns the number of organisations reminded."""
    sent = 0
    for tender in tenders_due_for_reminders(now):
        for org in _bids_needing_reminder(tender):
            with db.session.begin_nested():
                already = db.session.scalar(select(TenderReminder.id).where(
                    TenderReminder.tender_id == tender.id,
                    TenderReminder.organisation_id == org.id))
                if already:
                    continue
                db.session.add(TenderReminder(tender_id=tender.id, organisation_id=org.id,
                                              sent_at=now))
                db.session.flush()
            notify(managers_of(org.id), "deadline_reminder",
                   f"Less than 24 hours left: “{tender.title[:120]}”",
                   body="Your organisation's bid is not submitted yet. Every member "
                        "organisation must approve it before the deadline.",
                   link=url_for("tenders.show", tender_id=tender.id),
                   email_template="tender_reminder", sealed_tender_id=tender.id,
                   tender=tender, organisation=org)
            sent += 1
    return sent
