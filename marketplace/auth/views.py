from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from marketplace.auth import bp, services
from marketplace.auth.decorators import mark_authenticated, recent_login_required
from marketplace.auth.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    ReauthenticateForm,
    RegisterForm,
    ResetPasswordForm,
)
from marketplace.clock import now
from marketplace.errors import ValidationFailed
from marketplace.extensions import db, limiter
from marketplace.forms import EmptyForm
from marketplace.logging_utils import log_security_event
from marketplace.passwords import verify_password
from marketplace.security import safe_next


def _address_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ADDRESS"]


def _account_limit() -> str:
    return current_app.config["LOGIN_LIMIT_PER_ACCOUNT"]


def _account_key() -> str:
    return "login-account:" + (request.form.get("email") or "").strip().lower()[:254]


def _start_session(user, remember: bool = False) -> None:
    """A brand-new session on every login: nothing from before survives (ASVS 3.2.1)."""
    session.clear()
    session.permanent = True
    login_user(user, remember=remember, fresh=True)
    mark_authenticated()


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register_user(form.email.data, form.display_name.data,
                                          form.password.data)
        except ValidationFailed as exc:
            db.session.rollback()
            target = form.password if "password" in exc.message.lower() else form.email
            target.errors.append(exc.message)
        else:
            db.session.commit()
            log_security_event("register", target=f"user:{user.id}")
            _start_session(user)
            flash("Welcome to Guild! Create or join an organisation to get started.", "success")
            return redirect(url_for("main.dashboard"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"])
@limiter.limit(_account_limit, key_func=_account_key, methods=["POST"])
def login():
    next_url = safe_next(request.args.get("next"), url_for("main.dashboard"))
    if current_user.is_authenticated:
        return redirect(next_url)
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, now())
        except services.LoginRefused as exc:
            db.session.commit()  # keep the failure count
            log_security_event("login_failed", target=f"email:{form.email.data[:254]}")
            form.password.errors.append(exc.message)
        else:
            db.session.commit()
            _start_session(user, remember=form.remember.data)
            log_security_event("login", actor=user, target=f"user:{user.id}")
            return redirect(next_url)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        services.end_all_sessions(user)
        db.session.commit()
        log_security_event("logout", actor=user, target=f"user:{user.id}")
        logout_user()
        session.clear()
        flash("You are logged out.", "info")
    return redirect(url_for("main.index"))


@bp.route("/reauthenticate", methods=["GET", "POST"])
@login_required
@limiter.limit(_address_limit, methods=["POST"])
def reauthenticate():
    form = ReauthenticateForm()
    next_url = safe_next(request.args.get("next"), url_for("auth.account"))
    if form.validate_on_submit():
        if verify_password(current_user.password_hash, form.password.data):
            user = current_user._get_current_object()
            login_user(user, remember=False, fresh=True)
            mark_authenticated()
            log_security_event("reauthenticated", actor=user)
            return redirect(next_url)
        log_security_event("reauthenticate_failed", actor=current_user)
        form.password.errors.append("That password is not right.")
    return render_template("auth/reauthenticate.html", form=form)


@bp.route("/account")
@login_required
def account():
    return render_template("auth/account.html", password_form=ChangePasswordForm(),
                           email_form=ChangeEmailForm())


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@recent_login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(user, form.current_password.data, form.new_password.data)
        except ValidationFailed as exc:
            db.session.rollback()
            field = form.current_password if "current" in exc.message else form.new_password
            field.errors.append(exc.message)
        else:
            db.session.commit()
            log_security_event("password_changed", actor=user, target=f"user:{user.id}")
            _start_session(user)  # this session carries on; every other one is dead
            flash("Your password was changed. Other devices have been logged out.", "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", password_form=form,
                           email_form=ChangeEmailForm()), 200 if not form.errors else 400


@bp.route("/account/email", methods=["GET", "POST"])
@login_required
@recent_login_required
def change_email():
    form = ChangeEmailForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_email(user, form.email.data, form.password.data)
        except ValidationFailed as exc:
            db.session.rollback()
            field = form.password if "password" in exc.message else form.email
            field.errors.append(exc.message)
        else:
            db.session.commit()
            log_security_event("email_changed", actor=user, target=f"user:{user.id}")
            _start_session(user)
            flash("Your e-mail address was changed.", "success")
            return redirect(url_for("auth.account"))
    return render_template("auth/account.html", password_form=ChangePasswordForm(),
                           email_form=form), 200 if not form.errors else 400


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data, now())
        db.session.commit()
        log_security_event("password_reset_requested")
        flash("If an account uses that address, we have sent it a link to reset the password. "
              "The link works once, within an hour.", "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit(_address_limit, methods=["POST"])
def reset_password(token: str):
    if len(token) > 200 or services.find_reset_token(token, now()) is None:
        return render_template("auth/reset_invalid.html"), 404
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services.reset_password(token, form.password.data, now())
        except ValidationFailed as exc:
            db.session.rollback()
            form.password.errors.append(exc.message)
        else:
            db.session.commit()
            log_security_event("password_reset", target=f"user:{user.id}")
            logout_user()
            session.clear()
            flash("Your password was reset. Log in with the new password.", "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)
