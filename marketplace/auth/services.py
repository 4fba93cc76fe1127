"""Account use cases: register, authenticate, passwords, resets. Services flush; views commit."""

import math
from datetime import datetime, timedelta

from flask import current_app, url_for
from sqlalchemy import select, update

from marketplace import mail
from marketplace.errors import DomainError, ValidationFailed
from marketplace.extensions import db
from marketplace.models import PasswordResetToken, User
from marketplace.passwords import (
    burn_time,
    hash_password,
    needs_rehash,
    password_problems,
    verify_password,
)
from marketplace.security import get_user_by_email
from marketplace.tokens import hash_token, new_token


class LoginRefused(DomainError):
    status_code = 200  # shown on the form, not as an error page


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_new_password(password: str, *, email: str = "", display_name: str = "") -> None:
    problems = password_problems(password, email=email, display_name=display_name)
    if problems:
        raise ValidationFailed(" ".join(problems))


def register_user(email: str, display_name: str, password: str) -> User:
    email = normalise_email(email)
    check_new_password(password, email=email, display_name=display_name)
    if get_user_by_email(email) is not None:
        raise ValidationFailed(
            "An account with this e-mail address already exists. Log in, or reset your "
            "password if you have forgotten it.")
    user = User(email=email, display_name=display_name, password_hash=hash_password(password))
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str, now: datetime) -> User:
    """Check a login. Failures are counted per account in the database; the caller commits
    even when this raises, so the count survives."""
    user = get_user_by_email(email)
    if user is None:
        burn_time(password)
        raise LoginRefused("The e-mail address or password is not right.")
    if user.locked_until is not None and now < user.locked_until:
        minutes = max(1, math.ceil((user.locked_until - now).total_seconds() / 60))
        raise LoginRefused(
            f"Too many failed attempts. Try again in {minutes} minute{'s' * (minutes > 1)}, "
            "or reset your password.")
    if not verify_password(user.password_hash, password):
        _record_failure(user, now)
        raise LoginRefused("The e-mail address or password is not right.")
    if user.is_suspended:
        raise LoginRefused("This account is suspended. Contact the site administrators.")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.failed_login_count = 0
    user.locked_until = None
    user.last_login_at = now
    db.session.flush()
    return user


def _record_failure(user: User, now: datetime) -> None:
    # An atomic increment, so that concurrent failures on several workers all count.
    db.session.execute(update(User).where(User.id == user.id)
                       .values(failed_login_count=User.failed_login_count + 1))
    db.session.refresh(user)
    threshold = current_app.config["ACCOUNT_LOCK_THRESHOLD"]
    if user.failed_login_count >= threshold:
        excess = user.failed_login_count - threshold
        minutes = min(2 ** excess, current_app.config["ACCOUNT_LOCK_MAX_MINUTES"])
        user.locked_until = now + timedelta(minutes=minutes)
    db.session.flush()


def end_all_sessions(user: User) -> None:
    """Make every session and remember-me cookie of this user useless."""
    db.session.execute(update(User).where(User.id == user.id)
                       .values(session_generation=User.session_generation + 1))
    db.session.refresh(user)


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not verify_password(user.password_hash, current_password):
        raise ValidationFailed("Your current password is not right.")
    check_new_password(new_password, email=user.email, display_name=user.display_name)
    user.password_hash = hash_password(new_password)
    end_all_sessions(user)


def change_email(user: User, new_email: str, password: str) -> None:
    if not verify_password(user.password_hash, password):
        raise ValidationFailed("Your current password is not right.")
    new_email = normalise_email(new_email)
    if new_email == user.email:
        return
    if get_user_by_email(new_email) is not None:
        raise ValidationFailed("Another account already uses this e-mail address.")
    old_email = user.email
    user.email = new_email
    end_all_sessions(user)
    mail.queue_email(old_email, "Your Guild e-mail address was changed", "email_changed",
                     user=user, new_email=new_email)


def request_password_reset(email: str, now: datetime) -> None:
    """Send a reset link if the account exists; say nothing either way."""
    user = get_user_by_email(email)
    if user is None or user.is_suspended:
        return
    token, token_hash = new_token()
    db.session.add(PasswordResetToken(
        user_id=user.id, token_hash=token_hash,
        expires_at=now + current_app.config["RESET_TOKEN_TTL"]))
    db.session.flush()
    link = url_for("auth.reset_password", token=token, _external=True)
    mail.queue_email(user.email, "Reset your Guild password", "password_reset",
                     sensitive=True, user=user, link=link,
                     ttl_minutes=int(current_app.config["RESET_TOKEN_TTL"].total_seconds() // 60))


def find_reset_token(token: str, now: datetime) -> PasswordResetToken | None:
    row = db.session.scalar(select(PasswordResetToken)
                            .where(PasswordResetToken.token_hash == hash_token(token)))
    if row is None or row.used_at is not None or now >= row.expires_at:
        return None
    return row


def reset_password(token: str, new_password: str, now: datetime) -> User:
    row = find_reset_token(token, now)
    if row is None:
        raise ValidationFailed("This reset link has expired or was already used. "
                               "Ask for a new one.")
    user = row.user
    check_new_password(new_password, email=user.email, display_name=user.display_name)
    # Conditional update: two tabs using the same link cannot both succeed.
    claimed = db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now))
    if claimed.rowcount != 1:
        raise ValidationFailed("This reset link was already used.")
    # Every other outstanding link for this account dies with this one.
    db.session.execute(update(PasswordResetToken)
                       .where(PasswordResetToken.user_id == user.id,
                              PasswordResetToken.used_at.is_(None))
                       .values(used_at=now))
    user.password_hash = hash_password(new_password)
    user.failed_login_count = 0
    user.locked_until = None
    end_all_sessions(user)
    return user
