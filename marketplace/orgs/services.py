"""Organisation use cases: create, invite, roles, leave, and the organisation a user acts for."""

import re
import unicodedata
from datetime import datetime

from flask import current_app, session, url_for
from sqlalchemy import func, select

from marketplace import mail
from marketplace.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.models import Membership, Organisation, OrgInvitation, OrgRole, User
from marketplace.permissions import (
    can_assign_role,
    can_change_member,
    can_manage_members,
    membership_of,
)
from marketplace.tokens import hash_token, new_token

RESERVED_SLUGS = frozenset({"new", "switch", "invitations", "admin", "api", "static", "edit"})
ACTING_ORG_KEY = "acting_org_id"


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:70].strip("-") or "organisation"


def _slug_taken(slug: str) -> bool:
    return slug in RESERVED_SLUGS or db.session.scalar(
        select(Organisation.id).where(Organisation.slug == slug)) is not None


def unique_slug(base: str) -> str:
    slug, n = base, 2
    while _slug_taken(slug):
        slug = f"{base}-{n}"
        n += 1
    return slug


def lock_organisation(org_id: int) -> Organisation:
    """Serialise changes to one organisation's membership (row lock on PostgreSQL;
    SQLite write transactions are already serial through BEGIN IMMEDIATE)."""
    org = db.session.scalar(select(Organisation).where(Organisation.id == org_id)
                            .with_for_update())
    if org is None:
        raise NotFound("No such organisation.")
    return org


def create_organisation(user: User, name: str, summary: str = "", slug: str | None = None,
                        *, is_buyer: bool = False) -> Organisation:
    if slug:
        if _slug_taken(slug):
            raise ValidationFailed("This web address is taken; choose another.")
    else:
        slug = unique_slug(slugify(name))
    org = Organisation(name=name, slug=slug, summary=summary or "", is_buyer=is_buyer)
    org.memberships.append(Membership(user=user, role=OrgRole.OWNER))
    db.session.add(org)
    db.session.flush()
    return org


def owner_count(org: Organisation) -> int:
    return db.session.scalar(select(func.count()).select_from(Membership).where(
        Membership.organisation_id == org.id, Membership.role == OrgRole.OWNER))


def invite_member(actor: User, org: Organisation, email: str, role: OrgRole,
                  now: datetime) -> OrgInvitation:
    if not can_manage_members(actor, org):
        raise PermissionDenied("Only owners and admins can invite people.")
    if not can_assign_role(actor, org, role):
        raise PermissionDenied("Only owners can invite new owners.")
    email = email.strip().lower()
    already = db.session.scalar(
        select(Membership.id).join(User).where(Membership.organisation_id == org.id,
                                               User.email == email))
    if already:
        raise ValidationFailed("This person is already a member.")
    # A new invitation replaces any pending one for the same address.
    for old in db.session.scalars(select(OrgInvitation).where(
            OrgInvitation.organisation_id == org.id, OrgInvitation.email == email)):
        if old.is_pending(now):
            old.revoked_at = now
    token, token_hash = new_token()
    invitation = OrgInvitation(
        organisation_id=org.id, email=email, role=role, token_hash=token_hash,
        invited_by_id=actor.id, expires_at=now + current_app.config["ORG_INVITATION_TTL"])
    db.session.add(invitation)
    db.session.flush()
    mail.queue_email(email, f"You are invited to join {org.name} on Guild", "org_invitation",
                     sensitive=True, organisation=org, inviter=actor, role=role,
                     link=url_for("orgs.invitation", token=token, _external=True),
                     expires_at=invitation.expires_at)
    return invitation


def find_invitation_by_token(token: str) -> OrgInvitation | None:
    if not token or len(token) > 200:
        return None
    return db.session.scalar(select(OrgInvitation)
                             .where(OrgInvitation.token_hash == hash_token(token)))


def pending_invitations_for(user: User, now: datetime) -> list[OrgInvitation]:
    rows = db.session.scalars(select(OrgInvitation).where(
        OrgInvitation.email == user.email, OrgInvitation.accepted_at.is_(None),
        OrgInvitation.declined_at.is_(None), OrgInvitation.revoked_at.is_(None),
        OrgInvitation.expires_at > now).order_by(OrgInvitation.created_at.desc()))
    return list(rows)


