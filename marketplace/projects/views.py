from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from marketplace import uploads
from marketplace.alliances.services import (
    find_organisation,
    managed_organisations,
    organisation_options,
)
from marketplace.clock import now
from marketplace.errors import DomainError, ValidationFailed
from marketplace.extensions import db
from marketplace.forms import EmptyForm, page_arg, require_button_form
from marketplace.models import (
    Alliance,
    CreditStatus,
    Organisation,
    ProjectCredit,
    ProjectExample,
    ProjectPhoto,
)
from marketplace.permissions import (
    can_answer_credit,
    can_edit_project,
    can_view_org,
    can_view_project,
    is_member,
    is_project_insider,
    is_site_admin,
)
from marketplace.projects import bp, services
from marketplace.projects.forms import (
    AllianceLinkForm,
    AnswerCreditForm,
    CreateProjectForm,
    CreditForm,
    PhotoForm,
    ProjectForm,
)
from marketplace.view_helpers import child_or_404, get_visible_or_404, refuse


def _load(project_id: int) -> ProjectExample:
    return get_visible_or_404(ProjectExample, project_id, can_view_project)


def _load_for_owner(project_id: int) -> ProjectExample:
    project = _load(project_id)
    if not can_edit_project(current_user, project):
        abort(403)
    return project


def _fail(exc: DomainError, project: ProjectExample):
    return refuse(exc, "projects.show", project_id=project.id)


def _data(form: ProjectForm) -> services.ProjectData:
    return services.ProjectData(
        title=form.title.data, description=form.description.data or "", year=form.year.data,
        client=form.client.data or "", value_amount=form.value_amount.data,
        currency=form.currency.data, place=form.place.data or "",
        owner_role=form.owner_role.data)


def _resolve(reference: str) -> Organisation:
    org = find_organisation(reference)
    if org is None or org.hidden_at is not None:
        raise ValidationFailed(f"No organisation called “{reference}” was found. Check the "
                               "name, or use its web address.")
    return org


@bp.route("/projects")
def index():
    page = page_arg()
    pagination = services.public_projects(page=max(page, 1))
    views = [v for v in (services.public_project(p) for p in pagination.items) if v]
    return render_template("projects/index.html", pagination=pagination, projects=views)


@bp.route("/projects/new", methods=["GET", "POST"])
@login_required
def create():
    orgs = managed_organisations(current_user)
    if not orgs:
        return render_template("projects/create.html", form=None)
    form = CreateProjectForm()
    form.organisation_id.choices = [(str(o.id), o.name) for o in orgs]
    if form.validate_on_submit():
        org = next(o for o in orgs if str(o.id) == form.organisation_id.data)
        try:
            partners = [(_resolve(entry.organisation.data), entry.role.data)
                        for entry in form.partners if entry.organisation.data]
            if not partners:
                raise ValidationFailed("Credit at least one partner organisation: a project "
                                       "example is work done together.")
            project = services.create_project(current_user, org, _data(form), partners, now())
        except DomainError as exc:
            db.session.rollback()
            form.form_errors.append(exc.message)
        else:
            db.session.commit()
            flash("Project posted. Each partner is asked to confirm its credit; the project "
                  "is shown publicly once a partner confirms.", "success")
            return redirect(url_for("projects.show", project_id=project.id))
    return render_template("projects/create.html", form=form,
                           organisation_options=organisation_options())


@bp.route("/projects/<int:project_id>")
def show(project_id: int):
    project = _load(project_id)
    insider = is_project_insider(current_user, project) or is_site_admin(current_user)
    view = services.public_project(project)
    can_edit = can_edit_project(current_user, project)
    answerable = [c for c in project.credits if can_answer_credit(current_user, c)
                  and c.status != CreditStatus.REJECTED]
    link_form = None
    if can_edit:
        link_form = AllianceLinkForm(alliance_id=str(project.alliance_id or ""), formdata=None)
        link_form.alliance_id.choices = [("", "No alliance")] + [
            (str(a.id), a.name) for a in services.linkable_alliances(project)]
        if project.alliance and str(project.alliance_id) not in dict(
                link_form.alliance_id.choices):
            link_form.alliance_id.choices.append((str(project.alliance_id),
                                                  project.alliance.name))
    return render_template(
        "projects/show.html", project=project, view=view, insider=insider, can_edit=can_edit,
        answerable=answerable, answer_form=AnswerCreditForm(version=str(project.version),
                                                            formdata=None),
        form=EmptyForm(), credit_form=CreditForm(formdata=None) if can_edit else None,
        photo_form=PhotoForm(formdata=None) if can_edit else None, link_form=link_form,
        organisation_options=organisation_options() if can_edit else [],
        max_photos=services.MAX_PHOTOS, CreditStatus=CreditStatus)


