from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace.clock import now
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.forms import EmptyForm, require_button_form
from marketplace.models import Membership, Organisation, OrgInvitation, OrgRole, User
from marketplace.orgs import bp, services
from marketplace.orgs.forms import (
    ChangeRoleForm,
    InviteMemberForm,
    OrganisationForm,
    SwitchOrganisationForm,
)
from marketplace.permissions import can_manage_members, can_view_org, can_view_org_members
from marketplace.view_helpers import child_or_404, refuse, slug_visible_or_404


def _load_org(slug: str) -> Organisation:
    return slug_visible_or_404(Organisation, slug, can_view_org)


def _load_membership(org: Organisation, membership_id: int) -> Membership:
    return child_or_404(Membership, membership_id, "organisation_id", org.id)


@bp.route("/orgs/new", methods=["GET", "POST"])
@login_required
def create():
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            org = services.create_organisation(current_user, form.name.data, form.summary.data,
                                               form.slug.data or None)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            form.slug.errors.append(exc.message)
        except IntegrityError:
            # Someone took the same address between our check and our insert.
            db.session.rollback()
            form.slug.errors.append("This web address was just taken; choose another.")
        else:
            services.switch_acting_organisation(current_user, org.id)
            flash(f"{org.name} is created, and you are its owner.", "success")
            return redirect(url_for("orgs.show", slug=org.slug))
    return render_template("orgs/create.html", form=form)


@bp.route("/orgs/<slug>")
def show(slug: str):
    org = _load_org(slug)
    # The organisation's page is its capability profile (drafts only for its own people).
    from marketplace.profiles.views import render_profile_page

    return render_profile_page(org)


@bp.route("/orgs/<slug>/members")
@login_required
def members(slug: str):
    org = _load_org(slug)
    if not can_view_org_members(current_user, org):
        abort(404)
    memberships = db.session.scalars(
        select(Membership).join(User).where(Membership.organisation_id == org.id)
        .order_by(Membership.role, User.display_name)).all()
    invitations = [i for i in db.session.scalars(
        select(OrgInvitation).where(OrgInvitation.organisation_id == org.id)
        .order_by(OrgInvitation.created_at.desc())) if i.is_pending(now())]
    return render_template(
        "orgs/members.html", org=org, memberships=memberships, invitations=invitations,
        invite_form=InviteMemberForm(), action_form=EmptyForm(),
        can_manage=can_manage_members(current_user, org), OrgRole=OrgRole,
        role_form_for=lambda m: ChangeRoleForm(role=m.role.value, formdata=None))


@bp.route("/orgs/<slug>/members/invite", methods=["POST"])
@login_required
def invite(slug: str):
    org = _load_org(slug)
    if not can_manage_members(current_user, org):
        abort(404 if not can_view_org_members(current_user, org) else 403)
    form = InviteMemberForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for("orgs.members", slug=slug))
    try:
        invitation = services.invite_member(current_user, org, form.email.data,
                                            OrgRole(form.role.data), now())
    except DomainError as exc:
        return refuse(exc, "orgs.members", slug=slug)
    db.session.commit()
    flash(f"Invitation sent to {invitation.email}. It works once, within 14 days.", "success")
    return redirect(url_for("orgs.members", slug=slug))


@bp.route("/orgs/<slug>/members/<int:membership_id>/role", methods=["POST"])
@login_required
def change_role(slug: str, membership_id: int):
    org = _load_org(slug)
    if not can_view_org_members(current_user, org):
        abort(404)
    membership = _load_membership(org, membership_id)
    form = ChangeRoleForm()
    if not form.validate_on_submit():
        flash("Choose a valid role.", "error")
        return redirect(url_for("orgs.members", slug=slug))
    try:
        services.change_role(current_user, membership, OrgRole(form.role.data))
    except DomainError as exc:
        return refuse(exc, "orgs.members", slug=slug)
    db.session.commit()
    flash(f"{membership.user.display_name} is now {membership.role.value}.", "success")
    return redirect(url_for("orgs.members", slug=slug))


