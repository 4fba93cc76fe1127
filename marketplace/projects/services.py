"""Project example use cases: post, edit, credit partners, confirm or reject, photos.

Public reading goes through ``public_project`` and ``confirmed_projects_for``: they are the
single place that decides what of a project anyone may see (confirmed credits only), for the
project page, profiles, alliance pages and the search documents built later.
"""

from dataclasses import dataclass, field
from datetime import datetime

from flask import url_for
from markupsafe import Markup
from sqlalchemy import and_, exists, select
from sqlalchemy.orm import aliased

from marketplace import activity, audit
from marketplace.alliances.services import org_managers
from marketplace.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.markdown import render_markdown
from marketplace.models import (
    ActivityKind,
    Alliance,
    AllianceMember,
    CreditStatus,
    Membership,
    Organisation,
    ProjectCredit,
    ProjectExample,
    ProjectPhoto,
    User,
)
from marketplace.permissions import (
    MANAGER_ROLES,
    can_answer_credit,
    can_edit_project,
    is_org_manager,
)
from marketplace.search_outbox import record_change

MAX_PHOTOS = 6
MAX_PARTNERS = 12
PHOTO_MAX_BYTES = 5 * 1024 * 1024
PHOTO_SIZE = (1200, 800)
# What partners vouch for: changing any of these asks every partner to confirm again.
CONFIRMED_FIELDS = ("title", "description", "year", "client", "value_amount", "currency")
CURRENCY_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


@dataclass
class ProjectData:
    title: str
    year: int
    description: str = ""
    client: str = ""
    value_amount: int | None = None
    currency: str = "GBP"
    place: str = ""
    owner_role: str = "Main contractor"


# -- helpers ---------------------------------------------------------------------------------

def lock_project(project_id: int) -> ProjectExample:
    """Serialise changes to one project (row lock on PostgreSQL, BEGIN IMMEDIATE on SQLite)."""
    project = db.session.scalar(
        select(ProjectExample).where(ProjectExample.id == project_id).with_for_update()
        .execution_options(populate_existing=True))
    if project is None:
        raise NotFound("No such project.")
    for credit in project.credits:
        db.session.refresh(credit)
    return project


def _require_owner_manager(user: User, project: ProjectExample) -> None:
    if not can_edit_project(user, project):
        raise PermissionDenied("Only owners and admins of the posting organisation can do this.")


def _search_changed(project: ProjectExample, *org_ids: int) -> None:
    """The project's document, and the track record of the organisations and alliance."""
    record_change("project", project.id)
    for org_id in dict.fromkeys(org_ids):
        record_change("organisation", org_id)
    if project.alliance_id:
        record_change("alliance", project.alliance_id)


def _live_credits(project: ProjectExample) -> list[ProjectCredit]:
    return [c for c in project.credits if c.status != CreditStatus.REJECTED]


def _check_alliance_cover(project: ProjectExample, alliance: Alliance,
                          extra_org_ids: tuple[int, ...] = ()) -> None:
    """A project may sit in an alliance's portfolio only if every credited partner is in it."""
    member_ids = set(db.session.scalars(select(AllianceMember.organisation_id).where(
        AllianceMember.alliance_id == alliance.id)))
    outside = [c.organisation.name for c in _live_credits(project)
               if c.organisation_id not in member_ids]
    outside += [db.session.get(Organisation, i).name for i in extra_org_ids
                if i not in member_ids]
    if outside:
        raise ValidationFailed(
            f"Every credited partner must be a member of {alliance.name}; not members: "
            + ", ".join(sorted(set(outside))) + ".")


def _request_confirmation(project: ProjectExample, credit: ProjectCredit, *, again: bool) -> None:
    owner = project.owner_org
    if again:
        title = f"{owner.name} changed “{project.title}”: please confirm again"
        template = "project_reconfirm"
    else:
        title = f"{owner.name} credits {credit.organisation.name} on “{project.title}”"
        template = "project_credit"
    notify_managers(credit.organisation, f"project_credit{'_again' if again else ''}", title,
                    link=url_for("projects.show", project_id=project.id),
                    email_template=template, project=project, owner=owner, credit=credit,
                    project_url=url_for("projects.show", project_id=project.id,
                                        _external=True))


def notify_managers(org: Organisation, kind: str, title: str, **kwargs) -> None:
    from marketplace.notifications import notify

    notify(org_managers(org), kind, title, **kwargs)


