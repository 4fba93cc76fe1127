"""Who is calling the API: a personal token from ``Authorization: Bearer``, or nobody.

The session cookie is deliberately ignored here. A browser sends the cookie with requests
that another site triggers, and the API is exempt from CSRF checks, so only a token, which a
browser never adds on its own, may authorise anything. Anonymous callers read public data.
"""

import functools
import logging
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, request
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from marketplace.clock import now
from marketplace.extensions import db
from marketplace.logging_utils import log_security_event
from marketplace.models import ApiToken, User
from marketplace.tokens import hash_token

log = logging.getLogger("marketplace.api")

# last_used_at is bookkeeping for the owner; writing it on every read would turn each GET
# into a write transaction, so it is refreshed at most this often.
LAST_USED_RESOLUTION = timedelta(minutes=5)
MAX_TOKEN_CHARS = 200


class ApiAuthError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Caller:
    token: ApiToken | None
    user: User | None
    # Set when a token was sent but is not usable; reads then fail instead of silently
    # falling back to anonymous, so a client learns at once that its token is dead.
    problem: str | None = None

    @property
    def can_write(self) -> bool:
        return self.token is not None and self.token.can_write


ANONYMOUS = Caller(None, None)


def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return value.strip()


def _lookup(raw: str) -> Caller:
    if not raw or len(raw) > MAX_TOKEN_CHARS or not raw.isascii():
        return Caller(None, None, "The API token is malformed.")
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    moment = now()
    if token is None:
        return Caller(None, None, "The API token is not valid.")
    if token.revoked_at is not None:
        return Caller(None, None, "The API token has been revoked.")
    if token.expires_at is not None and moment >= token.expires_at:
        return Caller(None, None, "The API token has expired.")
    user = token.user
    if user is None or not user.is_active:
        return Caller(None, None, "The API token's account is suspended.")
    _touch(token, moment)
    return Caller(token, user)


def _touch(token: ApiToken, moment) -> None:
    if token.last_used_at is not None and moment - token.last_used_at < LAST_USED_RESOLUTION:
        return
    try:
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id)
                           .values(last_used_at=moment))
        db.session.commit()
    except OperationalError:
        # A busy SQLite writer must not fail a read; the stamp is refreshed next time.
        db.session.rollback()
        log.info("api token last_used_at not refreshed (database busy)")


def caller() -> Caller:
    """The request's caller, authenticated once and kept in ``g``."""
    if "api_caller" not in g:
        raw = _bearer()
        g.api_caller = ANONYMOUS if raw is None else _lookup(raw)
        if g.api_caller.problem:
            log_security_event("api_token_rejected", reason=g.api_caller.problem)
    return g.api_caller


def require_valid_token_if_sent() -> Caller:
    who = caller()
    if who.problem:
        raise ApiAuthError(401, who.problem)
    return who


def require_write() -> Caller:
    who = require_valid_token_if_sent()
    if who.token is None:
        raise ApiAuthError(401, "Changes need a personal API token with read-write scope: "
                                "send it as 'Authorization: Bearer <token>'.")
    if not who.can_write:
        raise ApiAuthError(403, "This token is read-only; create a read-write token to make "
                                "changes.")
    return who


def rate_limit_key() -> str:
    """Per token for authenticated calls, per address otherwise (bad tokens included, so
    guessing tokens is throttled by address)."""
    who = caller()
    if who.token is not None:
        return f"api-token:{who.token.id}"
    return f"api-addr:{request.remote_addr or 'unknown'}"


def rate_limit() -> str:
    who = caller()
    if who.token is not None:
        return current_app.config.get("API_RATE_LIMIT_TOKEN", "600 per minute")
    return current_app.config.get("API_RATE_LIMIT_ANONYMOUS", "120 per minute")


def write_endpoint(view):
    """Authenticate a write: a valid read-write token, whatever cookies came along."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        require_write()
        return view(*args, **kwargs)

    return wrapped
