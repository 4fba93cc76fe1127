"""Alliances: standing groups of organisations that bid and work together."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.base import Base, utcnow


class AllianceRole(enum.StrEnum):
    LEAD = "lead"
    MEMBER = "member"


class Alliance(Base):
    __tablename__ = "alliances"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    summary: Mapped[str] = mapped_column(String(280), default="")
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown, sanitised on render
    # Free text such as "Bristol, Bath and North Somerset"; members' towns are shown beside it.
    service_area: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Dissolved alliances keep their page history but take no new members or bids.
    dissolved_at: Mapped[datetime | None]
    hidden_at: Mapped[datetime | None]  # site-admin moderation
    version: Mapped[int] = mapped_column(default=1)

    members: Mapped[list["AllianceMember"]] = relationship(
        back_populates="alliance", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    @property
    def is_live(self) -> bool:
        return self.dissolved_at is None


class AllianceMember(Base):
    __tablename__ = "alliance_members"
    __table_args__ = (UniqueConstraint("alliance_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliances.id", ondelete="CASCADE"),
                                             index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    role: Mapped[AllianceRole] = mapped_column(
        Enum(AllianceRole, name="alliance_role", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    alliance: Mapped[Alliance] = relationship(back_populates="members")
    organisation: Mapped["Organisation"] = relationship()  # noqa: F821


class AllianceInvitation(Base):
    """An invitation to an organisation; an owner/admin of that organisation answers it."""

    __tablename__ = "alliance_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    alliance_id: Mapped[int] = mapped_column(ForeignKey("alliances.id", ondelete="CASCADE"),
                                             index=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    invited_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
    # The lead organisation on whose behalf the invitation went out.
    invited_by_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"))
    message: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    declined_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    answered_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))

    alliance: Mapped[Alliance] = relationship()
    organisation: Mapped["Organisation"] = relationship(  # noqa: F821
        foreign_keys=[organisation_id])
    invited_by_org: Mapped["Organisation | None"] = relationship(  # noqa: F821
        foreign_keys=[invited_by_org_id])

    def is_pending(self, now: datetime) -> bool:
        return (self.accepted_at is None and self.declined_at is None
                and self.revoked_at is None and now < self.expires_at)
