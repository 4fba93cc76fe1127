"""Writing audit events. Services call ``record`` in the same transaction as the change."""

from datetime import datetime

from flask_login import current_user

from marketplace.clock import now
from marketplace.extensions import db
from marketplace.models import AuditEvent


def record(subject_kind: str, subject_id: int, action: str, *, version: int | None = None,
           actor=None, actor_org_id: int | None = None, at: datetime | None = None,
           **details) -> AuditEvent:
    """Append one event. ``actor`` defaults to the logged-in user (None for system jobs);
    ``at`` defaults to now and is given only where history is written after the fact (the
    demo seed)."""
    if actor is None and getattr(current_user, "is_authenticated", False):
        actor = current_user
    event = AuditEvent(occurred_at=at or now(), actor_user_id=getattr(actor, "id", None),
                       actor_org_id=actor_org_id, subject_kind=subject_kind,
                       subject_id=subject_id, action=action, version=version,
                       details=details)
    db.session.add(event)
    return event
