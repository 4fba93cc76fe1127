"""Personal API tokens on the account page: create (the secret is shown once) and revoke."""

from flask import flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from marketplace.api import services, tokens_bp
from marketplace.api.forms import NewApiTokenForm
from marketplace.clock import now
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.forms import EmptyForm
from marketplace.logging_utils import log_security_event


@tokens_bp.app_context_processor
def _token_panel():
    def api_token_panel(form=None):
        """What the account page's token section shows; the page includes the partial."""
        if not current_user.is_authenticated:
            return {"tokens": [], "form": None, "revoke_form": None}
        return {"tokens": services.tokens_of(current_user), "form": form or NewApiTokenForm(),
                "revoke_form": EmptyForm(), "now": now()}

    return {"api_token_panel": api_token_panel}


def _account_page(form: NewApiTokenForm, status: int = 200):
    from marketplace.auth.forms import ChangeEmailForm, ChangePasswordForm

    return render_template("auth/account.html", password_form=ChangePasswordForm(),
                           email_form=ChangeEmailForm(), api_token_form=form), status


@tokens_bp.post("/account/api-tokens")
@login_required
def create_token():
    form = NewApiTokenForm()
    if not form.validate_on_submit():
        return _account_page(form, 400)
    days = int(form.expires_in_days.data) if form.expires_in_days.data else None
    try:
        token, secret = services.create_token(current_user, form.name.data, form.scope.data,
                                              days, now())
    except ValidationFailed as exc:
        db.session.rollback()
        form.name.errors.append(exc.message)
        return _account_page(form, 400)
    db.session.commit()
    log_security_event("api_token_created", actor=current_user, target=f"api_token:{token.id}",
                       scope=token.scope.value)
    # Rendered, not redirected: the secret exists only in this response and is never stored
    # (a redirect would have to carry it in the session cookie).
    return render_template("api/token_created.html", token=token, secret=secret)


@tokens_bp.post("/account/api-tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    form = EmptyForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("auth.account"))
    token = services.revoke_token(current_user, token_id, now())
    db.session.commit()
    log_security_event("api_token_revoked", actor=current_user, target=f"api_token:{token.id}")
    flash(f"The token “{token.name}” is revoked; it no longer works.", "success")
    return redirect(url_for("auth.account") + "#api-tokens")
