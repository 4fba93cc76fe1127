import io

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from marketplace.admin import bp, services
from marketplace.admin.forms import ImportForm
from marketplace.clock import now
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.forms import EmptyForm, page_arg, require_button_form
from marketplace.logging_utils import log_security_event
from marketplace.models import EmailMessage, Organisation, Tender, User
from marketplace.permissions import is_site_admin

PAGE_SIZE = 50


@bp.before_request
@login_required
def _site_admins_only():
    if not is_site_admin(current_user):
        log_security_event("access_denied", actor=current_user, reason="admin area")
        abort(403)


def _search_term() -> str:
    q = (request.args.get("q") or "").strip()[:100]
    # No name has control characters, and PostgreSQL refuses a NUL in any parameter (a 500).
    return "".join(c for c in q if c >= " " and c != "\x7f")


@bp.route("/")
def index():
    counts = {
        "users": db.session.scalar(select(func.count(User.id))),
        "organisations": db.session.scalar(select(func.count(Organisation.id))),
        "mail": db.session.scalar(select(func.count(EmailMessage.id))
                                  .where(_not_sealed())),
    }
    return render_template("admin/index.html", counts=counts)


@bp.route("/users")
def users():
    q = _search_term()
    query = select(User).order_by(User.created_at.desc())
    if q:
        like = f"%{q.lower()}%"
        query = query.where(or_(User.email.like(like), func.lower(User.display_name).like(like)))
    page = db.paginate(query, page=page_arg(), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE)
    return render_template("admin/users.html", page=page, q=q, form=EmptyForm())


def _load_user(user_id: int) -> User:
    return db.get_or_404(User, user_id)


@bp.route("/users/<int:user_id>/suspend", methods=["POST"])
def suspend(user_id: int):
    target = _load_user(user_id)
    require_button_form()
    try:
        services.suspend_user(current_user, target, now())
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        log_security_event("account_suspended", actor=current_user, target=f"user:{target.id}")
        flash(f"{target.email} is suspended and logged out everywhere.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/reinstate", methods=["POST"])
def reinstate(user_id: int):
    target = _load_user(user_id)
    require_button_form()
    try:
        services.reinstate_user(current_user, target)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        log_security_event("account_reinstated", actor=current_user, target=f"user:{target.id}")
        flash(f"{target.email} is reinstated.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/organisations")
def organisations():
    q = _search_term()
    query = select(Organisation).order_by(Organisation.name)
    if q:
        query = query.where(func.lower(Organisation.name).like(f"%{q.lower()}%"))
    page = db.paginate(query, page=page_arg(), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE)
    return render_template("admin/organisations.html", page=page, q=q, form=EmptyForm())


@bp.route("/organisations/<int:org_id>/<any(hide, show):action>", methods=["POST"])
def moderate_organisation(org_id: int, action: str):
    org = db.get_or_404(Organisation, org_id)
    require_button_form()
    services.set_organisation_hidden(current_user, org, action == "hide", now())
    db.session.commit()
    log_security_event(f"organisation_{action}", actor=current_user, target=f"org:{org.id}")
    flash(f"{org.name} is {'hidden' if action == 'hide' else 'visible again'}.", "success")
    return redirect(url_for("admin.organisations"))


def _not_sealed():
    """Mail about sealed bids stays out of the outbox pages, envelope and count included,
    until the tender's deadline (SECURITY 23: not even the number of bids shows)."""
    opened = select(Tender.id).where(Tender.id == EmailMessage.sealed_tender_id,
                                     Tender.deadline <= now())
    return or_(EmailMessage.sealed_tender_id.is_(None), opened.exists())


@bp.route("/mail")
def mail_outbox():
    page = db.paginate(select(EmailMessage).where(_not_sealed())
                       .order_by(EmailMessage.id.desc()),
                       page=page_arg(), per_page=PAGE_SIZE, max_per_page=PAGE_SIZE)
    return render_template("admin/mail.html", page=page)


@bp.route("/mail/<int:message_id>")
def mail_message(message_id: int):
    message = db.get_or_404(EmailMessage, message_id)
    if message.sealed_tender_id is not None:
        tender = db.session.get(Tender, message.sealed_tender_id)
        if tender is not None and (tender.deadline is None or tender.deadline > now()):
            abort(404)
    return render_template("admin/mail_message.html", message=message)


DEFAULT_IMPORT_MAX_BYTES = 4 * 1024 * 1024
# Room for the other form fields and the multipart framing around the file.
FORM_OVERHEAD_BYTES = 64 * 1024
REPORT_ROWS_SHOWN = 500


@bp.route("/import", methods=["GET", "POST"])
def import_data():
    """Run an import synchronously; larger files belong to ``flask import`` (docs/import.md)."""
    from marketplace.importers import IMPORTERS

    cap = int(current_app.config.get("IMPORT_MAX_UPLOAD_BYTES", DEFAULT_IMPORT_MAX_BYTES))
    if request.method == "POST":
        if (request.content_length or 0) > cap + FORM_OVERHEAD_BYTES:
            abort(413)
        request.max_content_length = cap + FORM_OVERHEAD_BYTES
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        data = form.file.data.stream.read(cap + 1)
        if len(data) > cap:
            abort(413)
        options = {"source": form.source.data} if form.source.data else {}
        try:
            report = IMPORTERS[form.kind.data](
                io.BytesIO(data), filename=form.file.data.filename or "",
                dry_run=form.dry_run.data, **options)
        except DomainError as exc:
            db.session.rollback()
            form.file.errors.append(exc.message)
        else:
            log_security_event("data_import", actor=current_user, target=form.kind.data,
                               dry_run=report.dry_run, created=report.created,
                               updated=report.updated, failed=report.failed)
    return render_template("admin/import.html", form=form, report=report, cap=cap,
                           rows_shown=REPORT_ROWS_SHOWN)
