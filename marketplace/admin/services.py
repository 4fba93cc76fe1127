"""Site-admin moderation."""

from datetime import datetime

from marketplace.auth.services import end_all_sessions
from marketplace.errors import InvalidState, PermissionDenied
from marketplace.extensions import db
from marketplace.models import Organisation, User
from marketplace.permissions import can_suspend, is_site_admin


def suspend_user(actor: User, target: User, now: datetime) -> None:
    if not can_suspend(actor, target):
        raise PermissionDenied("You cannot suspend this account.")
    if target.is_suspended:
        raise InvalidState("This account is already suspended.")
    target.suspended_at = now
    end_all_sessions(target)  # its sessions die on their next request
    db.session.flush()


def reinstate_user(actor: User, target: User) -> None:
    if not can_suspend(actor, target):
        raise PermissionDenied("You cannot reinstate this account.")
    target.suspended_at = None
    db.session.flush()


def set_organisation_hidden(actor: User, org: Organisation, hidden: bool, now: datetime) -> None:
    if not is_site_admin(actor):
        raise PermissionDenied("Only site admins moderate organisations.")
    org.hidden_at = now if hidden else None
    db.session.flush()
