"""Recent joint activity: the public digest shown on alliance pages and profiles.

Services call ``log`` in the same transaction as the change. Reading goes through
``for_alliance`` and ``for_organisation``, which re-check each event against the current
state, so a credit that was withdrawn later, or a moderated organisation, never shows.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select

from marketplace.clock import now
from marketplace.extensions import db
from marketplace.models import (
    ActivityEvent,
    ActivityKind,
    Alliance,
    CreditStatus,
    Organisation,
    ProjectExample,
)

DEFAULT_LIMIT = 12


def log(kind: ActivityKind, *, alliance: Alliance | None = None,
        organisation: Organisation | None = None, partner_org: Organisation | None = None,
        project: ProjectExample | None = None) -> ActivityEvent:
    event = ActivityEvent(occurred_at=now(), kind=kind,
                          alliance_id=alliance.id if alliance else None,
                          organisation_id=organisation.id if organisation else None,
                          partner_org_id=partner_org.id if partner_org else None,
                          project_id=project.id if project else None)
    db.session.add(event)
    return event


@dataclass(frozen=True)
class ActivityItem:
    """What a template needs for one line; only public names and links."""

    kind: str
    occurred_at: datetime
    organisation: Organisation | None
    partner_org: Organisation | None
    alliance: Alliance | None
    project: ProjectExample | None


def _visible(event: ActivityEvent) -> bool:
    for org in (event.organisation, event.partner_org):
        if org is not None and org.hidden_at is not None:
            return False
    if event.alliance is not None and event.alliance.hidden_at is not None:
        return False
    if event.kind == ActivityKind.PROJECT_CONFIRMED:
        project = event.project
        if project is None or not project.is_public:
            return False
        credit = project.credit_for(event.organisation_id)
        return credit is not None and credit.status == CreditStatus.CONFIRMED
    return True


def _items(query, limit: int) -> list[ActivityItem]:
    # Read a few more than needed: some events may be filtered out as no longer public.
    events = db.session.scalars(query.order_by(ActivityEvent.id.desc()).limit(limit * 3))
    items = []
    seen_projects: set[tuple[int, int | None]] = set()
    for event in events:
        if not _visible(event):
            continue
        if event.kind == ActivityKind.PROJECT_CONFIRMED:
            # Re-confirmations after an edit would repeat the same line.
            key = (event.project_id, event.organisation_id)
            if key in seen_projects:
                continue
            seen_projects.add(key)
        items.append(ActivityItem(kind=event.kind.value, occurred_at=event.occurred_at,
                                  organisation=event.organisation,
                                  partner_org=event.partner_org, alliance=event.alliance,
                                  project=event.project))
        if len(items) >= limit:
            break
    return items


def for_alliance(alliance: Alliance, limit: int = DEFAULT_LIMIT) -> list[ActivityItem]:
    """Membership events, and confirmations of projects now in the alliance's portfolio
    (whether they were linked before or after the partner confirmed)."""
    linked = select(ProjectExample.id).where(ProjectExample.alliance_id == alliance.id)
    is_project = ActivityEvent.kind == ActivityKind.PROJECT_CONFIRMED
    return _items(select(ActivityEvent).where(or_(
        and_(~is_project, ActivityEvent.alliance_id == alliance.id),
        and_(is_project, ActivityEvent.project_id.in_(linked)))), limit)


def for_organisation(org: Organisation, limit: int = DEFAULT_LIMIT) -> list[ActivityItem]:
    """Joint activity involving the organisation: alliances joined, projects confirmed."""
    return _items(select(ActivityEvent).where(or_(ActivityEvent.organisation_id == org.id,
                                                  ActivityEvent.partner_org_id == org.id)),
                  limit)
