"""The search outbox: what the derived Whoosh index still has to apply.

A row is written in the same transaction as the change it describes, so the index can never
learn of a change that rolled back, nor miss one that committed.
"""

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.models.base import Base, utcnow


class SearchOutbox(Base):
    __tablename__ = "search_outbox"

    # SQLite only auto-increments INTEGER primary keys.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True)
    # "organisation", "alliance", "tender", "project"
    kind: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_search_outbox_kind_object", SearchOutbox.kind, SearchOutbox.object_id)


class SavedSearch(Base):
    """A user's alert: a saved search-page query (``kind="search"``, ``params`` = the page's
    query-string parameters) or "tenders for you" for one of their organisations
    (``kind="tenders_for"``, ``organisation_id`` set). New matching tenders go to the inbox at
    once and into a daily e-mail digest."""

    __tablename__ = "saved_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="search")
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sent_at: Mapped[datetime | None]


class AlertMatch(Base):
    """One tender matched by one alert: written once (the unique key makes notifying
    idempotent when the indexer re-applies rows after a crash), e-mailed in a digest later."""

    __tablename__ = "alert_matches"
    __table_args__ = (UniqueConstraint("saved_search_id", "tender_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    saved_search_id: Mapped[int] = mapped_column(
        ForeignKey("saved_searches.id", ondelete="CASCADE"))
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"),
                                           index=True)
    score: Mapped[float | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    emailed_at: Mapped[datetime | None]


class AlertScan(Base):
    """A published tender the alerts have been evaluated for (its first indexing)."""

    __tablename__ = "alert_scans"

    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"),
                                           primary_key=True)
    scanned_at: Mapped[datetime] = mapped_column(default=utcnow)
