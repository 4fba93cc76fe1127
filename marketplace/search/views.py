"""Search pages: /search, saved searches, and the panels other pages include (matches and the
team builder on a tender page, "tenders for you" on the dashboard).

Every query string gives a page: what cannot be used is ignored and said in a note.
"""

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.datastructures import MultiDict

from marketplace import cpv
from marketplace.clock import now
from marketplace.data.gazetteer import find_town, load_gazetteer
from marketplace.errors import DomainError, NotFound
from marketplace.extensions import db
from marketplace.forms import EmptyForm
from marketplace.models import Tender
from marketplace.search import alerts, bp, service
from marketplace.search import services as views_model
from marketplace.search.forms import (
    KIND_TABS,
    MAX_Q_CHARS,
    RADIUS_CHOICES,
    SIZE_CHOICES,
    STATUS_CHOICES,
    SaveSearchForm,
    SearchForm,
)

DEFAULT_RADIUS_KM = 25
_PAGE = re.compile(r"[0-9]{1,6}")
MAX_PAGE = 500
# Parameters that make up a search (and a saved search); anything else is dropped.
PARAM_NAMES = ("q", "kind", "division", "group", "cpv_class", "near", "within", "size",
               "cert", "status")


def _page_number(raw: str | None) -> int:
    raw = (raw or "").strip()
    # ASCII digits only: str.isdigit() accepts "¹", which int() refuses
    if not _PAGE.fullmatch(raw):
        return 1
    return max(1, min(int(raw), MAX_PAGE))


def _cpv_prefix(form: SearchForm, notes: list[str]) -> str | None:
    """The deepest consistent choice of division > group > class (as in the directory)."""
    division, group, cls = (form.division.data or "", form.group.data or "",
                            form.cpv_class.data or "")
    prefix = None
    if division:
        if len(division) == 2 and division.isdigit() and cpv.prefix_label(division):
            prefix = division
        else:
            notes.append("We ignored an unknown CPV division.")
    if prefix and group.startswith(prefix) and len(group) == 3 and cpv.prefix_label(group):
        prefix = group
        if cls.startswith(prefix) and len(cls) == 4 and cpv.prefix_label(cls):
            prefix = cls
    form.division.data = prefix[:2] if prefix else ""
    form.group.data = prefix[:3] if prefix and len(prefix) >= 3 else ""
    form.cpv_class.data = prefix[:4] if prefix and len(prefix) >= 4 else ""
    return prefix


def _params(form: SearchForm, cert_names: list[str], notes: list[str]
            ) -> views_model.SearchParams:
    raw_q = request.args.get("q", "")
    if len(raw_q.strip()) > MAX_Q_CHARS:
        notes.append(f"Searches are limited to {MAX_Q_CHARS} characters; we used the first "
                     f"{MAX_Q_CHARS}.")
    p = views_model.SearchParams(q=form.q.data or "")
    kind = form.kind.data or ""
    if kind in dict(KIND_TABS):
        p.kind = kind or None
    else:
        form.kind.data = ""
    p.cpv_prefix = _cpv_prefix(form, notes)
    near = (form.near.data or "")[:120]
    if near:
        p.town = find_town(near)
        if p.town is None:
            notes.append(f"We do not know the town “{near}”; choose one from the list.")
            form.near.data = ""
        else:
            form.near.data = p.town.name
            within = form.within.data or ""
            if within not in dict(RADIUS_CHOICES):
                if within:
                    notes.append(f"We used {DEFAULT_RADIUS_KM} km.")
                within = str(DEFAULT_RADIUS_KM)
            form.within.data = within
            p.within_km = int(within)
    if form.size.data:
        if form.size.data in dict(SIZE_CHOICES):
            p.size = form.size.data
        else:
            notes.append("We ignored an unknown size band.")
            form.size.data = ""
    if form.cert.data:
        if form.cert.data in cert_names:
            p.cert = form.cert.data
        else:
            notes.append("No listed business holds that certification now; we ignored it.")
            form.cert.data = ""
    if form.status.data:
        if form.status.data in dict(STATUS_CHOICES):
            p.status = form.status.data
        else:
            form.status.data = ""
    p.page = _page_number(request.args.get("page"))
    return p


def _canonical_args(form: SearchForm) -> dict:
    args = {name: form[name].data for name in PARAM_NAMES}
    if not form.near.data:
        args.pop("within")
    return {k: v for k, v in args.items() if v}


def _choices(form: SearchForm, cert_names: list[str]) -> None:
    form.division.choices = [("", "Any division"),
                             *[(p, f"{p} {lbl}") for p, lbl in cpv.children("")]]
    form.group.choices = [("", "Any group"), *[(p, f"{p} {lbl}") for p, lbl in
                                                 cpv.children(form.division.data)]] \
        if form.division.data else [("", "Any group")]
    form.cpv_class.choices = [("", "Any class"), *[(p, f"{p} {lbl}") for p, lbl in
                                                     cpv.children(form.group.data)]] \
        if form.group.data else [("", "Any class")]
    form.cert.choices = [("", "Any or none"), *[(n, n) for n in cert_names]]
    if not form.within.data:
        form.within.data = str(DEFAULT_RADIUS_KM)


