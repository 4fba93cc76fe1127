"""The e-mail outbox: every message is a row first, delivered after the commit."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.models.base import Base, utcnow


class MailStatus(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    LOGGED = "logged"  # no MAIL_SERVER: kept here for the admin outbox page
    FAILED = "failed"


class EmailMessage(Base):
    __tablename__ = "email_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body_text: Mapped[str] = mapped_column(Text)
    # Messages that carry secrets (reset links) or sealed bid details: the admin outbox
    # shows only their envelope.
    sensitive: Mapped[bool] = mapped_column(default=False)
    # Mail about a sealed bid: the admin outbox hides it entirely (envelope included, so
    # not even the number of bids shows) until this tender's deadline has passed. The
    # tender, not a timestamp, is stored, so that an extended deadline keeps it sealed.
    sealed_tender_id: Mapped[int | None] = mapped_column(
        ForeignKey("tenders.id", ondelete="SET NULL"), index=True)
    status: Mapped[MailStatus] = mapped_column(
        Enum(MailStatus, name="mail_status", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]),
        default=MailStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
