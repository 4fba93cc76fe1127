"""Bid pages. Before the deadline a bid exists only for its members: anyone else gets 404."""

import re
from decimal import Decimal

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.routing import BuildError

from marketplace import permissions
from marketplace.auth.decorators import recent_login_required
from marketplace.bids import bp, eligibility, services
from marketplace.bids.forms import (
    AddMemberForm,
    ApproveForm,
    BidForm,
    DisqualifyForm,
    DocumentForm,
    StartBidForm,
    VersionForm,
)
from marketplace.clock import now
from marketplace.errors import DomainError, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.faults import fault_point
from marketplace.forms import EmptyForm, require_button_form
from marketplace.models import Bid, BidRole, BidState, Tender, User
from marketplace.models.bid import EDITABLE_STATES
from marketplace.view_helpers import get_visible_or_404

SUGGESTED_MEMBER = re.compile(r"[a-z0-9][a-z0-9-]{0,79}")

# -- loading --------------------------------------------------------------------------------

def _tender_or_404(tender_id: int) -> Tender:
    return get_visible_or_404(Tender, tender_id, permissions.can_view_tender)


def _bid_or_404(bid_id: int) -> Bid:
    # Existence itself is sealed: outsiders, the buyer before the deadline and site admins
    # all get the same 404 as for an id that was never used.
    return get_visible_or_404(Bid, bid_id,
                              lambda user, bid: permissions.can_view_bid(user, bid, now()))


def tender_url(tender: Tender) -> str:
    try:
        return url_for("tenders.show", tender_id=tender.id)
    except BuildError:  # the tenders blueprint lands separately
        return "#"


def _done(message: str, bid: Bid, endpoint: str = "bids.show"):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for(endpoint, bid_id=bid.id))


def _refused(exc: DomainError, bid_id: int, endpoint: str = "bids.show"):
    if isinstance(exc, PermissionDenied):
        raise exc  # a 403 page, not a flash: the button should never have been shown
    db.session.rollback()
    flash(exc.message, "error")
    return redirect(url_for(endpoint, bid_id=bid_id))


def _context(bid: Bid, **extra) -> dict:
    moment = now()
    member = permissions.is_bid_member(current_user, bid)
    approvals = services.approvals_for(bid) if member else []
    return dict(
        bid=bid, tender=bid.tender, tender_url=tender_url(bid.tender), now=moment,
        is_member=member, can_edit=member and permissions.can_edit_bid(current_user, bid),
        approvable_orgs=permissions.bid_orgs_managed_by(current_user, bid) if member else [],
        approvals={a.organisation_id: a for a in approvals},
        before_deadline=not permissions.deadline_passed(bid.tender, moment),
        labels=services.STATE_LABELS, editable=bid.state in EDITABLE_STATES,
        eligibility=eligibility.check_bid(bid, moment),
        conflicts=services.conflicts_for(current_user, bid) if member else [],
        version_form=VersionForm(version=bid.version), **extra)


# -- my bids and starting one ---------------------------------------------------------------

@bp.route("/bids")
@login_required
def index():
    bids = services.bids_of_user(current_user)
    return render_template("bids/index.html", bids=bids, labels=services.STATE_LABELS,
                           now=now())


@bp.route("/tenders/<int:tender_id>/bids/new", methods=["GET", "POST"])
@login_required
def new(tender_id: int):
    tender = _tender_or_404(tender_id)
    form = StartBidForm()
    form.party.choices = services.parties_for(current_user, tender)
    if not form.party.choices:
        abort(403)
    existing = services.my_bids_for_tender(current_user, tender)
    if form.validate_on_submit():
        try:
            bid = services.create_bid(current_user, tender, form.party.data, now())
        except DomainError as exc:
            db.session.rollback()
            form.party.errors.append(exc.message)
        else:
            db.session.commit()
            flash("Draft bid started. Add partners, shares, price and proposal, then ask "
                  "every member to approve.", "success")
            # A partner suggested by the teaming board or team builder: pre-filled, not added.
            return redirect(url_for("bids.edit", bid_id=bid.id,
                                    member=_suggested_member() or None))
    return render_template("bids/new.html", tender=tender, form=form, existing=existing,
                           tender_url=tender_url(tender), labels=services.STATE_LABELS)


