"""Append-only audit trail of state changes (who, what, when, which version)."""

from datetime import datetime

from sqlalchemy import DDL, JSON, BigInteger, ForeignKey, Index, Integer, String, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column

from marketplace.models.base import Base, utcnow


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_org_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisations.id", ondelete="SET NULL"))
    # What the event is about: ("tender", 7), ("bid", 12), ("alliance", 3) ...
    subject_kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int]
    action: Mapped[str] = mapped_column(String(60))
    version: Mapped[int | None]
    details: Mapped[dict] = mapped_column(JSON, default=dict)


Index("ix_audit_events_subject", AuditEvent.subject_kind, AuditEvent.subject_id,
      AuditEvent.id)


class AuditTrailIsAppendOnly(Exception):
    pass


@event.listens_for(AuditEvent, "before_update")
@event.listens_for(AuditEvent, "before_delete")
def _refuse_changes(_mapper, _connection, target: AuditEvent) -> None:
    raise AuditTrailIsAppendOnly(f"audit event {target.id} cannot be changed or deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(state: ORMExecuteState) -> None:
    """``update(AuditEvent)`` / ``delete(AuditEvent)`` bypass the mapper events above."""
    if (state.is_update or state.is_delete) and any(
            m.class_ is AuditEvent for m in state.all_mappers):
        raise AuditTrailIsAppendOnly("audit events cannot be changed or deleted")


# The database itself refuses to rewrite an event, whatever the client (raw SQL, psql, another
# program). Only the actor columns may change: ``ON DELETE SET NULL`` clears them when an
# account or organisation is erased. Deleting rows stays possible for the operator (retention,
# test clean-up); the application never does it (guarded above).
CONTENT_COLUMNS = "occurred_at, subject_kind, subject_id, action, version, details"
SQLITE_TRIGGER = f"""
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OF {CONTENT_COLUMNS} ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END
"""
POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN RAISE EXCEPTION 'audit events are append-only'; END
$$ LANGUAGE plpgsql
"""
POSTGRES_TRIGGER = f"""
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OF {CONTENT_COLUMNS} ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()
"""

# For schemas made by ``create_all`` (tests); migration 0004 does the same for real databases.
for _ddl, _dialect in ((SQLITE_TRIGGER, "sqlite"), (POSTGRES_FUNCTION, "postgresql"),
                       (POSTGRES_TRIGGER, "postgresql")):
    event.listen(AuditEvent.__table__, "after_create", DDL(_ddl).execute_if(dialect=_dialect))