def _certification_names(today) -> list[str]:
    from marketplace.profiles.services import certification_names

    return certification_names(today)


@bp.route("/search")
def index():
    form = SearchForm(request.args)
    today = now().date()
    cert_names = _certification_names(today)
    notes: list[str] = []
    params = _params(form, cert_names, notes)
    _choices(form, cert_names)
    args = _canonical_args(form)
    result = None
    if params.q.strip() or params.cpv_prefix or params.town or params.size or params.cert \
            or params.status:
        if not params.q.strip():
            notes.append("Type some words to search; filters narrow a search down.")
        else:
            result = views_model.run_search(params, service.filters_from_params(args),
                                            today=today)
            if params.page > result.pages and result.total:
                notes.append(f"There are only {result.pages} page(s) of results.")
    tab_args = {k: v for k, v in args.items() if k != "kind"}
    return render_template(
        "search/index.html", form=form, result=result, notes=notes, args=args,
        tab_args=tab_args, params=params, tabs=KIND_TABS, towns=load_gazetteer(),
        save_form=SaveSearchForm(formdata=None) if current_user.is_authenticated else None,
        cpv_filter_label=cpv.prefix_label(params.cpv_prefix) if params.cpv_prefix else None)


# -- saved searches --------------------------------------------------------------------------

def _saved_params() -> dict:
    """The search in the query string, as its canonical parameters."""
    form = SearchForm(request.args)
    notes: list[str] = []
    _params(form, _certification_names(now().date()), notes)
    return _canonical_args(form)


@bp.route("/search/saved")
@login_required
def saved():
    return render_template("search/saved.html",
                           searches=alerts.saved_searches_for(current_user),
                           form=EmptyForm(), describe=describe_params)


@bp.route("/search/save", methods=["POST"])
@login_required
def save():
    form = SaveSearchForm()
    params = _saved_params()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for("search.index", **params))
    try:
        # a MultiDict: alerts._clean_params calls items(multi=False)
        alerts.save_search(current_user, MultiDict(params), label=form.name.data or "")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("search.index", **params))
    db.session.commit()
    flash("Search saved. New tenders that match it will reach your inbox; find it again on "
          "your dashboard.", "success")
    return redirect(url_for("search.index", **params))


@bp.route("/search/saved/<int:search_id>/delete", methods=["POST"])
@login_required
def delete_saved(search_id: int):
    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        alerts.delete_saved_search(current_user, search_id)
    except NotFound:
        abort(404)
    db.session.commit()
    flash("Saved search deleted.", "success")
    target = request.args.get("next", "")
    return redirect(url_for("main.dashboard") if target == "dashboard"
                    else url_for("search.saved"))


def describe_params(params: dict) -> str:
    """A saved search in words: “roofing” · Businesses · near Bath (25 km)."""
    parts = [f"“{params.get('q', '')}”"]
    kinds = dict(KIND_TABS)
    if params.get("kind") in kinds and params.get("kind"):
        parts.append(kinds[params["kind"]])
    code = params.get("cpv_class") or params.get("group") or params.get("division")
    if code:
        parts.append(f"CPV {code}")
    if params.get("near"):
        parts.append(f"near {params['near']} ({params.get('within', DEFAULT_RADIUS_KM)} km)")
    for key in ("size", "cert", "status"):
        if params.get(key):
            parts.append(str(params[key]))
    return " · ".join(parts)


def saved_search_url(params: dict) -> str:
    return url_for("search.index", **{k: v for k, v in params.items() if k in PARAM_NAMES})


# -- panels included by other blueprints' pages ------------------------------------------------

@bp.app_context_processor
def _search_panels():
    def tender_search_panels(tender: Tender):
        from marketplace.orgs.services import acting_organisation

        acting = acting_organisation(current_user) if current_user.is_authenticated else None
        return views_model.tender_panels(current_user, tender, acting, now().date())

    def tenders_for_you():
        from marketplace.orgs.services import acting_organisation

        if not current_user.is_authenticated:
            return None, []
        org = acting_organisation(current_user)
        return org, views_model.tenders_for_you(org)

    def my_saved_searches():
        if not current_user.is_authenticated:
            return []
        return alerts.saved_searches_for(current_user)

    return {"tender_search_panels": tender_search_panels, "tenders_for_you": tenders_for_you,
            "my_saved_searches": my_saved_searches, "describe_search": describe_params,
            "saved_search_url": saved_search_url, "saved_delete_form": EmptyForm}
