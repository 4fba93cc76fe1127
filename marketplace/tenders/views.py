from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.routing import BuildError

from marketplace.clock import now
from marketplace.documents import ACCEPT_ATTR, delete_document, save_document, send_document
from marketplace.errors import Conflict, DomainError
from marketplace.extensions import db
from marketplace.forms import require_button_form
from marketplace.models import (
    Alliance,
    AllianceMember,
    AllianceRole,
    AuditEvent,
    TeamingKind,
    Tender,
    TenderDocument,
    TenderStatus,
    User,
)
from marketplace.orgs.services import acting_organisation
from marketplace.permissions import (
    can_ask_clarification,
    can_create_tender,
    can_manage_tender,
    can_post_teaming,
    can_view_tender,
    can_view_tender_history,
    is_member,
)
from marketplace.tenders import bp, clarifications, services, teaming
from marketplace.tenders.forms import (
    DEFAULT_ZONE,
    AnswerForm,
    ContactForm,
    DocumentForm,
    EndTenderForm,
    QuestionForm,
    TeamingPostForm,
    TenderForm,
    TenderSearchForm,
    VersionedActionForm,
    zone_choices,
)
from marketplace.tenders.lifecycle import effective_status, is_open
from marketplace.tenders.listing import PER_PAGE, TenderFilters, distance_km, tender_query
from marketplace.view_helpers import flash_form_errors, get_visible_or_404


def _load(tender_id: int) -> Tender:
    return get_visible_or_404(Tender, tender_id, can_view_tender)


def _load_managed(tender_id: int) -> Tender:
    tender = _load(tender_id)
    if not can_manage_tender(current_user, tender):
        abort(403)
    return tender


def _optional_url(endpoint: str, **values) -> str | None:
    """A link into another engineer's blueprint, if that blueprint is installed."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def viewer_zone() -> str:
    """The zone to print times in without JavaScript: ``?tz=`` if valid, else the site's
    (countdown.js then rewrites the text in the browser's own zone)."""
    zone = request.args.get("tz", "")
    return zone if zone in dict(zone_choices()) else DEFAULT_ZONE


# -- list ---------------------------------------------------------------------------------------

@bp.route("/tenders")
def index():
    form = TenderSearchForm(request.args)
    searched = bool(request.args)
    if searched:
        form.validate()
    clock = now()
    km = form.valid_value("km")
    filters = TenderFilters(
        q=form.valid_value("q"), status=form.status_value(), cpv=form.valid_value("cpv"),
        town=form.valid_value("town"), km=float(km) if km else None,
        budget_min=form.valid_value("budget_min"), budget_max=form.valid_value("budget_max"),
        closing_soon=bool(form.valid_value("closing_soon")),
        sort=form.valid_value("sort") or "deadline")
    if filters.q:
        from marketplace.search.services import matching_ids

        filters.text_ids = matching_ids(filters.q, "tender")
    page = db.paginate(tender_query(filters, clock), page=form.valid_value("page") or 1,
                       per_page=PER_PAGE, error_out=False)
    args = {k: v for k, v in request.args.items() if k != "page" and k in form}
    return render_template(
        "tenders/index.html", form=form, page=page, args=args, now=clock,
        status_of=lambda t: effective_status(t, clock),
        time_left=lambda t: services.humanise_time_left(services.time_left(t, clock)),
        distance=lambda t: distance_km(t, filters.town), zone=viewer_zone())


@bp.route("/tenders/mine")
@login_required
def mine():
    org = acting_organisation(current_user)
    tenders = []
    if org is not None:
        tenders = list(db.session.scalars(select(Tender).where(Tender.buyer_id == org.id)
                                          .order_by(Tender.created_at.desc(), Tender.id)))
    clock = now()
    return render_template("tenders/mine.html", org=org, tenders=tenders,
                           status_of=lambda t: effective_status(t, clock),
                           can_create=can_create_tender(current_user, org), zone=viewer_zone())


# -- create and edit -----------------------------------------------------------------------------

def _apply_term_problems(form: TenderForm) -> bool:
    problems = form.terms().problems()
    for name, message in problems.items():
        target = form.deadline_local if name == "deadline" else form[name]
        target.errors = [*target.errors, message]
    return not problems


@bp.route("/tenders/new", methods=["GET", "POST"])
@login_required
def create():
    org = acting_organisation(current_user)
    if org is None:
        flash("Create or join an organisation first; tenders are posted by organisations.",
              "info")
        return redirect(url_for("orgs.create"))
    if not can_create_tender(current_user, org):
        abort(403)
    form = TenderForm()
    if form.validate_on_submit() and _apply_term_problems(form):
        try:
            tender = services.create_tender(current_user, org, form.terms(), now())
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
        else:
            db.session.commit()
            flash("Draft saved. Add documents if you have any, then publish it.", "success")
            return redirect(url_for("tenders.show", tender_id=tender.id))
    return render_template("tenders/form.html", form=form, org=org, tender=None)


@bp.route("/tenders/<int:tender_id>/edit", methods=["GET", "POST"])
@login_required
def edit(tender_id: int):
    tender = _load_managed(tender_id)
    clock = now()
    status = effective_status(tender, clock)
    if status not in (TenderStatus.DRAFT, TenderStatus.OPEN):
        flash(f"A {status.value} tender cannot be edited.", "error")
        return redirect(url_for("tenders.show", tender_id=tender.id))
    form = TenderForm()
    code = 200
    conflict = False
    if request.method == "GET":
        form.fill_from(tender)
    elif form.validate_on_submit() and _apply_term_problems(form):
        expected = int(form.version.data or 0)
        try:
            services.update_tender(current_user, tender, form.terms(), expected, clock)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            code = exc.status_code
            conflict = isinstance(exc, Conflict)
        else:
            db.session.commit()
            flash("Tender saved.", "success")
            return redirect(url_for("tenders.show", tender_id=tender.id))
    tender = db.session.get(Tender, tender_id)
    if conflict:
        # The buyer's edits stay in the form; saving again overwrites the newer version on
        # purpose, having seen it (shown beside the form).
        form.version.data = str(tender.version)
    return render_template("tenders/form.html", form=form, org=tender.buyer, tender=tender,
                           conflict=conflict,
                           document_form=DocumentForm(formdata=None, version=tender.version),
                           action_form=VersionedActionForm(formdata=None,
                                                           version=tender.version),
                           accept=ACCEPT_ATTR, is_open=status == TenderStatus.OPEN), code


def _versioned_action(tender_id: int, form_class, action, success: str):
    tender = _load_managed(tender_id)
    form = form_class()
    if not form.validate_on_submit():
        flash_form_errors(form, labelled=True)
        return redirect(url_for("tenders.show", tender_id=tender.id))
    try:
        action(tender, form)
    except Conflict:
        raise  # the error page: someone changed the tender since this page was shown
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("tenders.show", tender_id=tender.id))
    db.session.commit()
    flash(success, "success")
    return redirect(url_for("tenders.show", tender_id=tender.id))


