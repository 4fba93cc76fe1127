from flask import redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select, text

from marketplace.clock import now
from marketplace.extensions import db
from marketplace.forms import EmptyForm
from marketplace.main import bp
from marketplace.models import Membership, Organisation
from marketplace.orgs.services import organisations_of, pending_invitations_for


@bp.route("/")
def index():
    stats = {
        "organisations": db.session.scalar(
            select(func.count(Organisation.id)).where(Organisation.hidden_at.is_(None))),
    }
    return render_template("main/index.html", stats=stats)


@bp.route("/dashboard")
@login_required
def dashboard():
    orgs = organisations_of(current_user)
    roles = {m.organisation_id: m.role for m in db.session.scalars(
        select(Membership).where(Membership.user_id == current_user.id))}
    return render_template("main/dashboard.html", orgs=orgs, roles=roles,
                           invitations=pending_invitations_for(current_user, now()),
                           form=EmptyForm())


@bp.route("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}


@bp.route("/about")
def about():
    return render_template("main/about.html")


@bp.route("/me")
@login_required
def me():
    return redirect(url_for("auth.account"))


