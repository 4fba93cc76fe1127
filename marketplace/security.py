"""Request-wide security: who is logged in, response headers, safe redirects."""

from urllib.parse import urlsplit

from flask import Flask, request
from flask_login import current_user
from sqlalchemy import select

from marketplace.extensions import db, login_manager
from marketplace.models import User

CSP = "; ".join([
    "default-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])


@login_manager.user_loader
def load_user(alternative_id: str) -> User | None:
    """Load from ``"<id>:<generation>"``; an old generation means a revoked cookie."""
    user_id, _, generation = alternative_id.partition(":")
    if not (user_id.isdigit() and generation.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_generation != int(generation) or not user.is_active:
        return None
    return user


def get_user_by_email(email: str) -> User | None:
    if "\x00" in email:  # never in a stored address, and PostgreSQL refuses it (a 500)
        return None
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def is_safe_next(target: str | None) -> bool:
    """Only same-site relative paths: ``/x`` yes; ``//evil``, ``/\\evil``, ``http:..`` no."""
    if not target or len(target) > 2000:
        return False
    if any(ord(c) < 32 or ord(c) == 127 or c == "\\" for c in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str) -> str:
    return target if is_safe_next(target) else default


def init_app(app: Flask) -> None:
    production = app.config["GUILD_ENV"] == "production"

    @app.after_request
    def _security_headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h["X-Content-Type-Options"] = "nosniff"
        h["Referrer-Policy"] = "strict-origin-when-cross-origin"
        h["X-Frame-Options"] = "DENY"
        h["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
        h["Cross-Origin-Opener-Policy"] = "same-origin"
        if production:
            h["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        if current_user.is_authenticated and request.endpoint != "static":
            h["Cache-Control"] = "no-store"
            h["Vary"] = "Cookie"
        return response