def _validate_partner(project_owner_id: int, org: Organisation, role: str) -> None:
    if org.id == project_owner_id:
        raise ValidationFailed("Your own organisation is already on the project; credit "
                               "a partner organisation.")
    if org.hidden_at is not None:
        raise NotFound("No such organisation.")
    if not role or not role.strip():
        raise ValidationFailed("Say what the partner did on the project.")


def _normalised(data: ProjectData) -> ProjectData:
    return ProjectData(title=data.title, year=data.year, description=data.description or "",
                       client=data.client or "", value_amount=data.value_amount,
                       currency=data.currency or "GBP", place=data.place or "",
                       owner_role=(data.owner_role or "").strip() or "Main contractor")


# -- writing ---------------------------------------------------------------------------------

def create_project(user: User, org: Organisation, data: ProjectData,
                   partners: list[tuple[Organisation, str]], now: datetime) -> ProjectExample:
    if not is_org_manager(user, org):
        raise PermissionDenied("Only owners and admins can post projects for their "
                               "organisation.")
    if org.hidden_at is not None:
        raise InvalidState("This organisation is hidden by moderators.")
    if len(partners) > MAX_PARTNERS:
        raise ValidationFailed(f"Credit at most {MAX_PARTNERS} partners.")
    seen: set[int] = set()
    for partner, role in partners:
        _validate_partner(org.id, partner, role)
        if partner.id in seen:
            raise ValidationFailed(f"{partner.name} is credited twice.")
        seen.add(partner.id)
    data = _normalised(data)
    project = ProjectExample(
        owner_org_id=org.id, title=data.title, description=data.description or "",
        year=data.year, client=data.client or "", value_amount=data.value_amount,
        currency=data.currency or "GBP", place=data.place or "", created_by_user_id=user.id,
        created_at=now, updated_at=now)
    project.credits.append(ProjectCredit(
        organisation_id=org.id, role=data.owner_role, status=CreditStatus.CONFIRMED,
        requested_at=now, answered_at=now, answered_by_user_id=user.id))
    for partner, role in partners:
        project.credits.append(ProjectCredit(organisation_id=partner.id, role=role.strip(),
                                             status=CreditStatus.PENDING, requested_at=now))
    db.session.add(project)
    db.session.flush()
    audit.record("project", project.id, "created", version=project.version, actor=user,
                 actor_org_id=org.id, partners=sorted(seen))
    for credit in project.partner_credits:
        _request_confirmation(project, credit, again=False)
    _search_changed(project)
    return project


def update_project(user: User, project: ProjectExample, data: ProjectData, *, version: int,
                   now: datetime) -> bool:
    """Save the edit; returns True when partners were asked to confirm again."""
    project = lock_project(project.id)
    _require_owner_manager(user, project)
    if version != project.version:
        raise Conflict("Someone else changed this project while you were editing. Your "
                       "changes were not saved; please review and edit again.")
    data = _normalised(data)
    changed = [name for name in CONFIRMED_FIELDS
               if getattr(project, name) != getattr(data, name)]
    owner_credit = project.credit_for(project.owner_org_id)
    if owner_credit is not None and owner_credit.role != data.owner_role:
        changed.append("owner_role")
        owner_credit.role = data.owner_role
    for name in (*CONFIRMED_FIELDS, "place"):
        setattr(project, name, getattr(data, name))
    project.updated_at = now
    reconfirm = [c for c in project.partner_credits if c.status == CreditStatus.CONFIRMED]
    if changed:
        for credit in reconfirm:
            credit.status = CreditStatus.PENDING
            credit.requested_at = now
            credit.answered_at = None
            credit.answered_by_user_id = None
    db.session.flush()
    audit.record("project", project.id, "updated", version=project.version, actor=user,
                 actor_org_id=project.owner_org_id, changed=changed,
                 reconfirm=[c.organisation_id for c in reconfirm] if changed else [])
    if changed:
        for credit in reconfirm:
            _request_confirmation(project, credit, again=True)
    _search_changed(project, project.owner_org_id,
                    *(c.organisation_id for c in reconfirm if changed))
    return bool(changed and reconfirm)


