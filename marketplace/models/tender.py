"""Tenders posted by buyer organisations."""

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Enum, ForeignKey, Numeric, String, Text, UniqueConstraint
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
    published_at: Mapped[datetime | None]
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

    __mapper_args__ = {"version_id_col": version}


class TenderCpvCode(Base):
    __tablename__ = "tender_cpv_codes"
    __table_args__ = (UniqueConstraint("tender_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    tender_id: Mapped[int] = mapped_column(ForeignKey("tenders.id", ondelete="CASCADE"),
                                           index=True)
    code: Mapped[str] = mapped_column(String(8), index=True)