@bp.route("/projects/<int:project_id>/edit", methods=["GET", "POST"])
@login_required
def edit(project_id: int):
    project = _load_for_owner(project_id)
    owner_credit = project.credit_for(project.owner_org_id)
    form = ProjectForm(obj=project)
    if request.method == "GET":
        form.version.data = str(project.version)
        form.owner_role.data = owner_credit.role if owner_credit else ""
    if form.validate_on_submit():
        try:
            again = services.update_project(current_user, project, _data(form),
                                            version=int(form.version.data or 0), now=now())
        except DomainError as exc:
            db.session.rollback()
            form.title.errors.append(exc.message)
        else:
            db.session.commit()
            flash("Project saved." + (" Partners were asked to confirm the changes again; "
                                      "until one does, the project is not shown publicly."
                                      if again else ""), "success")
            return redirect(url_for("projects.show", project_id=project.id))
    confirmed = [c for c in project.partner_credits if c.status == CreditStatus.CONFIRMED]
    return render_template("projects/edit.html", project=project, form=form,
                           confirmed=confirmed)


@bp.route("/projects/<int:project_id>/delete", methods=["POST"])
@login_required
def delete(project_id: int):
    project = _load_for_owner(project_id)
    require_button_form()
    owner = project.owner_org
    try:
        names = services.delete_project(current_user, project)
    except DomainError as exc:
        return _fail(exc, project)
    db.session.commit()
    for name in names:
        uploads.delete_upload("photo", name)
    flash("Project deleted.", "success")
    return redirect(url_for("projects.organisation_projects", slug=owner.slug))


@bp.route("/projects/<int:project_id>/credits", methods=["POST"])
@login_required
def add_credit(project_id: int):
    project = _load_for_owner(project_id)
    form = CreditForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for("projects.show", project_id=project.id))
    try:
        org = _resolve(form.organisation.data)
        services.add_credit(current_user, project, org, form.role.data, now())
    except DomainError as exc:
        return _fail(exc, project)
    db.session.commit()
    flash(f"{org.name} is credited and asked to confirm.", "success")
    return redirect(url_for("projects.show", project_id=project.id))


def _load_credit(project: ProjectExample, credit_id: int) -> ProjectCredit:
    return child_or_404(ProjectCredit, credit_id, "project_id", project.id)


@bp.route("/projects/<int:project_id>/credits/<int:credit_id>/remove", methods=["POST"])
@login_required
def remove_credit(project_id: int, credit_id: int):
    project = _load_for_owner(project_id)
    credit = _load_credit(project, credit_id)
    require_button_form()
    name = credit.organisation.name
    try:
        services.remove_credit(current_user, credit)
    except DomainError as exc:
        return _fail(exc, project)
    db.session.commit()
    flash(f"{name} is no longer credited.", "success")
    return redirect(url_for("projects.show", project_id=project.id))


def _answer(project_id: int, credit_id: int, confirm: bool):
    project = _load(project_id)
    credit = _load_credit(project, credit_id)
    if not can_answer_credit(current_user, credit):
        abort(403)
    form = AnswerCreditForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        if confirm:
            services.confirm_credit(current_user, credit, now(), version=int(form.version.data))
        else:
            services.reject_credit(current_user, credit, now())
    except DomainError as exc:
        return _fail(exc, project)
    db.session.commit()
    if confirm:
        flash(f"Confirmed: {credit.organisation.name} worked on “{project.title}”. It now "
              "counts in your track record.", "success")
        return redirect(url_for("projects.show", project_id=project.id))
    flash(f"Credit declined: {credit.organisation.name} is not shown on “{project.title}”.",
          "info")
    if can_view_project(current_user, project):
        return redirect(url_for("projects.show", project_id=project.id))
    return redirect(url_for("main.dashboard"))


