"""Collaborative project examples: finished jobs, credited to partners who confirm them."""

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.base import Base, utcnow


class CreditStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class ProjectExample(Base):
    """A finished job, posted by one organisation (the owner) and credited to partners.

    The owner's own credit is created confirmed; the project is public once at least one
    other partner has confirmed its credit, and only confirmed credits are ever shown.
    """

    __tablename__ = "project_examples"
    __table_args__ = (
        CheckConstraint("year BETWEEN 1900 AND 2100", name="year_range"),
        CheckConstraint("value_amount IS NULL OR value_amount >= 0", name="value_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_org_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    alliance_id: Mapped[int | None] = mapped_column(
        ForeignKey("alliances.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown, sanitised on render
    year: Mapped[int]
    client: Mapped[str] = mapped_column(String(160), default="")
    value_amount: Mapped[int | None] = mapped_column(BigInteger().with_variant(Integer(),
                                                                               "sqlite"))
    currency: Mapped[str] = mapped_column(String(3), default="GBP")
    place: Mapped[str] = mapped_column(String(120), default="")
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    hidden_at: Mapped[datetime | None]  # site-admin moderation
    # Optimistic locking: an edit based on an older version is refused (409).
    version: Mapped[int] = mapped_column(default=1)

    owner_org: Mapped["Organisation"] = relationship()  # noqa: F821
    alliance: Mapped["Alliance | None"] = relationship()  # noqa: F821
    credits: Mapped[list["ProjectCredit"]] = relationship(
        back_populates="project", cascade="all, delete-orphan", order_by="ProjectCredit.id")
    photos: Mapped[list["ProjectPhoto"]] = relationship(
        back_populates="project", cascade="all, delete-orphan",
        order_by="(ProjectPhoto.position, ProjectPhoto.id)")

    __mapper_args__ = {"version_id_col": version}

    def credit_for(self, org_id: int) -> "ProjectCredit | None":
        return next((c for c in self.credits if c.organisation_id == org_id), None)

    @property
    def partner_credits(self) -> list["ProjectCredit"]:
        """Credits of organisations other than the owner, whatever their status."""
        return [c for c in self.credits if c.organisation_id != self.owner_org_id]

    @property
    def is_public(self) -> bool:
        """Shown to everyone: not moderated away, and confirmed by at least one partner."""
        if self.hidden_at is not None or self.owner_org.hidden_at is not None:
            return False
        return any(c.status == CreditStatus.CONFIRMED for c in self.partner_credits)


class ProjectCredit(Base):
    __tablename__ = "project_credits"
    __table_args__ = (UniqueConstraint("project_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project_examples.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(80))  # "Main contractor", "Electrical" ...
    status: Mapped[CreditStatus] = mapped_column(
        Enum(CreditStatus, name="credit_status", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]),
        default=CreditStatus.PENDING, index=True)
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    answered_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    project: Mapped[ProjectExample] = relationship(back_populates="credits")
    organisation: Mapped["Organisation"] = relationship()  # noqa: F821


class ProjectPhoto(Base):
    __tablename__ = "project_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("project_examples.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(80))  # generated; never the uploaded name
    caption: Mapped[str] = mapped_column(String(200), default="")
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    project: Mapped[ProjectExample] = relationship(back_populates="photos")