@bp.route("/orgs/<slug>/members/<int:membership_id>/remove", methods=["POST"])
@login_required
def remove_member(slug: str, membership_id: int):
    org = _load_org(slug)
    if not can_view_org_members(current_user, org):
        abort(404)
    membership = _load_membership(org, membership_id)
    require_button_form()
    name = membership.user.display_name
    try:
        services.remove_member(current_user, membership)
    except DomainError as exc:
        return refuse(exc, "orgs.members", slug=slug)
    db.session.commit()
    flash(f"{name} was removed from {org.name}.", "success")
    return redirect(url_for("orgs.members", slug=slug))


@bp.route("/orgs/<slug>/invitations/<int:invitation_id>/revoke", methods=["POST"])
@login_required
def revoke_invitation(slug: str, invitation_id: int):
    org = _load_org(slug)
    if not can_view_org_members(current_user, org):
        abort(404)
    invitation = db.session.get(OrgInvitation, invitation_id)
    if invitation is None or invitation.organisation_id != org.id:
        abort(404)
    require_button_form()
    try:
        services.revoke_invitation(current_user, invitation, now())
    except DomainError as exc:
        return refuse(exc, "orgs.members", slug=slug)
    db.session.commit()
    flash("Invitation revoked.", "success")
    return redirect(url_for("orgs.members", slug=slug))


@bp.route("/orgs/<slug>/leave", methods=["POST"])
@login_required
def leave(slug: str):
    org = _load_org(slug)
    require_button_form()
    try:
        services.leave_organisation(current_user, org)
    except DomainError as exc:
        return refuse(exc, "orgs.members", slug=slug)
    db.session.commit()
    flash(f"You left {org.name}.", "success")
    return redirect(url_for("main.dashboard"))


@bp.route("/orgs/switch", methods=["POST"])
@login_required
def switch():
    form = SwitchOrganisationForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        org = services.switch_acting_organisation(current_user, int(form.organisation_id.data))
    except DomainError:
        abort(404)
    flash(f"You are now acting for {org.name}.", "info")
    return redirect(url_for("main.dashboard"))


# -- invitations, seen by the invited person ---------------------------------------------------

def _invitation_or_404(token: str) -> OrgInvitation:
    invitation = services.find_invitation_by_token(token)
    if invitation is None:
        abort(404)
    return invitation


@bp.route("/invitations/<token>")
@login_required
def invitation(token: str):
    inv = _invitation_or_404(token)
    return render_template("orgs/invitation.html", invitation=inv, token=token,
                           pending=inv.is_pending(now()),
                           matches=inv.email == current_user.email, form=EmptyForm())


def _answer(inv: OrgInvitation, accept: bool):
    require_button_form()
    try:
        if accept:
            services.accept_invitation(current_user, inv, now())
        else:
            services.decline_invitation(current_user, inv, now())
    except DomainError as exc:
        return refuse(exc, "main.dashboard")
    db.session.commit()
    if accept:
        services.switch_acting_organisation(current_user, inv.organisation_id)
        flash(f"You joined {inv.organisation.name}.", "success")
        return redirect(url_for("orgs.show", slug=inv.organisation.slug))
    flash("Invitation declined.", "info")
    return redirect(url_for("main.dashboard"))


@bp.route("/invitations/<token>/accept", methods=["POST"])
@login_required
def accept_by_token(token: str):
    return _answer(_invitation_or_404(token), accept=True)


@bp.route("/invitations/<token>/decline", methods=["POST"])
@login_required
def decline_by_token(token: str):
    return _answer(_invitation_or_404(token), accept=False)


def _my_invitation(invitation_id: int) -> OrgInvitation:
    inv = db.session.get(OrgInvitation, invitation_id)
    if inv is None or inv.email != current_user.email:
        abort(404)
    return inv


@bp.route("/me/invitations/<int:invitation_id>/accept", methods=["POST"])
@login_required
def accept(invitation_id: int):
    return _answer(_my_invitation(invitation_id), accept=True)


@bp.route("/me/invitations/<int:invitation_id>/decline", methods=["POST"])
@login_required
def decline(invitation_id: int):
    return _answer(_my_invitation(invitation_id), accept=False)


@bp.app_context_processor
def _acting_org_context():
    if not current_user.is_authenticated or request.endpoint == "static":
        return {}
    return {"my_orgs": services.organisations_of(current_user),
            "acting_org": services.acting_organisation(current_user),
            "switch_form": SwitchOrganisationForm}