@bp.route("/tenders/<int:tender_id>/publish", methods=["POST"])
@login_required
def publish(tender_id: int):
    return _versioned_action(
        tender_id, VersionedActionForm,
        lambda t, f: services.publish_tender(current_user, t, int(f.version.data), now()),
        "The tender is open: firms can see it, ask questions and bid until the deadline.")


@bp.route("/tenders/<int:tender_id>/cancel", methods=["POST"])
@login_required
def cancel(tender_id: int):
    return _versioned_action(
        tender_id, EndTenderForm,
        lambda t, f: services.cancel_tender(current_user, t, f.reason.data,
                                            int(f.version.data), now()),
        "The tender is cancelled.")


@bp.route("/tenders/<int:tender_id>/unsuccessful", methods=["POST"])
@login_required
def unsuccessful(tender_id: int):
    return _versioned_action(
        tender_id, lambda: EndTenderForm(prefix="u"),
        lambda t, f: services.mark_unsuccessful(current_user, t, f.reason.data,
                                                int(f.version.data), now()),
        "The tender is closed without an award.")


@bp.route("/tenders/cpv-codes")
def cpv_lookup():
    """Find CPV codes to paste into the tender form (the profiles' search, read-only)."""
    from marketplace import cpv

    q = (request.args.get("q") or "").strip()[:100]
    results = cpv.search_codes(q, limit=40) if q and all(ord(c) >= 32 for c in q) else []
    return render_template("tenders/cpv_lookup.html", q=q, results=results)


# -- documents ------------------------------------------------------------------------------------

@bp.route("/tenders/<int:tender_id>/documents", methods=["POST"])
@login_required
def upload_document(tender_id: int):
    tender = _load_managed(tender_id)
    form = DocumentForm()
    back = redirect(url_for("tenders.edit", tender_id=tender.id) + "#documents")
    if not form.validate_on_submit():
        flash_form_errors(form, labelled=True)
        return back
    try:
        stored = save_document(form.file.data)
        services.add_document(current_user, tender, stored, int(form.version.data), now())
    except DomainError as exc:
        db.session.rollback()  # also deletes the file written above
        flash(exc.message, "error")
        return back
    db.session.commit()
    flash(f"“{stored.original_name}” is attached.", "success")
    return back


