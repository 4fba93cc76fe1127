"""Alliance use cases: create, edit, dissolve; invite, answer, leave, remove, change roles.

Every membership change first locks the alliance row (``SELECT ... FOR UPDATE`` on
PostgreSQL; SQLite write transactions are already serial through ``BEGIN IMMEDIATE``) and
then re-reads what it decides on, so two leads stepping down at once cannot both succeed and
an invitation cannot be used twice.
"""

from datetime import datetime, timedelta

from flask import current_app, has_app_context, url_for
from sqlalchemy import func, select

from marketplace import activity, audit
from marketplace.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    ActivityKind,
    Alliance,
    AllianceInvitation,
    AllianceMember,
    AllianceRole,
    Membership,
    Organisation,
    User,
)
from marketplace.notifications import notify
from marketplace.orgs.services import acting_organisation, organisations_of, slugify
from marketplace.permissions import (
    MANAGER_ROLES,
    alliance_memberships_managed_by,
    can_answer_alliance_invitation,
    is_org_manager,
)
from marketplace.search_outbox import record_change

INVITATION_TTL = timedelta(days=14)
RESERVED_SLUGS = frozenset({"new", "invitations", "edit", "members"})


# -- helpers ---------------------------------------------------------------------------------

def org_managers(org: Organisation) -> list[User]:
    """The people who act for an organisation: its owners and admins."""
    return list(db.session.scalars(
        select(User).join(Membership).where(Membership.organisation_id == org.id,
                                            Membership.role.in_(MANAGER_ROLES))
        .order_by(User.id)))


def _lead_managers(alliance: Alliance) -> list[User]:
    users: list[User] = []
    for member in lead_members(alliance):
        users.extend(org_managers(member.organisation))
    return users


def invitation_ttl() -> timedelta:
    if has_app_context():
        return current_app.config.get("ALLIANCE_INVITATION_TTL", INVITATION_TTL)
    return INVITATION_TTL


def lock_alliance(alliance_id: int) -> Alliance:
    alliance = db.session.scalar(
        select(Alliance).where(Alliance.id == alliance_id).with_for_update()
        .execution_options(populate_existing=True))
    if alliance is None:
        raise NotFound("No such alliance.")
    return alliance


def _fresh_member(alliance: Alliance, org_id: int) -> AllianceMember | None:
    return db.session.scalar(
        select(AllianceMember).where(AllianceMember.alliance_id == alliance.id,
                                     AllianceMember.organisation_id == org_id)
        .execution_options(populate_existing=True))


def members_of(alliance: Alliance) -> list[AllianceMember]:
    return list(db.session.scalars(
        select(AllianceMember).join(Organisation)
        .where(AllianceMember.alliance_id == alliance.id)
        .order_by(AllianceMember.role, Organisation.name)
        .execution_options(populate_existing=True)))


def lead_members(alliance: Alliance) -> list[AllianceMember]:
    return [m for m in members_of(alliance) if m.role == AllianceRole.LEAD]


def lead_count(alliance: Alliance) -> int:
    return db.session.scalar(select(func.count(AllianceMember.id)).where(
        AllianceMember.alliance_id == alliance.id, AllianceMember.role == AllianceRole.LEAD))


def _require_live(alliance: Alliance) -> None:
    if not alliance.is_live:
        raise InvalidState("This alliance was dissolved; it takes no new members or changes.")


def _acting_lead(user: User, alliance: Alliance) -> AllianceMember:
    """The lead organisation the user acts for in this alliance, or PermissionDenied."""
    leads = alliance_memberships_managed_by(user, alliance, AllianceRole.LEAD)
    if not leads:
        raise PermissionDenied("Only owners and admins of a lead organisation can do this.")
    return leads[0]


def _slug_taken(slug: str) -> bool:
    return slug in RESERVED_SLUGS or db.session.scalar(
        select(Alliance.id).where(Alliance.slug == slug)) is not None


def unique_alliance_slug(name: str) -> str:
    base = slugify(name)
    if base == "organisation":
        base = "alliance"
    slug, n = base, 2
    while _slug_taken(slug):
        slug = f"{base}-{n}"
        n += 1
    return slug


def _changed(alliance: Alliance) -> None:
    record_change("alliance", alliance.id)


# -- the alliance itself ---------------------------------------------------------------------

