"""Who may do what, as named predicates.

Views, services and templates all ask these, so a hidden button and a refused action never
disagree. Each takes the acting user first; anonymous users are handled here too.
"""

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Membership, Organisation, OrgRole, User

MANAGER_ROLES = (OrgRole.OWNER, OrgRole.ADMIN)


def _is_user(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def membership_of(user, org: Organisation) -> Membership | None:
    if not _is_user(user):
        return None
    return db.session.scalar(
        select(Membership).where(Membership.organisation_id == org.id,
                                 Membership.user_id == user.id))


def is_member(user, org: Organisation) -> bool:
    return membership_of(user, org) is not None


def is_org_manager(user, org: Organisation) -> bool:
    """Owners and admins manage an organisation (profile, members, bids, tenders)."""
    m = membership_of(user, org)
    return m is not None and m.role in MANAGER_ROLES


def is_org_owner(user, org: Organisation) -> bool:
    m = membership_of(user, org)
    return m is not None and m.role == OrgRole.OWNER


def can_view_org_members(user, org: Organisation) -> bool:
    return is_member(user, org) or is_site_admin(user)


def can_manage_members(user, org: Organisation) -> bool:
    return is_org_manager(user, org)


def can_assign_role(user, org: Organisation, role: OrgRole) -> bool:
    """Only owners make or unmake owners; admins manage admins and members."""
    if role == OrgRole.OWNER:
        return is_org_owner(user, org)
    return is_org_manager(user, org)


def can_change_member(user, target: Membership) -> bool:
    """Admins cannot touch owners; owners can touch anyone."""
    org = target.organisation
    if target.role == OrgRole.OWNER:
        return is_org_owner(user, org)
    return is_org_manager(user, org)


def is_site_admin(user) -> bool:
    return _is_user(user) and bool(user.is_site_admin)


def can_suspend(user, target: User) -> bool:
    return is_site_admin(user) and user.id != target.id


def can_view_org(user, org: Organisation) -> bool:
    """Hidden (moderated) organisations are visible to their members and site admins."""
    return org.hidden_at is None or is_member(user, org) or is_site_admin(user)