@bp.route("/tenders/<int:tender_id>/documents/<int:document_id>/delete", methods=["POST"])
@login_required
def delete_tender_document(tender_id: int, document_id: int):
    tender = _load_managed(tender_id)
    form = VersionedActionForm()
    back = redirect(url_for("tenders.edit", tender_id=tender.id) + "#documents")
    if not form.validate_on_submit():
        flash_form_errors(form, labelled=True)
        return back
    try:
        document = services.remove_document(current_user, tender, document_id,
                                            int(form.version.data), now())
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return back
    stored_name, name = document.stored_name, document.original_name
    db.session.commit()
    delete_document(stored_name)
    flash(f"“{name}” is removed.", "success")
    return back


@bp.route("/tenders/<int:tender_id>/documents/<int:document_id>")
def download_document(tender_id: int, document_id: int):
    tender = _load(tender_id)
    document = db.session.get(TenderDocument, document_id)
    if document is None or document.tender_id != tender.id:
        abort(404)
    return send_document(document.stored_name, document.original_name, document.content_type)


# -- the tender page -----------------------------------------------------------------------------

@bp.route("/tenders/<int:tender_id>")
def show(tender_id: int):
    tender = _load(tender_id)
    clock = now()
    org = acting_organisation(current_user) if current_user.is_authenticated else None
    manager = can_manage_tender(current_user, tender)
    items = clarifications.clarifications_for(tender)
    return render_template(
        "tenders/show.html", tender=tender, now=clock, status=effective_status(tender, clock),
        is_open=is_open(tender, clock), manager=manager,
        time_left=services.humanise_time_left(services.time_left(tender, clock)),
        zone=viewer_zone(), zones=zone_choices(),
        clarifications=items,
        own_questions={c.id for c in items if org is not None and c.asker_org_id == org.id},
        question_form=QuestionForm() if can_ask_clarification(current_user, tender, org)
        else None,
        answer_form=AnswerForm(formdata=None) if manager else None,
        action_form=VersionedActionForm(formdata=None, version=tender.version),
        end_form=EndTenderForm(formdata=None, version=tender.version),
        unsuccessful_form=EndTenderForm(formdata=None, version=tender.version, prefix="u"),
        is_buyer_member=is_member(current_user, tender.buyer), acting_org=org,
        teaming_count=len(teaming.live_posts(tender)) if is_open(tender, clock) else 0)


@bp.route("/tenders/<int:tender_id>/questions", methods=["POST"])
@login_required
def ask(tender_id: int):
    tender = _load(tender_id)
    form = QuestionForm()
    back = redirect(url_for("tenders.show", tender_id=tender.id) + "#questions")
    if not form.validate_on_submit():
        flash_form_errors(form, labelled=True)
        return back
    try:
        clarifications.ask_question(current_user, acting_organisation(current_user), tender,
                                    form.question.data, now())
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return back
    db.session.commit()
    flash("Your question is sent. The answer will appear here for everyone; you will be "
          "told when it does.", "success")
    return back


@bp.route("/tenders/<int:tender_id>/questions/<int:question_id>/answer", methods=["POST"])
@login_required
def answer(tender_id: int, question_id: int):
    tender = _load_managed(tender_id)
    form = AnswerForm()
    back = redirect(url_for("tenders.show", tender_id=tender.id) + f"#q{question_id}")
    if not form.validate_on_submit():
        flash_form_errors(form, labelled=True)
        return back
    try:
        clarifications.answer_question(current_user, tender, question_id, form.answer.data,
                                       now())
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return back
    db.session.commit()
    flash("Answer published.", "success")
    return back


# -- teaming board -------------------------------------------------------------------------------

def _alliances_led_by(org) -> list[Alliance]:
    if org is None:
        return []
    return list(db.session.scalars(
        select(Alliance).join(AllianceMember).where(
            AllianceMember.organisation_id == org.id, AllianceMember.role == AllianceRole.LEAD,
            Alliance.dissolved_at.is_(None)).order_by(Alliance.name)))