def create_alliance(user: User, org: Organisation, *, name: str, summary: str = "",
                    description: str = "", service_area: str = "") -> Alliance:
    if not is_org_manager(user, org):
        raise PermissionDenied("Only owners and admins can start an alliance for their "
                               "organisation.")
    if org.hidden_at is not None:
        raise InvalidState("This organisation is hidden by moderators.")
    alliance = Alliance(name=name, slug=unique_alliance_slug(name), summary=summary or "",
                        description=description or "", service_area=service_area or "")
    alliance.members.append(AllianceMember(organisation_id=org.id, role=AllianceRole.LEAD))
    db.session.add(alliance)
    db.session.flush()
    audit.record("alliance", alliance.id, "created", version=alliance.version, actor=user,
                 actor_org_id=org.id, name=name)
    activity.log(ActivityKind.ALLIANCE_CREATED, alliance=alliance, organisation=org)
    _changed(alliance)
    db.session.flush()
    return alliance


def update_alliance(user: User, alliance: Alliance, *, version: int, name: str, summary: str,
                    description: str, service_area: str) -> Alliance:
    alliance = lock_alliance(alliance.id)
    lead = _acting_lead(user, alliance)
    _require_live(alliance)
    if version != alliance.version:
        raise Conflict("Someone else changed this alliance while you were editing. "
                       "Your changes were not saved; please review and edit again.")
    alliance.name = name
    alliance.summary = summary or ""
    alliance.description = description or ""
    alliance.service_area = service_area or ""
    db.session.flush()
    audit.record("alliance", alliance.id, "updated", version=alliance.version, actor=user,
                 actor_org_id=lead.organisation_id)
    _changed(alliance)
    return alliance


def dissolve_alliance(user: User, alliance: Alliance, now: datetime) -> Alliance:
    """Ends the alliance; its page, members and projects stay as history."""
    alliance = lock_alliance(alliance.id)
    lead = _acting_lead(user, alliance)
    _require_live(alliance)
    alliance.dissolved_at = now
    for invitation in pending_invitations(alliance, now):
        invitation.revoked_at = now
    db.session.flush()
    audit.record("alliance", alliance.id, "dissolved", version=alliance.version, actor=user,
                 actor_org_id=lead.organisation_id)
    activity.log(ActivityKind.ALLIANCE_DISSOLVED, alliance=alliance,
                 organisation=lead.organisation)
    recipients = [u for m in members_of(alliance) for u in org_managers(m.organisation)]
    notify(recipients, "alliance_dissolved", f"{alliance.name} was dissolved",
           link=url_for("alliances.show", slug=alliance.slug))
    _changed(alliance)
    return alliance


# -- invitations -----------------------------------------------------------------------------

def pending_invitations(alliance: Alliance, now: datetime) -> list[AllianceInvitation]:
    rows = db.session.scalars(
        select(AllianceInvitation).where(
            AllianceInvitation.alliance_id == alliance.id,
            AllianceInvitation.accepted_at.is_(None), AllianceInvitation.declined_at.is_(None),
            AllianceInvitation.revoked_at.is_(None), AllianceInvitation.expires_at > now)
        .order_by(AllianceInvitation.created_at.desc()))
    return list(rows)


def invitations_for_managed_orgs(user: User, now: datetime) -> list[AllianceInvitation]:
    """Pending invitations to organisations this user manages (for the dashboard)."""
    if not getattr(user, "is_authenticated", False):
        return []
    rows = db.session.scalars(
        select(AllianceInvitation)
        .join(Membership, Membership.organisation_id == AllianceInvitation.organisation_id)
        .join(Alliance, Alliance.id == AllianceInvitation.alliance_id)
        .where(Membership.user_id == user.id, Membership.role.in_(MANAGER_ROLES),
               AllianceInvitation.accepted_at.is_(None),
               AllianceInvitation.declined_at.is_(None),
               AllianceInvitation.revoked_at.is_(None), AllianceInvitation.expires_at > now,
               Alliance.dissolved_at.is_(None))
        .order_by(AllianceInvitation.created_at.desc()))
    return list(rows)


def find_organisation(reference: str) -> Organisation | None:
    """An organisation by its web address (slug) or exact name, ignoring case."""
    reference = (reference or "").strip()
    if not reference:
        return None
    org = db.session.scalar(select(Organisation).where(Organisation.slug == reference.lower()))
    if org is not None:
        return org
    matches = db.session.scalars(
        select(Organisation).where(func.lower(Organisation.name) == reference.lower())
        .limit(2)).all()
    if len(matches) > 1:
        raise ValidationFailed("Several organisations have this name; use the web address "
                               "of the one you mean (the last part of its page's address).")
    return matches[0] if matches else None


