"""Profile pages: the editor tabs, the CPV picker, logo serving and the /businesses directory.

The public profile is the organisation's own page (``orgs.show`` renders it through
:func:`render_profile_page`), so every organisation has exactly one address.
"""

from decimal import Decimal

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace import cpv, uploads
from marketplace.clock import now
from marketplace.data.gazetteer import find_town, load_gazetteer
from marketplace.errors import Conflict, DomainError
from marketplace.extensions import db
from marketplace.forms import EmptyForm, require_button_form
from marketplace.models import Organisation, SizeBand
from marketplace.permissions import (
    can_edit_profile,
    can_see_profile_contact,
    can_view_org,
    can_view_profile,
    is_member,
    is_site_admin,
)
from marketplace.profiles import bp, services
from marketplace.profiles.forms import (
    RADIUS_CHOICES,
    SIZE_LABELS,
    SORT_CHOICES,
    CertificationForm,
    CpvCodeForm,
    CpvSearchForm,
    DirectoryForm,
    LogoForm,
    ProfileForm,
    parse_tags,
)
from marketplace.view_helpers import refuse, slug_visible_or_404

LOGO_SIZE = (256, 256)
PER_PAGE = 20
DEFAULT_RADIUS_KM = 25


# -- loading ---------------------------------------------------------------------------------

def _org_or_404(slug: str) -> Organisation:
    return slug_visible_or_404(Organisation, slug, can_view_org)


def _editable_org(slug: str) -> Organisation:
    """The organisation, if the user may edit its profile. Members who may not edit get 403
    (they know the organisation and its draft); everyone else 404, as if there were nothing
    to edit."""
    org = _org_or_404(slug)
    if not can_edit_profile(current_user, org):
        abort(403 if (is_member(current_user, org) or is_site_admin(current_user)) else 404)
    return org


def _editor_context(org: Organisation, tab: str) -> dict:
    return {"org": org, "profile": org.profile, "tab": tab,
            "completeness": services.completeness(org), "action_form": EmptyForm(),
            "publish_missing": services.publish_requirements(org),
            "size_labels": SIZE_LABELS}


# -- the public page (rendered by orgs.show) ---------------------------------------------------

def render_profile_page(org: Organisation):
    profile = org.profile
    visible = profile is not None and can_view_profile(current_user, org)
    today = now().date()
    context = {"org": org, "profile": profile if visible else None,
               "can_edit": can_edit_profile(current_user, org),
               "show_contact": visible and can_see_profile_contact(current_user, org),
               "size_labels": SIZE_LABELS, "today": today, "action_form": EmptyForm()}
    if visible:
        context.update(
            cpv_entries=[(c.code, cpv.label(c.code) or "", _cpv_path(c.code))
                         for c in profile.cpv_codes],
            valid_certs=services.valid_certifications(profile, today),
            completeness=services.completeness(org) if context["can_edit"] else None)
    return render_template("profiles/show.html", **context)


def _cpv_path(code: str) -> list[tuple[str, str]]:
    return [(c, cpv.label(c) or "") for c in cpv.ancestors(code)[:-1]]


@bp.route("/orgs/<slug>/logo/<name>")
def logo(slug: str, name: str):
    org = _org_or_404(slug)
    profile = org.profile
    # Only the current logo, and only for those who may see the profile.
    if (profile is None or not profile.logo_filename or name != profile.logo_filename
            or not can_view_profile(current_user, org)):
        abort(404)
    response = uploads.send_upload("logo", name, download_name=f"{org.slug}-logo")
    if response is None:
        abort(404)
    return response


# -- editing the details ---------------------------------------------------------------------

def _form_data(form: ProfileForm) -> services.ProfileData:
    def num(value: Decimal | None) -> float | None:
        return None if value is None else float(value)

    return services.ProfileData(
        name=form.name.data, summary=form.summary.data or "",
        description=form.description.data or "", capabilities=parse_tags(form.capabilities.data),
        size=SizeBand(form.size.data) if form.size.data else None,
        employees=form.employees.data, year_founded=form.year_founded.data,
        website=form.website.data, contact_name=form.contact_name.data,
        contact_email=form.contact_email.data, phone=form.phone.data, town=form.town.data,
        postcode=form.postcode.data, region=form.region.data, lat=num(form.lat.data),
        lon=num(form.lon.data), service_radius_km=form.service_radius_km.data)


def _initial_form_data(org: Organisation) -> dict:
    data = services.current_data(org)
    return {**data.__dict__, "capabilities": ", ".join(data.capabilities),
            "size": data.size.value if data.size else "",
            "version": str(org.profile.version if org.profile else 0)}