def _suggested_member() -> str:
    """The ``member=<organisation slug>`` hint, if it looks like a slug at all."""
    slug = (request.values.get("member") or "").strip().lower()
    return slug if SUGGESTED_MEMBER.fullmatch(slug) else ""


# -- one bid --------------------------------------------------------------------------------

@bp.route("/bids/<int:bid_id>")
@login_required
def show(bid_id: int):
    bid = _bid_or_404(bid_id)
    return render_template("bids/show.html", tab="overview", **_context(bid, form=EmptyForm()))


@bp.route("/bids/<int:bid_id>/history")
@login_required
def history(bid_id: int):
    bid = _bid_or_404(bid_id)
    if not permissions.can_view_bid_history(current_user, bid, now()):
        abort(404)
    events = services.history(bid)
    actors = {u.id: u.display_name for u in db.session.scalars(select(User).where(
        User.id.in_({e.actor_user_id for e in events if e.actor_user_id})))}
    return render_template("bids/history.html", tab="history", events=events, actors=actors,
                           versions=services.versions_of(bid), **_context(bid))


@bp.route("/bids/<int:bid_id>/receipt")
@login_required
def receipt(bid_id: int):
    bid = _bid_or_404(bid_id)
    if not permissions.is_bid_member(current_user, bid) or bid.submitted_at is None:
        abort(404)
    return render_template("bids/receipt.html", receipt=services.receipt(bid), **_context(bid))


def _edit_form(bid: Bid) -> BidForm:
    form = BidForm()
    if request.method == "GET":
        form.version.data = bid.version
        form.price.data = bid.price
        form.currency.data = bid.currency
        form.proposal.data = bid.proposal
        for m in bid.members:
            form.members.append_entry({"organisation_id": m.organisation_id,
                                       "role": m.role.value, "work_share": m.work_share})
    return form


@bp.route("/bids/<int:bid_id>/edit", methods=["GET", "POST"])
@login_required
def edit(bid_id: int):
    bid = _bid_or_404(bid_id)
    if not permissions.can_edit_bid(current_user, bid):
        abort(403)
    form = _edit_form(bid)
    names = {m.organisation_id: m.organisation.name for m in bid.members}
    if form.validate_on_submit():
        lines = [services.MemberLine(organisation_id=entry.organisation_id.data,
                                     role=BidRole(entry.role.data),
                                     work_share=Decimal(entry.work_share.data))
                 for entry in form.members]
        try:
            services.update_bid(current_user, bid.id, form.version.data, price=form.price.data,
                                currency=form.currency.data, proposal=form.proposal.data or "",
                                members=lines, now=now())
        except DomainError as exc:
            db.session.rollback()
            if isinstance(exc, ValidationFailed):
                form.form_errors.append(exc.message)
            else:
                flash(exc.message, "error")
                return redirect(url_for("bids.edit", bid_id=bid.id))
        else:
            return _done(f"Saved as version {bid.version}. Approvals given for earlier "
                         "versions no longer count.", bid)
    return render_template(
        "bids/edit.html", form=form, names=names,
        add_form=AddMemberForm(version=bid.version, organisation=_suggested_member(),
                               formdata=None),
        document_form=DocumentForm(version=bid.version, formdata=None),
        **_context(bid))


@bp.route("/bids/<int:bid_id>/members", methods=["POST"])
@login_required
def add_member(bid_id: int):
    bid = _bid_or_404(bid_id)
    form = AddMemberForm()
    if not form.validate_on_submit():
        flash(" ".join(e for errs in form.errors.values() for e in errs), "error")
        return redirect(url_for("bids.edit", bid_id=bid.id))
    org = services.find_organisation(form.organisation.data)
    if org is None:
        flash("No organisation on Guild has that name or web address.", "error")
        return redirect(url_for("bids.edit", bid_id=bid.id))
    try:
        services.add_member(current_user, bid.id, form.version.data, org,
                            BidRole(form.role.data), now())
    except DomainError as exc:
        return _refused(exc, bid.id, "bids.edit")
    return _done(f"{org.name} added. Give it a work share, then save.", bid, "bids.edit")


