"""Tenders posted by buyer organisations, with their requirements, documents,
clarifications (public questions and answers) and teaming-board posts."""

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Enum,
    ForeignKey,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.base import Base, utcnow


class TenderStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"
    AWARDED = "awarded"
    CANCELLED = "cancelled"
    UNSUCCESSFUL = "unsuccessful"


class Tender(Base):
    __tablename__ = "tenders"
    __table_args__ = (UniqueConstraint("source", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TenderStatus] = mapped_column(
        Enum(TenderStatus, name="tender_status", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]),
        default=TenderStatus.DRAFT, index=True)
    town: Mapped[str | None] = mapped_column(String(120))
    region: Mapped[str | None] = mapped_column(String(120))
    postcode: Mapped[str | None] = mapped_column(String(12))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    budget_min: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    budget_max: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    deadline: Mapped[datetime | None] = mapped_column(index=True)
    # The IANA zone the buyer wrote the deadline in; the deadline itself is UTC.
    deadline_zone: Mapped[str] = mapped_column(String(64), default="Europe/London")
    published_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(1000))
    # When the terms of an open tender last changed (bids made before need re-approval).
    terms_changed_at: Mapped[datetime | None]
    # Imported notices keep their origin, credited on the page with the licence.
    source: Mapped[str | None] = mapped_column(String(80))
    source_id: Mapped[str | None] = mapped_column(String(200))
    source_url: Mapped[str | None] = mapped_column(String(500))
    source_publisher: Mapped[str | None] = mapped_column(String(200))
    source_licence: Mapped[str | None] = mapped_column(String(120))
    original_buyer_name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    buyer: Mapped["Organisation"] = relationship()  # noqa: F821
    cpv_codes: Mapped[list["TenderCpvCode"]] = relationship(
        cascade="all, delete-orphan", order_by="TenderCpvCode.code")
    requirements: Mapped[list["TenderRequirement"]] = relationship(
        cascade="all, delete-orphan", order_by="TenderRequirement.position")
    documents: Mapped[list["TenderDocument"]] = relationship(
        cascade="all, delete-orphan", order_by="TenderDocument.id")

    @property
    def is_imported(self) -> bool:
        return self.source is not None

    __mapper_args__ = {"version_id_col": version}


class TenderCpvCode(Base):
    __tablename__ = "tender_cpv_codes"
    __table_args__ = (UniqueConstraint("tender_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"),
                                           index=True)
    code: Mapped[str] = mapped_column(String(8), index=True)


class RequirementKind(enum.StrEnum):
    CAPABILITY = "capability"
    CPV = "cpv"
    CERTIFICATION = "certification"


class TenderRequirement(Base):
    """One thing the winner must cover: a capability tag, a CPV code or a certification."""

    __tablename__ = "tender_requirements"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"),
                                           index=True)
    kind: Mapped[RequirementKind] = mapped_column(
        Enum(RequirementKind, name="requirement_kind", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]))
    value: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)


class TenderDocument(Base):
    """A file attached to a tender; the bytes live under instance/uploads/documents."""

    __tablename__ = "tender_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"),
                                           index=True)
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    original_name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Clarification(Base):
    """A public question on a tender and the buyer's public answer.

    Who asked is kept only to tell the asker about the answer; no page shows it, the
    buyer's included, so that a question never marks a firm as a likely bidder.
    """

    __tablename__ = "tender_clarifications"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"),
                                           index=True)
    asker_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"))
    asker_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    question: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class TeamingKind(enum.StrEnum):
    INTERESTED = "interested"
    PARTNER_WANTED = "partner_wanted"


class TeamingPost(Base):
    """An organisation's note on a tender's teaming board: interested, or looking for a
    partner for something. One per organisation per tender; withdrawing keeps the row."""

    __tablename__ = "teaming_posts"
    __table_args__ = (UniqueConstraint("tender_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"),
                                           index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[TeamingKind] = mapped_column(
        Enum(TeamingKind, name="teaming_kind", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]))
    looking_for: Mapped[str] = mapped_column(String(300), default="")
    message: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]

    organisation: Mapped["Organisation"] = relationship()  # noqa: F821


class TenderReminder(Base):
    """Ledger of deadline reminders: one per tender per organisation, ever."""

    __tablename__ = "tender_reminders"
    __table_args__ = (UniqueConstraint("tender_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