def add_credit(user: User, project: ProjectExample, org: Organisation, role: str,
               now: datetime) -> ProjectCredit:
    project = lock_project(project.id)
    _require_owner_manager(user, project)
    _validate_partner(project.owner_org_id, org, role)
    existing = project.credit_for(org.id)
    if existing is not None:
        if existing.status == CreditStatus.REJECTED:
            raise ValidationFailed(f"{org.name} declined a credit on this project.")
        raise ValidationFailed(f"{org.name} is already credited.")
    if len(project.partner_credits) >= MAX_PARTNERS:
        raise ValidationFailed(f"Credit at most {MAX_PARTNERS} partners.")
    if project.alliance is not None:
        _check_alliance_cover(project, project.alliance, (org.id,))
    credit = ProjectCredit(project_id=project.id, organisation_id=org.id, role=role.strip(),
                           status=CreditStatus.PENDING, requested_at=now)
    db.session.add(credit)
    db.session.flush()
    db.session.refresh(project)
    audit.record("project", project.id, "credit_added", version=project.version, actor=user,
                 actor_org_id=project.owner_org_id, organisation_id=org.id, role=credit.role)
    _request_confirmation(project, credit, again=False)
    _search_changed(project)
    return credit


def remove_credit(user: User, credit: ProjectCredit) -> None:
    project = lock_project(credit.project_id)
    _require_owner_manager(user, project)
    if credit.organisation_id == project.owner_org_id:
        raise InvalidState("The posting organisation's own credit cannot be removed.")
    was_confirmed = credit.status == CreditStatus.CONFIRMED
    org_id = credit.organisation_id
    project.credits.remove(credit)
    db.session.flush()
    audit.record("project", project.id, "credit_removed", version=project.version, actor=user,
                 actor_org_id=project.owner_org_id, organisation_id=org_id)
    _search_changed(project, *((org_id, project.owner_org_id) if was_confirmed else ()))


def _answer(user: User, credit: ProjectCredit, version: int | None) -> ProjectExample:
    project = lock_project(credit.project_id)
    db.session.refresh(credit)
    if not can_answer_credit(user, credit):
        raise PermissionDenied("Only owners and admins of the credited organisation can "
                               "answer.")
    if version is not None and version != project.version:
        raise Conflict("The project changed since you opened it. Please read it again "
                       "before you answer.")
    return project


def confirm_credit(user: User, credit: ProjectCredit, now: datetime, *,
                   version: int | None = None) -> ProjectCredit:
    project = _answer(user, credit, version)
    if credit.status != CreditStatus.PENDING:
        raise InvalidState(f"This credit is already {credit.status.value}.")
    credit.status = CreditStatus.CONFIRMED
    credit.answered_at = now
    credit.answered_by_user_id = user.id
    db.session.flush()
    audit.record("project", project.id, "credit_confirmed", version=project.version,
                 actor=user, actor_org_id=credit.organisation_id,
                 organisation_id=credit.organisation_id)
    activity.log(ActivityKind.PROJECT_CONFIRMED, alliance=project.alliance,
                 organisation=credit.organisation, partner_org=project.owner_org,
                 project=project)
    notify_managers(project.owner_org, "project_credit_confirmed",
                    f"{credit.organisation.name} confirmed “{project.title}”",
                    link=url_for("projects.show", project_id=project.id))
    _search_changed(project, credit.organisation_id, project.owner_org_id)
    return credit


def reject_credit(user: User, credit: ProjectCredit, now: datetime, *,
                  version: int | None = None) -> ProjectCredit:
    """A partner refuses (or later withdraws) its credit; it then disappears from the project."""
    project = _answer(user, credit, None)
    if credit.status == CreditStatus.REJECTED:
        raise InvalidState("This credit is already rejected.")
    credit.status = CreditStatus.REJECTED
    credit.answered_at = now
    credit.answered_by_user_id = user.id
    db.session.flush()
    audit.record("project", project.id, "credit_rejected", version=project.version,
                 actor=user, actor_org_id=credit.organisation_id,
                 organisation_id=credit.organisation_id)
    notify_managers(project.owner_org, "project_credit_rejected",
                    f"{credit.organisation.name} declined its credit on “{project.title}”",
                    link=url_for("projects.show", project_id=project.id))
    _search_changed(project, credit.organisation_id, project.owner_org_id)
    return credit


