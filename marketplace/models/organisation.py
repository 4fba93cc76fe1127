"""Organisations (businesses and buyers), their members and invitations to join."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.base import Base, utcnow


class OrgRole(enum.StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"


ROLE_ENUM = Enum(OrgRole, name="org_role", native_enum=False, length=16,
                 values_callable=lambda e: [m.value for m in e])


class Organisation(Base):
    __tablename__ = "organisations"
    # Directory imports are idempotent by the record's id in its source (a chamber's list).
    __table_args__ = (UniqueConstraint("external_source", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    summary: Mapped[str] = mapped_column(String(280), default="")
    is_buyer: Mapped[bool] = mapped_column(default=False)
    # Site-admin moderation: a hidden organisation disappears from public pages.
    hidden_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set only for organisations created by `flask import organisations`.
    external_source: Mapped[str | None] = mapped_column(String(80))
    external_id: Mapped[str | None] = mapped_column(String(200))

    memberships: Mapped[list["Membership"]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan")
    profile: Mapped["Profile | None"] = relationship(  # noqa: F821
        back_populates="organisation", uselist=False, cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<Organisation {self.slug}>"


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("organisation_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[OrgRole] = mapped_column(ROLE_ENUM)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="memberships")
    user: Mapped["User"] = relationship(back_populates="memberships")  # noqa: F821

    @property
    def can_manage(self) -> bool:
        return self.role in (OrgRole.OWNER, OrgRole.ADMIN)


class OrgInvitation(Base):
    """An e-mailed invitation for a person to join an organisation; single use, expiring."""

    __tablename__ = "org_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[OrgRole] = mapped_column(ROLE_ENUM)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    declined_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()
    invited_by: Mapped["User | None"] = relationship(foreign_keys=[invited_by_id])  # noqa: F821

    def is_pending(self, now: datetime) -> bool:
        return (self.accepted_at is None and self.declined_at is None
                and self.revoked_at is None and now < self.expires_at)
