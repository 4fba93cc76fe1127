from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.forms import EmptyForm, page_arg, require_button_form
from marketplace.inbox import bp
from marketplace.models import Notification
from marketplace.notifications import mark_read, unread_count
from marketplace.security import safe_next

PER_PAGE = 30


def _mine(notification_id: int) -> Notification:
    row = db.session.get(Notification, notification_id)
    if row is None or row.user_id != current_user.id:
        abort(404)  # someone else's notification does not exist for you
    return row


@bp.route("/inbox")
@login_required
def index():
    only_unread = request.args.get("show") == "unread"
    query = select(Notification).where(Notification.user_id == current_user.id)
    if only_unread:
        query = query.where(Notification.read_at.is_(None))
    page = db.paginate(query.order_by(Notification.created_at.desc(), Notification.id.desc()),
                       page=page_arg(), per_page=PER_PAGE, error_out=False)
    return render_template("inbox/index.html", page=page, form=EmptyForm(),
                           only_unread=only_unread)


@bp.route("/inbox/<int:notification_id>/open", methods=["POST"])
@login_required
def open_notification(notification_id: int):
    """Mark read and follow the link (a POST: opening changes state)."""
    row = _mine(notification_id)
    require_button_form()
    mark_read(current_user, [row.id])
    db.session.commit()
    return redirect(safe_next(row.link, url_for("inbox.index")))


@bp.route("/inbox/<int:notification_id>/read", methods=["POST"])
@login_required
def read(notification_id: int):
    row = _mine(notification_id)
    require_button_form()
    mark_read(current_user, [row.id])
    db.session.commit()
    return redirect(url_for("inbox.index"))


@bp.route("/inbox/read-all", methods=["POST"])
@login_required
def read_all():
    require_button_form()
    mark_read(current_user)
    db.session.commit()
    flash("All notifications are marked read.", "success")
    return redirect(url_for("inbox.index"))


@bp.app_context_processor
def _inbox_unread_count():
    if not current_user.is_authenticated or request.endpoint == "static":
        return {}
    return {"inbox_unread": unread_count(current_user)}