def _claim_invitation(user: User, invitation: OrgInvitation, now: datetime) -> None:
    if invitation.email != user.email:
        raise PermissionDenied("This invitation was sent to another e-mail address.")
    lock_organisation(invitation.organisation_id)
    db.session.refresh(invitation)
    if not invitation.is_pending(now):
        raise InvalidState("This invitation has expired or was already used.")


def accept_invitation(user: User, invitation: OrgInvitation, now: datetime) -> Membership:
    _claim_invitation(user, invitation, now)
    invitation.accepted_at = now
    invitation.accepted_by_id = user.id
    org = invitation.organisation
    membership = membership_of(user, org)
    if membership is None:
        membership = Membership(organisation_id=org.id, user_id=user.id, role=invitation.role)
        db.session.add(membership)
    db.session.flush()
    return membership


def decline_invitation(user: User, invitation: OrgInvitation, now: datetime) -> None:
    _claim_invitation(user, invitation, now)
    invitation.declined_at = now
    db.session.flush()


def revoke_invitation(actor: User, invitation: OrgInvitation, now: datetime) -> None:
    if not can_manage_members(actor, invitation.organisation):
        raise PermissionDenied("Only owners and admins can revoke invitations.")
    if not invitation.is_pending(now):
        raise InvalidState("This invitation is no longer pending.")
    invitation.revoked_at = now
    db.session.flush()


def change_role(actor: User, membership: Membership, role: OrgRole) -> None:
    org = lock_organisation(membership.organisation_id)
    db.session.refresh(membership)
    if not (can_change_member(actor, membership) and can_assign_role(actor, org, role)):
        raise PermissionDenied("You cannot give or take this role.")
    if membership.role == OrgRole.OWNER and role != OrgRole.OWNER and owner_count(org) <= 1:
        raise InvalidState("An organisation needs at least one owner. Make someone else an "
                           "owner first.")
    membership.role = role
    db.session.flush()


def remove_member(actor: User, membership: Membership) -> None:
    org = lock_organisation(membership.organisation_id)
    db.session.refresh(membership)
    if membership.user_id == actor.id:
        raise InvalidState("Use “Leave organisation” to remove yourself.")
    if not can_change_member(actor, membership):
        raise PermissionDenied("You cannot remove this member.")
    if membership.role == OrgRole.OWNER and owner_count(org) <= 1:
        raise InvalidState("An organisation needs at least one owner.")
    db.session.delete(membership)
    db.session.flush()


def leave_organisation(user: User, org: Organisation) -> None:
    org = lock_organisation(org.id)
    membership = membership_of(user, org)
    if membership is None:
        raise NotFound("You are not a member of this organisation.")
    if membership.role == OrgRole.OWNER and owner_count(org) <= 1:
        raise InvalidState("You are the last owner. Make someone else an owner before you "
                           "leave.")
    db.session.delete(membership)
    db.session.flush()


# -- the organisation a user acts for -------------------------------------------------------

def organisations_of(user: User) -> list[Organisation]:
    if not getattr(user, "is_authenticated", False):
        return []
    return list(db.session.scalars(
        select(Organisation).join(Membership).where(Membership.user_id == user.id)
        .order_by(Organisation.name)))


def acting_organisation(user: User) -> Organisation | None:
    """The organisation chosen in this session, if the user still belongs to it; otherwise
    their first one. Membership is re-checked on every call, never trusted from the cookie."""
    orgs = organisations_of(user)
    if not orgs:
        return None
    chosen = session.get(ACTING_ORG_KEY)
    for org in orgs:
        if org.id == chosen:
            return org
    return orgs[0]


def switch_acting_organisation(user: User, org_id: int) -> Organisation:
    for org in organisations_of(user):
        if org.id == org_id:
            session[ACTING_ORG_KEY] = org.id
            return org
    raise NotFound("No such organisation.")