@bp.route("/bids/<int:bid_id>/members/alliance", methods=["POST"])
@login_required
def add_alliance_members(bid_id: int):
    bid = _bid_or_404(bid_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.add_alliance_members(current_user, bid.id, form.version.data, now())
    except DomainError as exc:
        return _refused(exc, bid.id, "bids.edit")
    return _done("The alliance's members are on the bid. Share the work, then save.", bid,
                 "bids.edit")


@bp.route("/bids/<int:bid_id>/members/<int:member_id>/remove", methods=["POST"])
@login_required
def remove_member(bid_id: int, member_id: int):
    bid = _bid_or_404(bid_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.remove_member(current_user, bid.id, form.version.data, member_id, now())
    except DomainError as exc:
        return _refused(exc, bid.id, "bids.edit")
    return _done("Member removed; its work share went back to the lead.", bid, "bids.edit")


@bp.route("/bids/<int:bid_id>/documents", methods=["POST"])
@login_required
def upload_document(bid_id: int):
    from marketplace.documents import save_document

    bid = _bid_or_404(bid_id)
    if not permissions.can_edit_bid(current_user, bid):
        abort(403)
    form = DocumentForm()
    if not form.validate_on_submit():
        flash(" ".join(e for errs in form.errors.values() for e in errs), "error")
        return redirect(url_for("bids.edit", bid_id=bid.id))
    try:
        stored = save_document(form.file.data)
        services.add_document(current_user, bid.id, form.version.data,
                              filename=stored.original_name, stored_name=stored.stored_name,
                              content_type=stored.content_type, size=stored.size,
                              sha256=stored.sha256, now=now())
    except DomainError as exc:
        return _refused(exc, bid.id, "bids.edit")
    return _done("Document added.", bid, "bids.edit")


@bp.route("/bids/<int:bid_id>/documents/<int:document_id>/remove", methods=["POST"])
@login_required
def remove_document(bid_id: int, document_id: int):
    bid = _bid_or_404(bid_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.remove_document(current_user, bid.id, form.version.data, document_id, now())
    except DomainError as exc:
        return _refused(exc, bid.id, "bids.edit")
    return _done("Document removed.", bid, "bids.edit")


@bp.route("/bids/<int:bid_id>/documents/<int:document_id>")
@login_required
def document(bid_id: int, document_id: int):
    from marketplace.documents import send_document

    bid = _bid_or_404(bid_id)
    doc = next((d for d in bid.documents if d.id == document_id), None)
    if doc is None:
        abort(404)
    return send_document(doc.stored_name, doc.filename, doc.content_type)


@bp.route("/bids/<int:bid_id>/request-approval", methods=["POST"])
@login_required
def request_approval(bid_id: int):
    bid = _bid_or_404(bid_id)
    form = VersionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.request_approval(current_user, bid.id, form.version.data, now())
    except DomainError as exc:
        return _refused(exc, bid.id)
    return _done(f"Version {bid.version} sent to every member organisation for approval.", bid)


@bp.route("/bids/<int:bid_id>/approve", methods=["GET", "POST"])
@login_required
@recent_login_required
def approve(bid_id: int):
    bid = _bid_or_404(bid_id)
    orgs = permissions.bid_orgs_managed_by(current_user, bid)
    if not orgs:
        abort(403)
    approvals = {a.organisation_id for a in services.approvals_for(bid)}
    pending = [o for o in orgs if o.id not in approvals] or orgs
    form = ApproveForm()
    form.organisation_id.choices = [(o.id, o.name) for o in pending]
    if request.method == "GET":
        form.version.data = bid.version
    if form.validate_on_submit():
        try:
            services.approve(current_user, bid.id, form.organisation_id.data,
                             form.version.data, now())
        except DomainError as exc:
            return _refused(exc, bid.id)
        # Read before the commit: afterwards ``bid`` reloads and may show what a member's
        # approval committed just after this one did (their submission, not ours).
        submitted, version = bid.state == BidState.SUBMITTED, bid.version
        fault_point("bid.approve.before_commit")
        db.session.commit()
        if submitted:
            flash("Approved. That was the last approval: the bid is submitted. Your receipt "
                  "is below and on its way by e-mail.", "success")
            return redirect(url_for("bids.receipt", bid_id=bid.id))
        flash(f"Approved version {version}.", "success")
        return redirect(url_for("bids.show", bid_id=bid.id))
    return render_template("bids/approve.html", form=form,
                           version=services.current_version(bid), **_context(bid))


@bp.route("/bids/<int:bid_id>/withdraw", methods=["POST"])
@login_required
def withdraw(bid_id: int):
    bid = _bid_or_404(bid_id)
    require_button_form()
    try:
        services.withdraw(current_user, bid.id, now())
    except DomainError as exc:
        return _refused(exc, bid.id)
    return _done("Bid withdrawn. Every member has been told.", bid)


# -- the buyer, after the deadline ----------------------------------------------------------

@bp.route("/tenders/<int:tender_id>/bids")
@login_required
def tender_bids(tender_id: int):
    tender = _tender_or_404(tender_id)
    moment = now()
    if not permissions.is_member(current_user, tender.buyer):
        abort(404)
    sealed = not permissions.can_see_bids_of_tender(current_user, tender, moment)
    bids = [] if sealed else services.submitted_bids(tender)
    return render_template(
        "bids/tender_bids.html", tender=tender, bids=bids, sealed=sealed, now=moment,
        tender_url=tender_url(tender), labels=services.STATE_LABELS, form=EmptyForm(),
        disqualify_form=DisqualifyForm(formdata=None),
        can_evaluate=permissions.can_evaluate_bids(current_user, tender, moment))


def _evaluate(tender_id: int, bid_id: int, action, message: str, *args):
    tender = _tender_or_404(tender_id)
    if not permissions.is_member(current_user, tender.buyer):
        abort(404)  # bids of a tender are nobody's business but the buyer's
    try:
        action(current_user, tender.id, bid_id, *args, now())
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("bids.tender_bids", tender_id=tender.id))


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/shortlist", methods=["POST"])
@login_required
def shortlist(tender_id: int, bid_id: int):
    require_button_form()
    return _evaluate(tender_id, bid_id, services.shortlist, "Bid shortlisted.")


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/disqualify", methods=["POST"])
@login_required
def disqualify(tender_id: int, bid_id: int):
    form = DisqualifyForm()
    if not form.validate_on_submit():
        _tender_or_404(tender_id)
        flash("Give the reason for disqualifying the bid (up to 1,000 characters).", "error")
        return redirect(url_for("bids.tender_bids", tender_id=tender_id))
    return _evaluate(tender_id, bid_id, services.disqualify,
                     "Bid disqualified; its members have been told why.", form.reason.data)


@bp.route("/tenders/<int:tender_id>/bids/<int:bid_id>/award", methods=["GET", "POST"])
@login_required
@recent_login_required
def award(tender_id: int, bid_id: int):
    """A confirmation page first: awarding is final and needs a fresh login."""
    tender = _tender_or_404(tender_id)
    if not permissions.can_evaluate_bids(current_user, tender, now()):
        abort(404)
    bid = db.session.get(Bid, bid_id)
    if bid is None or bid.tender_id != tender.id or not permissions.can_view_bid(
            current_user, bid, now()):
        abort(404)
    form = EmptyForm()
    if form.validate_on_submit():
        return _evaluate(tender_id, bid_id, services.award,
                         "Contract awarded. Every bidder has been told the outcome.")
    return render_template("bids/award.html", tender=tender, bid=bid, form=form,
                           tender_url=tender_url(tender), labels=services.STATE_LABELS)


@bp.app_context_processor
def _bid_helpers():
    def bids_panel(tender: Tender) -> dict:
        """What a tender page may show about bids to the current user: only their own."""
        if not getattr(current_user, "is_authenticated", False):
            return {"mine": [], "can_start": False}
        moment = now()
        return {
            "mine": services.my_bids_for_tender(current_user, tender),
            "can_start": (tender.status.value == "open" and not permissions.deadline_passed(
                tender, moment) and bool(services.parties_for(current_user, tender))),
            "is_buyer": permissions.is_member(current_user, tender.buyer),
            "labels": services.STATE_LABELS,
        }

    return {"bids_panel": bids_panel}
