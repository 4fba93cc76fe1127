"""Telling people things: an in-app inbox row and, optionally, an e-mail (via the outbox)."""

from collections.abc import Iterable

from sqlalchemy import func, select, update

from marketplace import mail
from marketplace.clock import now
from marketplace.extensions import db
from marketplace.models import Notification, User


def notify(users: Iterable[User], kind: str, title: str, *, body: str = "",
           link: str | None = None, email_template: str | None = None,
           sensitive: bool = False, sealed_tender_id: int | None = None,
           **email_context) -> list[Notification]:
    """One inbox entry per distinct user; an e-mail too when ``email_template`` is given.

    ``sensitive`` marks e-mails whose text must not be shown in the admin outbox;
    ``sealed_tender_id`` hides them there entirely until that tender's deadline.
    """
    rows = []
    seen: set[int] = set()
    for user in users:
        if user.id in seen or user.is_suspended:
            continue
        seen.add(user.id)
        row = Notification(user_id=user.id, kind=kind, title=title[:200], body=body[:1000],
                           link=link, created_at=now())
        db.session.add(row)
        rows.append(row)
        if email_template:
            mail.queue_email(user.email, title, email_template, sensitive=sensitive,
                             sealed_tender_id=sealed_tender_id, user=user,
                             link=link, **email_context)
    db.session.flush()
    return rows


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None))) or 0


def mark_read(user: User, notification_ids: Iterable[int] | None = None) -> None:
    query = update(Notification).where(Notification.user_id == user.id,
                                       Notification.read_at.is_(None))
    if notification_ids is not None:
        query = query.where(Notification.id.in_(list(notification_ids)))
    db.session.execute(query.values(read_at=now()))
