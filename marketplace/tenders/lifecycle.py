"""A tender's state against the server clock.

Design: the deadline, not a job, decides when a tender closes. An ``open`` tender whose
deadline is at or before ``now`` *is* closed, everywhere, at once: pages, lists, filters and
every service read ``effective_status(tender, now)`` (or the matching SQL clause), with ``now``
read once per request from ``marketplace.clock``. The stored status catches up later:
``close_due_tenders(now)`` (run by ``flask tenders close-due`` from cron, every few
minutes) writes ``closed``, the audit event and the search-outbox row; any write service that
finds a due tender calls ``close_if_due`` first, so a state change is never stacked on a
stale ``open``. GET requests never write.

The instant itself belongs to the closed side: at ``now == deadline`` the tender is closed
(ProZorro's rule; "submit by 12:00" means 12:00:00.000000 is late).
"""

from datetime import datetime

from sqlalchemy import and_, or_, select

from marketplace import audit
from marketplace.extensions import db
from marketplace.models import Tender, TenderStatus
from marketplace.search_outbox import record_change

LIVE_STATES = frozenset({TenderStatus.DRAFT, TenderStatus.OPEN})
FINAL_STATES = frozenset({TenderStatus.AWARDED, TenderStatus.CANCELLED,
                          TenderStatus.UNSUCCESSFUL})


def deadline_passed(tender: Tender, now: datetime) -> bool:
    return tender.deadline is not None and now >= tender.deadline


def effective_status(tender: Tender, now: datetime) -> TenderStatus:
    if tender.status == TenderStatus.OPEN and deadline_passed(tender, now):
        return TenderStatus.CLOSED
    return tender.status


def is_open(tender: Tender, now: datetime) -> bool:
    """Open for bids, questions, edits of terms and teaming posts."""
    return effective_status(tender, now) == TenderStatus.OPEN


def status_clause(status: TenderStatus, now: datetime):
    """SQL condition for 'tenders whose effective status is ``status``'."""
    if status == TenderStatus.OPEN:
        return and_(Tender.status == TenderStatus.OPEN, Tender.deadline > now)
    if status == TenderStatus.CLOSED:
        return or_(Tender.status == TenderStatus.CLOSED,
                   and_(Tender.status == TenderStatus.OPEN, Tender.deadline <= now))
    return Tender.status == status


def lock_tender(tender_id: int) -> Tender:
    """Re-read the tender under a row lock (PostgreSQL; SQLite writers are serial already),
    so two writers never both act on what they read before the other committed."""
    tender = db.session.scalar(select(Tender).where(Tender.id == tender_id)
                               .with_for_update().execution_options(populate_existing=True))
    if tender is None:
        from marketplace.errors import NotFound

        raise NotFound("No such tender.")
    return tender


def _close(tender: Tender, now: datetime) -> None:
    tender.status = TenderStatus.CLOSED
    tender.closed_at = tender.deadline
    db.session.flush()
    # actor=None on purpose: the clock closed it, whoever happened to trigger the write.
    audit.record("tender", tender.id, "closed", version=tender.version, actor=_system(),
                 deadline=tender.deadline.isoformat(), recorded_at=now.isoformat())
    record_change("tender", tender.id)


def close_if_due(tender: Tender, now: datetime) -> bool:
    """Persist the closing of a locked tender whose deadline has passed. Returns True if
    it closed it now."""
    if tender.status == TenderStatus.OPEN and deadline_passed(tender, now):
        _close(tender, now)
        return True
    return False


def close_due_tenders(now: datetime, *, batch: int = 500) -> int:
    """Write ``closed`` for every open tender whose deadline is at or before ``now``
    (caller commits). Safe to run from several hosts: each row is re-checked under lock."""
    ids = list(db.session.scalars(
        select(Tender.id).where(Tender.status == TenderStatus.OPEN, Tender.deadline <= now)
        .order_by(Tender.deadline, Tender.id).limit(batch)))
    closed = 0
    for tender_id in ids:
        if close_if_due(lock_tender(tender_id), now):
            closed += 1
    return closed


class _System:
    """Stands for the server clock as the actor of automatic transitions."""

    id = None


def _system() -> _System:
    return _System()