def link_alliance(user: User, project: ProjectExample, alliance: Alliance | None) -> None:
    project = lock_project(project.id)
    _require_owner_manager(user, project)
    previous = project.alliance_id
    if alliance is not None:
        from marketplace.alliances.services import lock_alliance

        alliance = lock_alliance(alliance.id)
        if not alliance.is_live or alliance.hidden_at is not None:
            raise InvalidState("This alliance takes no new projects.")
        _check_alliance_cover(project, alliance)
    project.alliance_id = alliance.id if alliance else None
    db.session.flush()
    audit.record("project", project.id, "alliance_linked" if alliance else "alliance_unlinked",
                 version=project.version, actor=user, actor_org_id=project.owner_org_id,
                 alliance_id=project.alliance_id, previous_alliance_id=previous)
    if previous and previous != project.alliance_id:
        record_change("alliance", previous)
    _search_changed(project)


def linkable_alliances(project: ProjectExample) -> list[Alliance]:
    """Live alliances that contain every credited partner of the project."""
    org_ids = {c.organisation_id for c in _live_credits(project)}
    candidates = db.session.scalars(
        select(Alliance).join(AllianceMember)
        .where(AllianceMember.organisation_id == project.owner_org_id,
               Alliance.dissolved_at.is_(None), Alliance.hidden_at.is_(None))
        .order_by(Alliance.name)).all()
    result = []
    for alliance in candidates:
        members = set(db.session.scalars(select(AllianceMember.organisation_id).where(
            AllianceMember.alliance_id == alliance.id)))
        if org_ids <= members:
            result.append(alliance)
    return result


def add_photo(user: User, project: ProjectExample, file_storage, caption: str) -> ProjectPhoto:
    from marketplace.uploads import save_image

    project = lock_project(project.id)
    _require_owner_manager(user, project)
    if len(project.photos) >= MAX_PHOTOS:
        raise ValidationFailed(f"A project has at most {MAX_PHOTOS} photos; remove one first.")
    name = save_image(file_storage, kind="photo", max_bytes=PHOTO_MAX_BYTES, size=PHOTO_SIZE)
    position = max((p.position for p in project.photos), default=-1) + 1
    photo = ProjectPhoto(project_id=project.id, filename=name, caption=caption or "",
                         position=position)
    db.session.add(photo)
    db.session.flush()
    audit.record("project", project.id, "photo_added", version=project.version, actor=user,
                 actor_org_id=project.owner_org_id, photo_id=photo.id)
    return photo


def remove_photo(user: User, photo: ProjectPhoto) -> str:
    """Returns the stored file name, for the caller to delete after commit."""
    project = lock_project(photo.project_id)
    _require_owner_manager(user, project)
    name = photo.filename
    db.session.delete(photo)
    db.session.flush()
    audit.record("project", project.id, "photo_removed", version=project.version, actor=user,
                 actor_org_id=project.owner_org_id, photo_id=photo.id)
    return name


def delete_project(user: User, project: ProjectExample) -> list[str]:
    """Deletes the project; returns photo file names for the caller to delete after commit."""
    project = lock_project(project.id)
    _require_owner_manager(user, project)
    confirmed = [c.organisation_id for c in project.credits
                 if c.status == CreditStatus.CONFIRMED]
    names = [p.filename for p in project.photos]
    audit.record("project", project.id, "deleted", version=project.version, actor=user,
                 actor_org_id=project.owner_org_id, title=project.title)
    _search_changed(project, *confirmed)
    db.session.delete(project)
    db.session.flush()
    return names


# -- public reading: the single source ------------------------------------------------------

@dataclass(frozen=True)
class PublicCredit:
    organisation: Organisation
    role: str
    is_owner: bool


@dataclass(frozen=True)
class PublicPhoto:
    id: int
    caption: str


@dataclass(frozen=True)
class PublicProject:
    """What anyone may see of a project: confirmed credits only, never pending ones."""

    id: int
    title: str
    description: str
    description_html: Markup
    year: int
    client: str
    value_amount: int | None
    currency: str
    place: str
    owner: Organisation
    partners: list[PublicCredit] = field(default_factory=list)
    photos: list[PublicPhoto] = field(default_factory=list)
    alliance: Alliance | None = None

    @property
    def value_display(self) -> str:
        return format_value(self.value_amount, self.currency)

    def search_dict(self) -> dict:
        """The interchange shape ``search.documents.project_document`` takes."""
        return {"id": self.id, "title": self.title, "description": self.description,
                "year": self.year, "client": self.client, "town": self.place,
                "partners": [{"name": p.organisation.name, "confirmed": True}
                             for p in self.partners]}


