"""Plumbing shared by the blueprints' views: loading an object the user may see, and
turning a refused domain action into a flashed message.

Each blueprint keeps its own one-line loaders (``_load(slug)``) so its views read as the
domain; the 404-versus-403 rule and the rollback-before-flash rule live here, once.
"""

from collections.abc import Callable
from typing import TypeVar

from flask import abort, flash, redirect, url_for
from flask_login import current_user
from sqlalchemy import select

from marketplace.errors import DomainError
from marketplace.extensions import db

T = TypeVar("T")


def visible_or_404(obj: T | None, may_view: Callable[[object, T], bool]) -> T:
    """The object, or 404 -- for a missing one and for one this user may not see alike, so
    that a probe cannot tell a private object from an id that was never used."""
    if obj is None or not may_view(current_user, obj):
        abort(404)
    return obj


def get_visible_or_404(model: type[T], ident: int, may_view: Callable[[object, T], bool]) -> T:
    return visible_or_404(db.session.get(model, ident), may_view)


def slug_visible_or_404(model: type[T], slug: str, may_view: Callable[[object, T], bool]) -> T:
    return visible_or_404(db.session.scalar(select(model).where(model.slug == slug)), may_view)


def child_or_404(model: type[T], ident: int, parent_key: str, parent_id: int) -> T:
    """A row addressed under its parent's URL (``/projects/3/photos/9``): 404 unless it really
    belongs to that parent, so one object's rights never reach another's children."""
    obj = db.session.get(model, ident)
    if obj is None or getattr(obj, parent_key) != parent_id:
        abort(404)
    return obj


def refuse(exc: DomainError, endpoint: str, **values):
    """Undo whatever the refused action had flushed, say why, and go back (Post/Redirect/Get)."""
    db.session.rollback()
    flash(exc.message, "error")
    return redirect(url_for(endpoint, **values))


def flash_form_errors(form, *, labelled: bool = False) -> None:
    """Errors of a form posted from a page that does not re-render it (a button row)."""
    for name, errors in form.errors.items():
        label = form[name].label.text if labelled and name in form and name != "csrf_token" else ""
        for error in errors:
            flash(f"{label}: {error}" if label else error, "error")
