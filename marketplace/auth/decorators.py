"""Fresh-login guard for sensitive actions (OWASP ASVS 3.7.1)."""

import functools
from datetime import UTC, datetime, timedelta

from flask import current_app, session
from flask_login import current_user, login_fresh

from marketplace.clock import now

FRESH_FOR = timedelta(minutes=15)


def mark_authenticated() -> None:
    session["auth_at"] = now().timestamp()


def is_recently_authenticated() -> bool:
    stamp = session.get("auth_at")
    if not login_fresh() or not isinstance(stamp, int | float):
        return False
    return now() - datetime.fromtimestamp(stamp, UTC) <= FRESH_FOR


def recent_login_required(view):
    """Ask for the password again unless the user typed it in the last 15 minutes."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()
        if not is_recently_authenticated():
            return current_app.login_manager.needs_refresh()
        return view(*args, **kwargs)

    return wrapped