def format_value(amount: int | None, currency: str) -> str:
    if amount is None:
        return ""
    symbol = CURRENCY_SYMBOLS.get(currency)
    return f"{symbol}{amount:,}" if symbol else f"{amount:,} {currency}"


def public_project(project: ProjectExample) -> PublicProject | None:
    """The public view of a project, or None if nothing of it is public."""
    if not project.is_public:
        return None
    partners = [PublicCredit(c.organisation, c.role, c.organisation_id == project.owner_org_id)
                for c in project.credits
                if c.status == CreditStatus.CONFIRMED and c.organisation.hidden_at is None]
    partners.sort(key=lambda p: (not p.is_owner, p.organisation.name.lower()))
    alliance = project.alliance
    if alliance is not None and alliance.hidden_at is not None:
        alliance = None
    return PublicProject(
        id=project.id, title=project.title, description=project.description,
        description_html=render_markdown(project.description), year=project.year,
        client=project.client, value_amount=project.value_amount, currency=project.currency,
        place=project.place, owner=project.owner_org, partners=partners,
        photos=[PublicPhoto(p.id, p.caption) for p in project.photos], alliance=alliance)


def _confirmed_partner_exists():
    partner = aliased(ProjectCredit)
    return exists().where(partner.project_id == ProjectExample.id,
                          partner.organisation_id != ProjectExample.owner_org_id,
                          partner.status == CreditStatus.CONFIRMED)


def _public_query():
    return (select(ProjectExample).join(Organisation,
                                        Organisation.id == ProjectExample.owner_org_id)
            .where(ProjectExample.hidden_at.is_(None), Organisation.hidden_at.is_(None),
                   _confirmed_partner_exists()))


def _views(projects) -> list[PublicProject]:
    return [v for v in (public_project(p) for p in projects) if v is not None]


def confirmed_projects_for(org: Organisation, limit: int | None = None) -> list[PublicProject]:
    """Projects the organisation has a confirmed credit on (its track record), newest first."""
    query = (_public_query().join(ProjectCredit, and_(
        ProjectCredit.project_id == ProjectExample.id, ProjectCredit.organisation_id == org.id,
        ProjectCredit.status == CreditStatus.CONFIRMED))
        .order_by(ProjectExample.year.desc(), ProjectExample.id.desc()))
    if limit:
        query = query.limit(limit)
    return _views(db.session.scalars(query))


def track_record_count(org: Organisation) -> int:
    return len(confirmed_projects_for(org))


def confirmed_projects_for_alliance(alliance: Alliance) -> list[PublicProject]:
    query = (_public_query().where(ProjectExample.alliance_id == alliance.id)
             .order_by(ProjectExample.year.desc(), ProjectExample.id.desc()))
    return _views(db.session.scalars(query))


def public_projects(*, page: int = 1, per_page: int = 24):
    return db.paginate(_public_query().order_by(ProjectExample.year.desc(),
                                                ProjectExample.id.desc()),
                       page=page, per_page=per_page, error_out=False)


# -- insiders --------------------------------------------------------------------------------

def credits_awaiting(user: User) -> list[ProjectCredit]:
    """Pending partner credits on organisations the user manages (for the dashboard)."""
    if not getattr(user, "is_authenticated", False):
        return []
    return list(db.session.scalars(
        select(ProjectCredit)
        .join(ProjectExample, ProjectExample.id == ProjectCredit.project_id)
        .join(Membership, Membership.organisation_id == ProjectCredit.organisation_id)
        .where(Membership.user_id == user.id, Membership.role.in_(MANAGER_ROLES),
               ProjectCredit.status == CreditStatus.PENDING,
               ProjectCredit.organisation_id != ProjectExample.owner_org_id,
               ProjectExample.hidden_at.is_(None))
        .order_by(ProjectCredit.requested_at.desc())))


def projects_owned_by(org: Organisation) -> list[ProjectExample]:
    return list(db.session.scalars(
        select(ProjectExample).where(ProjectExample.owner_org_id == org.id)
        .order_by(ProjectExample.year.desc(), ProjectExample.id.desc())))


def credits_of(org: Organisation) -> list[ProjectCredit]:
    """Credits other organisations gave this one, whatever their status."""
    return list(db.session.scalars(
        select(ProjectCredit).join(ProjectExample)
        .where(ProjectCredit.organisation_id == org.id,
               ProjectExample.owner_org_id != org.id)
        .order_by(ProjectCredit.requested_at.desc())))