@bp.route("/projects/<int:project_id>/credits/<int:credit_id>/confirm", methods=["POST"])
@login_required
def confirm_credit(project_id: int, credit_id: int):
    return _answer(project_id, credit_id, confirm=True)


@bp.route("/projects/<int:project_id>/credits/<int:credit_id>/reject", methods=["POST"])
@login_required
def reject_credit(project_id: int, credit_id: int):
    return _answer(project_id, credit_id, confirm=False)


@bp.route("/projects/<int:project_id>/alliance", methods=["POST"])
@login_required
def link_alliance(project_id: int):
    project = _load_for_owner(project_id)
    form = AllianceLinkForm()
    choices = [("", "No alliance")] + [(str(a.id), a.name)
                                       for a in services.linkable_alliances(project)]
    if project.alliance_id:
        choices.append((str(project.alliance_id), ""))
    form.alliance_id.choices = choices
    if not form.validate_on_submit():
        flash("Choose an alliance that every credited partner belongs to.", "error")
        return redirect(url_for("projects.show", project_id=project.id))
    alliance = db.session.get(Alliance, int(form.alliance_id.data)) if form.alliance_id.data \
        else None
    try:
        services.link_alliance(current_user, project, alliance)
    except DomainError as exc:
        return _fail(exc, project)
    db.session.commit()
    flash(f"Shown in {alliance.name}'s portfolio." if alliance else "Not linked to an alliance.",
          "success")
    return redirect(url_for("projects.show", project_id=project.id))


@bp.route("/projects/<int:project_id>/photos", methods=["POST"])
@login_required
def add_photo(project_id: int):
    project = _load_for_owner(project_id)
    form = PhotoForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for("projects.show", project_id=project.id))
    try:
        services.add_photo(current_user, project, form.photo.data, form.caption.data)
    except DomainError as exc:
        return _fail(exc, project)
    db.session.commit()
    flash("Photo added.", "success")
    return redirect(url_for("projects.show", project_id=project.id))


def _load_photo(project: ProjectExample, photo_id: int) -> ProjectPhoto:
    return child_or_404(ProjectPhoto, photo_id, "project_id", project.id)


@bp.route("/projects/<int:project_id>/photos/<int:photo_id>/delete", methods=["POST"])
@login_required
def delete_photo(project_id: int, photo_id: int):
    project = _load_for_owner(project_id)
    photo = _load_photo(project, photo_id)
    require_button_form()
    try:
        name = services.remove_photo(current_user, photo)
    except DomainError as exc:
        return _fail(exc, project)
    db.session.commit()
    uploads.delete_upload("photo", name)
    flash("Photo removed.", "success")
    return redirect(url_for("projects.show", project_id=project.id))


@bp.route("/projects/<int:project_id>/photos/<int:photo_id>")
def photo(project_id: int, photo_id: int):
    project = _load(project_id)
    stored = _load_photo(project, photo_id)
    response = uploads.send_upload("photo", stored.filename,
                                   download_name=f"project-{project.id}-photo-{stored.id}")
    if response is None:
        abort(404)
    return response


@bp.route("/orgs/<slug>/projects")
def organisation_projects(slug: str):
    """An organisation's portfolio; its own people also see drafts and credit requests."""
    org = db.session.scalar(select(Organisation).where(Organisation.slug == slug))
    if org is None or not can_view_org(current_user, org):
        abort(404)
    insider = is_member(current_user, org)
    return render_template(
        "projects/organisation.html", org=org, insider=insider,
        projects=services.confirmed_projects_for(org),
        owned=services.projects_owned_by(org) if insider else [],
        received=services.credits_of(org) if insider else [], CreditStatus=CreditStatus)
