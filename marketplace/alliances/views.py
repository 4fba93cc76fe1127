from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from marketplace import activity
from marketplace.alliances import bp, services
from marketplace.alliances.forms import (
    AllianceForm,
    CreateAllianceForm,
    InviteOrganisationForm,
    MemberRoleForm,
    OrganisationChoiceForm,
)
from marketplace.alliances.overview import overview
from marketplace.auth.decorators import recent_login_required
from marketplace.clock import now
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.forms import EmptyForm, page_arg, require_button_form
from marketplace.models import (
    Alliance,
    AllianceInvitation,
    AllianceMember,
    AllianceRole,
    Organisation,
)
from marketplace.permissions import (
    alliance_memberships_managed_by,
    can_answer_alliance_invitation,
    can_lead_alliance,
    can_view_alliance,
    can_view_alliance_membership,
    is_org_manager,
)
from marketplace.projects.services import (
    confirmed_projects_for,
    credits_awaiting,
    track_record_count,
)
from marketplace.view_helpers import child_or_404, flash_form_errors, refuse, slug_visible_or_404


def _load(slug: str) -> Alliance:
    return slug_visible_or_404(Alliance, slug, can_view_alliance)


def _require_lead(alliance: Alliance) -> None:
    if not can_lead_alliance(current_user, alliance):
        abort(403)


@bp.route("/alliances")
def index():
    page = page_arg()
    pagination = services.public_alliances(page=max(page, 1))
    return render_template("alliances/index.html", pagination=pagination,
                           overviews=[overview(a) for a in pagination.items])


@bp.route("/alliances/new", methods=["GET", "POST"])
@login_required
def create():
    orgs = services.managed_organisations(current_user)
    form = CreateAllianceForm()
    form.organisation_id.choices = [(str(o.id), o.name) for o in orgs]
    if not orgs:
        return render_template("alliances/create.html", form=None)
    if form.validate_on_submit():
        org = next(o for o in orgs if str(o.id) == form.organisation_id.data)
        try:
            alliance = services.create_alliance(
                current_user, org, name=form.name.data, summary=form.summary.data,
                description=form.description.data, service_area=form.service_area.data)
        except DomainError as exc:
            db.session.rollback()
            form.name.errors.append(exc.message)
        else:
            db.session.commit()
            flash(f"{alliance.name} is created, with {org.name} as lead. Now invite your "
                  "partners.", "success")
            return redirect(url_for("alliances.members", slug=alliance.slug))
    return render_template("alliances/create.html", form=form)


@bp.route("/alliances/<slug>")
def show(slug: str):
    alliance = _load(slug)
    data = overview(alliance, today=now().date())
    return render_template(
        "alliances/show.html", alliance=alliance, data=data,
        activity=activity.for_alliance(alliance, limit=8), form=EmptyForm(),
        can_lead=can_lead_alliance(current_user, alliance),
        my_members=alliance_memberships_managed_by(current_user, alliance))


@bp.route("/alliances/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str):
    alliance = _load(slug)
    _require_lead(alliance)
    form = AllianceForm(obj=alliance)
    if request.method == "GET":
        form.version.data = str(alliance.version)
    if form.validate_on_submit():
        try:
            services.update_alliance(
                current_user, alliance, version=int(form.version.data or 0),
                name=form.name.data, summary=form.summary.data,
                description=form.description.data, service_area=form.service_area.data)
        except DomainError as exc:
            db.session.rollback()
            form.name.errors.append(exc.message)
        else:
            db.session.commit()
            flash("Alliance saved.", "success")
            return redirect(url_for("alliances.show", slug=alliance.slug))
    return render_template("alliances/edit.html", alliance=alliance, form=form)


@bp.route("/alliances/<slug>/dissolve", methods=["POST"])
@login_required
def dissolve(slug: str):
    alliance = _load(slug)
    _require_lead(alliance)
    require_button_form()
    try:
        services.dissolve_alliance(current_user, alliance, now())
    except DomainError as exc:
        return refuse(exc, "alliances.show", slug=slug)
    db.session.commit()
    flash(f"{alliance.name} is dissolved. Its page and projects stay as history.", "success")
    return redirect(url_for("alliances.show", slug=slug))


@bp.route("/alliances/<slug>/members")
@login_required
def members(slug: str):
    alliance = _load(slug)
    if not can_view_alliance_membership(current_user, alliance):
        abort(403)
    can_lead = can_lead_alliance(current_user, alliance)
    return render_template(
        "alliances/members.html", alliance=alliance, members=services.members_of(alliance),
        invitations=services.pending_invitations(alliance, now()), can_lead=can_lead,
        my_members=alliance_memberships_managed_by(current_user, alliance),
        invite_form=InviteOrganisationForm(organisation=request.args.get("invite", "")[:120]),
        action_form=EmptyForm(), AllianceRole=AllianceRole,
        organisation_options=services.organisation_options() if can_lead else [],
        leave_form_for=lambda m: OrganisationChoiceForm(organisation_id=str(m.organisation_id),
                                                        formdata=None),
        role_form_for=lambda m: MemberRoleForm(role=m.role.value, formdata=None))


@bp.route("/alliances/<slug>/invite", methods=["POST"])
@login_required
def invite(slug: str):
    alliance = _load(slug)
    _require_lead(alliance)
    form = InviteOrganisationForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("alliances.members", slug=slug))
    try:
        org = services.find_organisation(form.organisation.data)
        if org is None or org.hidden_at is not None:
            flash(f"No organisation called “{form.organisation.data}” was found. Check the "
                  "name, or use its web address.", "error")
            return redirect(url_for("alliances.members", slug=slug))
        services.invite_organisation(current_user, alliance, org, now(), form.message.data)
    except DomainError as exc:
        return refuse(exc, "alliances.members", slug=slug)
    db.session.commit()
    flash(f"Invitation sent to {org.name}. Its owners and admins can accept it within 14 days.",
          "success")
    return redirect(url_for("alliances.members", slug=slug))


