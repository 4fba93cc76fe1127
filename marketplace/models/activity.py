"""Recent joint activity shown on alliance pages and profiles (public facts only).

Audit events are the full, private trail; these rows are the small public digest of it,
written by the same services in the same transaction.
"""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.base import Base, utcnow


class ActivityKind(enum.StrEnum):
    ALLIANCE_CREATED = "alliance_created"
    MEMBER_JOINED = "member_joined"
    MEMBER_LEFT = "member_left"
    MEMBER_REMOVED = "member_removed"
    ALLIANCE_DISSOLVED = "alliance_dissolved"
    PROJECT_CONFIRMED = "project_confirmed"


class ActivityEvent(Base):
    __tablename__ = "activity_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[ActivityKind] = mapped_column(
        Enum(ActivityKind, name="activity_kind", native_enum=False, length=32,
             values_callable=lambda e: [m.value for m in e]))
    alliance_id: Mapped[int | None] = mapped_column(
        ForeignKey("alliances.id", ondelete="CASCADE"))
    # The organisation the event is about (who joined, who confirmed) ...
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"))
    # ... and, for a confirmed project, the organisation that posted it.
    partner_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="CASCADE"))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("project_examples.id", ondelete="CASCADE"))

    alliance: Mapped["Alliance | None"] = relationship()  # noqa: F821
    organisation: Mapped["Organisation | None"] = relationship(  # noqa: F821
        foreign_keys=[organisation_id])
    partner_org: Mapped["Organisation | None"] = relationship(  # noqa: F821
        foreign_keys=[partner_org_id])
    project: Mapped["ProjectExample | None"] = relationship()  # noqa: F821


Index("ix_activity_events_alliance", ActivityEvent.alliance_id, ActivityEvent.id)
Index("ix_activity_events_organisation", ActivityEvent.organisation_id, ActivityEvent.id)
Index("ix_activity_events_partner", ActivityEvent.partner_org_id, ActivityEvent.id)