@bp.route("/tenders/<int:tender_id>/teaming", endpoint="teaming")
@login_required
def teaming_board(tender_id: int):
    tender = _load(tender_id)
    clock = now()
    org = acting_organisation(current_user)
    posts = teaming.live_posts(tender)
    mine = next((p for p in posts if org is not None and p.organisation_id == org.id), None)
    form = TeamingPostForm(formdata=None)
    if mine is not None:
        form.kind.data, form.looking_for.data = mine.kind.value, mine.looking_for
        form.message.data = mine.message
    return render_template(
        "tenders/teaming.html", tender=tender, posts=posts, mine=mine, org=org,
        is_open=is_open(tender, clock), status=effective_status(tender, clock),
        can_post=can_post_teaming(current_user, tender, org), form=form,
        contact_form_for=lambda p: ContactForm(formdata=None, prefix=f"p{p.id}"),
        action_form=VersionedActionForm(),
        TeamingKind=TeamingKind, alliances=_alliances_led_by(org),
        alliance_invite_url=lambda a, p: _optional_url(
            "alliances.members", slug=a.slug, invite=p.organisation.slug),
        new_alliance_url=_optional_url("alliances.create"),
        bid_invite_url=lambda p: _optional_url("bids.new", tender_id=tender.id,
                                               member=p.organisation.slug))


@bp.route("/tenders/<int:tender_id>/teaming", methods=["POST"])
@login_required
def post_teaming(tender_id: int):
    tender = _load(tender_id)
    form = TeamingPostForm()
    back = redirect(url_for("tenders.teaming", tender_id=tender.id))
    if not form.validate_on_submit():
        flash_form_errors(form, labelled=True)
        return back
    try:
        teaming.post_on_board(current_user, acting_organisation(current_user), tender,
                              TeamingKind(form.kind.data), form.looking_for.data,
                              form.message.data, now())
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return back
    db.session.commit()
    flash("Your post is on the teaming board.", "success")
    return back


@bp.route("/tenders/<int:tender_id>/teaming/withdraw", methods=["POST"])
@login_required
def withdraw_teaming(tender_id: int):
    tender = _load(tender_id)
    back = redirect(url_for("tenders.teaming", tender_id=tender.id))

    require_button_form()
    try:
        teaming.withdraw_post(current_user, acting_organisation(current_user), tender, now())
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return back
    db.session.commit()
    flash("Your post is withdrawn.", "success")
    return back


@bp.route("/tenders/<int:tender_id>/teaming/<int:post_id>/contact", methods=["POST"])
@login_required
def contact_teaming(tender_id: int, post_id: int):
    tender = _load(tender_id)
    form = ContactForm(prefix=f"p{post_id}")
    back = redirect(url_for("tenders.teaming", tender_id=tender.id))
    if not form.validate_on_submit():
        flash_form_errors(form, labelled=True)
        return back
    try:
        post = teaming.contact_poster(current_user, acting_organisation(current_user), tender,
                                      post_id, form.message.data, now())
    except DomainError as exc:
        db.session.rollback()
        if exc.status_code == 404:
            abort(404)
        flash(exc.message, "error")
        return back
    db.session.commit()
    flash(f"Message sent to {post.organisation.name}.", "success")
    return back


# -- history -------------------------------------------------------------------------------------

@bp.route("/tenders/<int:tender_id>/history")
@login_required
def history(tender_id: int):
    tender = _load(tender_id)
    if not can_view_tender_history(current_user, tender):
        abort(403)
    events = list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.subject_kind == "tender", AuditEvent.subject_id == tender.id)
        .order_by(AuditEvent.id)))
    actor_ids = {e.actor_user_id for e in events if e.actor_user_id}
    actors = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(actor_ids)))}
    return render_template("tenders/history.html", tender=tender, events=events,
                           actors=actors, zone=viewer_zone(),
                           status=effective_status(tender, now()))


@bp.app_template_filter("in_zone")
def _in_zone(value, zone: str = DEFAULT_ZONE, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    """A UTC instant as wall-clock text in an IANA zone, with the zone's abbreviation."""
    if value is None:
        return ""
    from zoneinfo import ZoneInfo

    local = value.astimezone(ZoneInfo(zone if zone in dict(zone_choices()) else DEFAULT_ZONE))
    return f"{local.strftime(fmt)} {local.tzname()}"


@bp.app_template_global("tender_status_label")
def _status_label(status: TenderStatus) -> str:
    return {"draft": "Draft", "open": "Open", "closed": "Closed", "awarded": "Awarded",
            "cancelled": "Cancelled", "unsuccessful": "Unsuccessful"}[status.value]


@bp.app_template_global("cpv_label")
def _cpv_label(code: str) -> str:
    from marketplace import cpv

    return cpv.label(code) or ""


@bp.app_template_global("money_range")
def _money_range(low, high, currency: str) -> str:
    def fmt(value) -> str:
        return f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"

    if low is not None and high is not None and low != high:
        return f"{currency} {fmt(low)} to {fmt(high)}"
    if high is not None:
        return f"up to {currency} {fmt(high)}" if low is None else f"{currency} {fmt(high)}"
    return f"from {currency} {fmt(low)}"