@bp.route("/alliances/<slug>/invitations/<int:invitation_id>/revoke", methods=["POST"])
@login_required
def revoke_invitation(slug: str, invitation_id: int):
    alliance = _load(slug)
    _require_lead(alliance)
    invitation = db.session.get(AllianceInvitation, invitation_id)
    if invitation is None or invitation.alliance_id != alliance.id:
        abort(404)
    require_button_form()
    try:
        services.revoke_invitation(current_user, invitation, now())
    except DomainError as exc:
        return refuse(exc, "alliances.members", slug=slug)
    db.session.commit()
    flash("Invitation withdrawn.", "success")
    return redirect(url_for("alliances.members", slug=slug))


def _load_member(alliance: Alliance, member_id: int) -> AllianceMember:
    return child_or_404(AllianceMember, member_id, "alliance_id", alliance.id)


@bp.route("/alliances/<slug>/members/<int:member_id>/remove", methods=["POST"])
@login_required
def remove_member(slug: str, member_id: int):
    alliance = _load(slug)
    _require_lead(alliance)
    member = _load_member(alliance, member_id)
    require_button_form()
    name = member.organisation.name
    try:
        services.remove_member(current_user, alliance, member)
    except DomainError as exc:
        return refuse(exc, "alliances.members", slug=slug)
    db.session.commit()
    flash(f"{name} was removed from {alliance.name}.", "success")
    return redirect(url_for("alliances.members", slug=slug))


@bp.route("/alliances/<slug>/members/<int:member_id>/role", methods=["POST"])
@login_required
@recent_login_required
def change_role(slug: str, member_id: int):
    alliance = _load(slug)
    _require_lead(alliance)
    member = _load_member(alliance, member_id)
    form = MemberRoleForm()
    if not form.validate_on_submit():
        flash("Choose a valid role.", "error")
        return redirect(url_for("alliances.members", slug=slug))
    try:
        member = services.set_member_role(current_user, alliance, member,
                                          AllianceRole(form.role.data))
    except DomainError as exc:
        return refuse(exc, "alliances.members", slug=slug)
    db.session.commit()
    flash(f"{member.organisation.name} is now {member.role.value}.", "success")
    return redirect(url_for("alliances.members", slug=slug))


@bp.route("/alliances/<slug>/leave", methods=["POST"])
@login_required
def leave(slug: str):
    alliance = _load(slug)
    form = OrganisationChoiceForm()
    if not form.validate_on_submit():
        abort(400)
    org = db.session.get(Organisation, int(form.organisation_id.data))
    if org is None or not is_org_manager(current_user, org):
        abort(404)
    try:
        services.leave_alliance(current_user, alliance, org)
    except DomainError as exc:
        return refuse(exc, "alliances.members", slug=slug)
    db.session.commit()
    flash(f"{org.name} left {alliance.name}.", "success")
    return redirect(url_for("alliances.show", slug=slug))


# -- invitations, answered by the invited organisation ---------------------------------------

def _my_invitation(invitation_id: int) -> AllianceInvitation:
    invitation = db.session.get(AllianceInvitation, invitation_id)
    if invitation is None or not can_answer_alliance_invitation(current_user, invitation):
        abort(404)
    return invitation


def _answer(invitation_id: int, accept: bool):
    invitation = _my_invitation(invitation_id)
    require_button_form()
    alliance = invitation.alliance
    try:
        if accept:
            services.accept_invitation(current_user, invitation, now())
        else:
            services.decline_invitation(current_user, invitation, now())
    except DomainError as exc:
        return refuse(exc, "main.dashboard")
    db.session.commit()
    if accept:
        flash(f"{invitation.organisation.name} joined {alliance.name}.", "success")
        return redirect(url_for("alliances.show", slug=alliance.slug))
    flash(f"Invitation to {alliance.name} declined.", "info")
    return redirect(url_for("main.dashboard"))


@bp.route("/alliance-invitations/<int:invitation_id>/accept", methods=["POST"])
@login_required
def accept_invitation(invitation_id: int):
    return _answer(invitation_id, accept=True)


@bp.route("/alliance-invitations/<int:invitation_id>/decline", methods=["POST"])
@login_required
def decline_invitation(invitation_id: int):
    return _answer(invitation_id, accept=False)


# -- the dashboard's "collaboration" panel ---------------------------------------------------

@bp.app_context_processor
def _collaboration_inbox():
    """``collaboration_inbox()`` for templates/main/dashboard.html: computed only when called."""

    def collaboration_inbox() -> dict:
        if not current_user.is_authenticated:
            return {"invitations": [], "credits": [], "form": None}
        return {"invitations": services.invitations_for_managed_orgs(current_user, now()),
                "credits": credits_awaiting(current_user), "form": EmptyForm()}

    def collaboration_for(org: Organisation) -> dict:
        """For a profile page: the organisation's confirmed projects, alliances, activity."""
        return {"projects": confirmed_projects_for(org, limit=6),
                "project_count": track_record_count(org),
                "alliances": services.alliances_of(org),
                "activity": activity.for_organisation(org, limit=8)}

    return {"collaboration_inbox": collaboration_inbox, "collaboration_for": collaboration_for}