@bp.route("/orgs/<slug>/profile/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str):
    org = _editable_org(slug)
    form = ProfileForm() if request.method == "POST" else ProfileForm(
        data=_initial_form_data(org))
    conflict = None
    status = 200
    if form.validate_on_submit():
        mine = _form_data(form)
        try:
            services.update_profile(current_user, org, mine,
                                    expected_version=int(form.version.data), now=now())
        except Conflict as exc:
            db.session.rollback()
            org = _editable_org(slug)
            # Keep everything the user typed; only move the form onto the current version,
            # so saving again (after comparing) overwrites knowingly.
            form.version.data = str(org.profile.version if org.profile else 0)
            conflict = {"message": exc.message,
                        "fields": services.differing_fields(services.current_data(org), mine),
                        "saved_at": org.profile.updated_at if org.profile else None}
            status = 409
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
            status = exc.status_code
        else:
            db.session.commit()
            flash("Profile saved.", "success")
            return redirect(url_for("profiles.edit", slug=org.slug))
    elif request.method == "POST":
        status = 400
    return render_template("profiles/edit.html", form=form, conflict=conflict,
                           towns=load_gazetteer(), tag_suggestions=services.popular_tags(),
                           **_editor_context(org, "details")), status


@bp.route("/orgs/<slug>/profile/publish", methods=["POST"])
@login_required
def publish(slug: str):
    org = _editable_org(slug)
    require_button_form()
    try:
        services.publish_profile(current_user, org, now())
    except DomainError as exc:
        return refuse(exc, "profiles.edit", slug=slug)
    db.session.commit()
    flash("Your profile is published: it is in the directory and visible to everyone.",
          "success")
    return redirect(url_for("orgs.show", slug=slug))


@bp.route("/orgs/<slug>/profile/unpublish", methods=["POST"])
@login_required
def unpublish(slug: str):
    org = _editable_org(slug)
    require_button_form()
    try:
        services.unpublish_profile(current_user, org, now())
    except DomainError as exc:
        return refuse(exc, "profiles.edit", slug=slug)
    db.session.commit()
    flash("Your profile is a draft again: only your organisation can see it.", "info")
    return redirect(url_for("profiles.edit", slug=slug))


# -- CPV codes -------------------------------------------------------------------------------

@bp.route("/orgs/<slug>/profile/cpv")
@login_required
def cpv_codes(slug: str):
    org = _editable_org(slug)
    search = CpvSearchForm(request.args)
    results = []
    if search.q.data and search.validate():
        results = cpv.search_codes(search.q.data, limit=40)
    current = {c.code for c in org.profile.cpv_codes} if org.profile else set()
    return render_template(
        "profiles/cpv.html", search=search, results=results, current=current,
        entries=[(code, cpv.label(code) or "", _cpv_path(code)) for code in sorted(current)],
        suggestions=services.code_suggestions(org), code_form=CpvCodeForm(),
        max_codes=services.MAX_CPV_CODES, **_editor_context(org, "cpv"))


@bp.route("/cpv/search")
@login_required
def cpv_search():
    """JSON for the picker's typeahead (the page works without it)."""
    search = CpvSearchForm(request.args)
    if not (search.q.data and search.validate()):
        return jsonify(results=[])
    return jsonify(results=[
        {"code": h.code, "label": h.label, "level": h.level_name,
         "path": [lbl for _, lbl in h.path]}
        for h in cpv.search_codes(search.q.data, limit=15)])


def _code_back(slug: str):
    q = (request.form.get("q") or "")[:100]
    return redirect(url_for("profiles.cpv_codes", slug=slug, q=q or None))


@bp.route("/orgs/<slug>/profile/cpv/add", methods=["POST"])
@login_required
def add_cpv(slug: str):
    org = _editable_org(slug)
    form = CpvCodeForm()
    if not form.validate_on_submit():
        flash("Choose a CPV code from the list.", "error")
        return _code_back(slug)
    try:
        services.add_cpv_code(current_user, org, form.code.data, now())
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return _code_back(slug)
    db.session.commit()
    flash(f"Added {form.code.data} {cpv.label(form.code.data)}.", "success")
    return _code_back(slug)


@bp.route("/orgs/<slug>/profile/cpv/remove", methods=["POST"])
@login_required
def remove_cpv(slug: str):
    org = _editable_org(slug)
    form = CpvCodeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        services.remove_cpv_code(current_user, org, form.code.data, now())
    except DomainError as exc:
        return refuse(exc, "profiles.cpv_codes", slug=slug)
    db.session.commit()
    flash(f"Removed {form.code.data}.", "success")
    return _code_back(slug)


# -- certifications --------------------------------------------------------------------------

def _cert_data(form: CertificationForm) -> services.CertificationData:
    return services.CertificationData(name=form.name.data, issuer=form.issuer.data,
                                      number=form.number.data, valid_until=form.valid_until.data)


@bp.route("/orgs/<slug>/profile/certifications", methods=["GET", "POST"])
@login_required
def certifications(slug: str):
    org = _editable_org(slug)
    form = CertificationForm()
    status = 200
    if form.validate_on_submit():
        try:
            cert = services.add_certification(current_user, org, _cert_data(form), now())
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
            status = exc.status_code
        else:
            db.session.commit()
            flash(f"Added {cert.name}.", "success")
            return redirect(url_for("profiles.certifications", slug=slug))
    elif request.method == "POST":
        status = 400
    return render_template("profiles/certifications.html", form=form, today=now().date(),
                           **_editor_context(org, "certifications")), status


@bp.route("/orgs/<slug>/profile/certifications/<int:cert_id>/edit", methods=["GET", "POST"])
@login_required
def edit_certification(slug: str, cert_id: int):
    org = _editable_org(slug)
    try:
        cert = services.certification_of(org, cert_id)
    except DomainError:
        abort(404)
    form = CertificationForm(obj=cert if request.method == "GET" else None)
    status = 200
    if form.validate_on_submit():
        try:
            services.update_certification(current_user, org, cert, _cert_data(form), now())
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
            status = exc.status_code
        else:
            db.session.commit()
            flash("Certification saved.", "success")
            return redirect(url_for("profiles.certifications", slug=slug))
    elif request.method == "POST":
        status = 400
    return render_template("profiles/certification_edit.html", form=form, cert=cert,
                           **_editor_context(org, "certifications")), status


@bp.route("/orgs/<slug>/profile/certifications/<int:cert_id>/remove", methods=["POST"])
@login_required
def remove_certification(slug: str, cert_id: int):
    org = _editable_org(slug)
    try:
        cert = services.certification_of(org, cert_id)
    except DomainError:
        abort(404)
    require_button_form()
    name = cert.name
    try:
        services.remove_certification(current_user, org, cert, now())
    except DomainError as exc:
        return refuse(exc, "profiles.certifications", slug=slug)
    db.session.commit()
    flash(f"Removed {name}.", "success")
    return redirect(url_for("profiles.certifications", slug=slug))


# -- logo ------------------------------------------------------------------------------------

@bp.route("/orgs/<slug>/profile/logo", methods=["GET", "POST"])
@login_required
def edit_logo(slug: str):
    org = _editable_org(slug)
    form = LogoForm()
    status = 200
    if form.validate_on_submit():
        try:
            stored = uploads.save_image(form.logo.data, kind="logo", size=LOGO_SIZE)
            old = services.set_logo(current_user, org, stored, now())
        except DomainError as exc:
            db.session.rollback()  # takes the stored file with it (marketplace/written_files)
            form.logo.errors = [*form.logo.errors, exc.message]
            status = 400 if isinstance(exc, uploads.UploadRejected) else exc.status_code
        else:
            db.session.commit()
            uploads.delete_upload("logo", old)
            flash("Logo updated.", "success")
            return redirect(url_for("profiles.edit_logo", slug=slug))
    elif request.method == "POST":
        status = 400
    return render_template("profiles/logo.html", form=form,
                           **_editor_context(org, "logo")), status


@bp.route("/orgs/<slug>/profile/logo/remove", methods=["POST"])
@login_required
def remove_logo(slug: str):
    org = _editable_org(slug)
    require_button_form()
    try:
        old = services.remove_logo(current_user, org, now())
    except DomainError as exc:
        return refuse(exc, "profiles.edit_logo", slug=slug)
    db.session.commit()
    uploads.delete_upload("logo", old)
    flash("Logo removed.", "success")
    return redirect(url_for("profiles.edit_logo", slug=slug))


# -- the directory ---------------------------------------------------------------------------

def _directory_query(form: DirectoryForm, cert_names: list[str]):
    """Turn any query string into a valid query; what we could not use is ignored and said."""
    notes = []
    form.validate()
    for name in ("q", "tag", "near"):
        f = form[name]
        if f.errors:
            notes.append(f"We ignored the {f.label.text.lower()} filter: {f.errors[0]}")
            f.data = ""
    q = services.DirectoryQuery(words=(form.q.data or "").split())
    q.cpv_prefix = _cpv_prefix(form, notes)
    q.tag = (form.tag.data or "").lower() or None
    if form.size.data:
        try:
            q.size = SizeBand(form.size.data)
        except ValueError:
            notes.append("We ignored an unknown size band.")
            form.size.data = ""
    if form.cert.data:
        if form.cert.data == services.ANY_CERTIFICATION or form.cert.data in cert_names:
            q.certification = form.cert.data
        else:
            notes.append("No listed business holds that certification now; we ignored it.")
            form.cert.data = ""
    if form.near.data:
        q.near = find_town(form.near.data)
        if q.near is None:
            notes.append(f"We do not know the town “{form.near.data}”; choose one from the "
                         "list.")
        else:
            form.near.data = q.near.name
            q.within_km = _radius(form, notes)
    q.sort = form.sort.data if form.sort.data in dict(SORT_CHOICES) else "name"
    if q.sort == "distance" and q.near is None:
        if form.sort.data and request.args.get("sort") == "distance":
            notes.append("Choose a town to sort by distance; sorted by name instead.")
        q.sort = "name"
    form.sort.data = q.sort
    return q, notes


def _radius(form: DirectoryForm, notes: list[str]) -> int:
    raw = form.within.data or ""
    try:
        km = int(raw)
    except ValueError:
        if raw:
            notes.append(f"We used {DEFAULT_RADIUS_KM} km, as “{raw[:20]}” is not a distance.")
        km = DEFAULT_RADIUS_KM
    clamped = min(max(km, 1), 500)
    if clamped != km:
        notes.append(f"Distances run from 1 to 500 km; we used {clamped} km.")
    form.within.data = str(clamped)
    return clamped


def _cpv_prefix(form: DirectoryForm, notes: list[str]) -> str | None:
    """The deepest consistent choice of division > group > class. A group left over from a
    previously chosen division is dropped, not an error: that is how the plain form lets
    people move up the tree."""
    division, group, cls = (form.division.data or "", form.group.data or "",
                            form.cpv_class.data or "")
    prefix = None
    if division:
        if len(division) == 2 and cpv.prefix_label(division):
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


def _page_number() -> int:
    raw = request.args.get("page", "1")
    # isascii(): str.isdigit() also accepts "¹", which int() refuses
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


def _canonical_args(form: DirectoryForm) -> dict:
    """Current filters as URL parameters (empty ones dropped) for pager and sort links."""
    args = {name: form[name].data for name in ("q", "division", "group", "cpv_class", "tag",
                                                "near", "within", "size", "cert", "sort")}
    if not form.near.data:
        args.pop("within")
    if args.get("sort") == "name":
        args.pop("sort")
    return {k: v for k, v in args.items() if v}


@bp.route("/businesses")
def directory():
    form = DirectoryForm(request.args)
    today = now().date()
    cert_names = services.certification_names(today)
    query, notes = _directory_query(form, cert_names)
    form.division.choices = [("", "Any division"),
                             *[(p, f"{p} {lbl}") for p, lbl in cpv.children("")]]
    form.group.choices = [("", "Any group"), *[(p, f"{p} {lbl}") for p, lbl in
                                                 cpv.children(form.division.data)]] \
        if form.division.data else [("", "Any group")]
    form.cpv_class.choices = [("", "Any class"), *[(p, f"{p} {lbl}") for p, lbl in
                                                     cpv.children(form.group.data)]] \
        if form.group.data else [("", "Any class")]
    form.cert.choices = [("", "Any or none"),
                         (services.ANY_CERTIFICATION, "Any valid certification"),
                         *[(n, n) for n in cert_names]]
    form.within.choices = list(RADIUS_CHOICES)
    if form.within.data and form.within.data not in dict(RADIUS_CHOICES):
        form.within.choices.append((form.within.data, f"{form.within.data} km"))
    if not form.within.data:
        form.within.data = str(DEFAULT_RADIUS_KM)
    if form.q.data:
        from marketplace.search.services import matching_ids

        query.text_ids = matching_ids(form.q.data, "organisation")
    requested_page = _page_number()
    result = services.search_directory(query, page=requested_page, per_page=PER_PAGE,
                                       today=today)
    if requested_page != result.page and result.total:
        notes.append(f"There are only {result.pages} page(s); showing page {result.page}.")
    args = _canonical_args(form)
    return render_template(
        "profiles/directory.html", form=form, result=result, notes=notes, query=query,
        args=args, towns=load_gazetteer(), tags=services.popular_tags(60),
        size_labels=SIZE_LABELS, today=today,
        cpv_filter_label=cpv.prefix_label(query.cpv_prefix) if query.cpv_prefix else None)