def invite_organisation(user: User, alliance: Alliance, org: Organisation, now: datetime,
                        message: str = "") -> AllianceInvitation:
    alliance = lock_alliance(alliance.id)
    lead = _acting_lead(user, alliance)
    _require_live(alliance)
    if org.hidden_at is not None:
        raise NotFound("No such organisation.")
    if _fresh_member(alliance, org.id) is not None:
        raise ValidationFailed(f"{org.name} is already a member of this alliance.")
    for old in pending_invitations(alliance, now):
        if old.organisation_id == org.id:
            raise ValidationFailed(f"{org.name} already has a pending invitation.")
    invitation = AllianceInvitation(
        alliance_id=alliance.id, organisation_id=org.id, invited_by_user_id=user.id,
        invited_by_org_id=lead.organisation_id, message=message or "", created_at=now,
        expires_at=now + invitation_ttl())
    db.session.add(invitation)
    db.session.flush()
    audit.record("alliance", alliance.id, "member_invited", version=alliance.version,
                 actor=user, actor_org_id=lead.organisation_id, organisation_id=org.id,
                 invitation_id=invitation.id)
    notify(org_managers(org), "alliance_invitation",
           f"{alliance.name} invites {org.name} to join",
           body=f"{lead.organisation.name} invites {org.name} to join the alliance.",
           link=url_for("main.dashboard"), email_template="alliance_invitation",
           alliance=alliance, organisation=org, inviting_org=lead.organisation,
           message=message, expires_at=invitation.expires_at,
           alliance_url=url_for("alliances.show", slug=alliance.slug, _external=True),
           dashboard_url=url_for("main.dashboard", _external=True))
    return invitation


def _claim(user: User, invitation: AllianceInvitation, now: datetime) -> Alliance:
    if not can_answer_alliance_invitation(user, invitation):
        raise PermissionDenied("Only owners and admins of the invited organisation can answer.")
    alliance = lock_alliance(invitation.alliance_id)
    db.session.refresh(invitation)
    if not invitation.is_pending(now):
        raise InvalidState("This invitation has expired or was already answered.")
    _require_live(alliance)
    return alliance


def accept_invitation(user: User, invitation: AllianceInvitation,
                      now: datetime) -> AllianceMember:
    alliance = _claim(user, invitation, now)
    org = invitation.organisation
    invitation.accepted_at = now
    invitation.answered_by_user_id = user.id
    member = _fresh_member(alliance, org.id)
    if member is None:
        member = AllianceMember(alliance_id=alliance.id, organisation_id=org.id,
                                role=AllianceRole.MEMBER, joined_at=now)
        db.session.add(member)
    db.session.flush()
    audit.record("alliance", alliance.id, "member_joined", version=alliance.version, actor=user,
                 actor_org_id=org.id, organisation_id=org.id, invitation_id=invitation.id)
    activity.log(ActivityKind.MEMBER_JOINED, alliance=alliance, organisation=org)
    notify(_lead_managers(alliance), "alliance_member_joined",
           f"{org.name} joined {alliance.name}",
           link=url_for("alliances.show", slug=alliance.slug))
    _changed(alliance)
    return member


def decline_invitation(user: User, invitation: AllianceInvitation, now: datetime) -> None:
    alliance = _claim(user, invitation, now)
    org = invitation.organisation
    invitation.declined_at = now
    invitation.answered_by_user_id = user.id
    db.session.flush()
    audit.record("alliance", alliance.id, "invitation_declined", version=alliance.version,
                 actor=user, actor_org_id=org.id, organisation_id=org.id,
                 invitation_id=invitation.id)
    notify(_lead_managers(alliance), "alliance_invitation_declined",
           f"{org.name} declined to join {alliance.name}",
           link=url_for("alliances.members", slug=alliance.slug))


def revoke_invitation(user: User, invitation: AllianceInvitation, now: datetime) -> None:
    alliance = lock_alliance(invitation.alliance_id)
    lead = _acting_lead(user, alliance)
    db.session.refresh(invitation)
    if not invitation.is_pending(now):
        raise InvalidState("This invitation is no longer pending.")
    invitation.revoked_at = now
    db.session.flush()
    audit.record("alliance", alliance.id, "invitation_revoked", version=alliance.version,
                 actor=user, actor_org_id=lead.organisation_id,
                 organisation_id=invitation.organisation_id, invitation_id=invitation.id)


# -- membership ------------------------------------------------------------------------------

def _refuse_losing_last_lead(alliance: Alliance, member: AllianceMember, verb: str) -> None:
    if member.role == AllianceRole.LEAD and lead_count(alliance) <= 1:
        raise InvalidState(f"{member.organisation.name} is the last lead and cannot {verb}. "
                           "Make another member a lead first, or dissolve the alliance.")


def leave_alliance(user: User, alliance: Alliance, org: Organisation) -> None:
    alliance = lock_alliance(alliance.id)
    if not is_org_manager(user, org):
        raise PermissionDenied("Only owners and admins can take their organisation out.")
    _require_live(alliance)
    member = _fresh_member(alliance, org.id)
    if member is None:
        raise NotFound(f"{org.name} is not a member of this alliance.")
    _refuse_losing_last_lead(alliance, member, "leave")
    db.session.delete(member)
    db.session.flush()
    audit.record("alliance", alliance.id, "member_left", version=alliance.version, actor=user,
                 actor_org_id=org.id, organisation_id=org.id)
    activity.log(ActivityKind.MEMBER_LEFT, alliance=alliance, organisation=org)
    notify(_lead_managers(alliance), "alliance_member_left",
           f"{org.name} left {alliance.name}",
           link=url_for("alliances.members", slug=alliance.slug))
    _changed(alliance)


def remove_member(user: User, alliance: Alliance, member: AllianceMember) -> None:
    alliance = lock_alliance(alliance.id)
    lead = _acting_lead(user, alliance)
    _require_live(alliance)
    member = _fresh_member(alliance, member.organisation_id)
    if member is None:
        raise NotFound("This organisation is no longer a member.")
    _refuse_losing_last_lead(alliance, member, "be removed")
    org = member.organisation
    db.session.delete(member)
    db.session.flush()
    audit.record("alliance", alliance.id, "member_removed", version=alliance.version,
                 actor=user, actor_org_id=lead.organisation_id, organisation_id=org.id)
    activity.log(ActivityKind.MEMBER_REMOVED, alliance=alliance, organisation=org)
    notify(org_managers(org), "alliance_member_removed",
           f"{org.name} was removed from {alliance.name}",
           link=url_for("alliances.show", slug=alliance.slug))
    _changed(alliance)


def set_member_role(user: User, alliance: Alliance, member: AllianceMember,
                    role: AllianceRole) -> AllianceMember:
    """Promote to lead or demote to member; the last lead cannot be demoted."""
    alliance = lock_alliance(alliance.id)
    lead = _acting_lead(user, alliance)
    _require_live(alliance)
    member = _fresh_member(alliance, member.organisation_id)
    if member is None:
        raise NotFound("This organisation is no longer a member.")
    if member.role == role:
        return member
    if role == AllianceRole.MEMBER:
        _refuse_losing_last_lead(alliance, member, "step down")
    member.role = role
    db.session.flush()
    action = "lead_promoted" if role == AllianceRole.LEAD else "lead_demoted"
    audit.record("alliance", alliance.id, action, version=alliance.version, actor=user,
                 actor_org_id=lead.organisation_id, organisation_id=member.organisation_id)
    notify(org_managers(member.organisation), f"alliance_{action}",
           f"{member.organisation.name} is now {role.value} of {alliance.name}",
           link=url_for("alliances.show", slug=alliance.slug))
    _changed(alliance)
    return member


# -- reading ---------------------------------------------------------------------------------

def public_alliances(*, page: int = 1, per_page: int = 24):
    return db.paginate(
        select(Alliance).where(Alliance.hidden_at.is_(None), Alliance.dissolved_at.is_(None))
        .order_by(Alliance.name), page=page, per_page=per_page, error_out=False)


def alliances_of(org: Organisation, *, include_dissolved: bool = False) -> list[
        tuple[Alliance, AllianceRole]]:
    """The public alliances an organisation belongs to, with its role: for profile pages."""
    query = (select(Alliance, AllianceMember.role).join(AllianceMember)
             .where(AllianceMember.organisation_id == org.id, Alliance.hidden_at.is_(None))
             .order_by(Alliance.name))
    if not include_dissolved:
        query = query.where(Alliance.dissolved_at.is_(None))
    return [(a, r) for a, r in db.session.execute(query)]


def managed_organisations(user: User) -> list[Organisation]:
    """Organisations the user acts for as owner/admin, the acting one first."""
    orgs = [o for o in organisations_of(user) if is_org_manager(user, o)]
    acting = acting_organisation(user)
    orgs.sort(key=lambda o: (acting is None or o.id != acting.id, o.name.lower()))
    return orgs


def organisation_options(limit: int = 500) -> list[Organisation]:
    """Names offered for autocompletion when inviting or crediting (public ones only)."""
    return list(db.session.scalars(select(Organisation).where(Organisation.hidden_at.is_(None))
                                   .order_by(Organisation.name).limit(limit)))
