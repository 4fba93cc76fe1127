"""Password policy and hashing (Argon2id through argon2-cffi)."""

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from marketplace.data.passwords import is_common_password

# Verifying against this keeps the time of a login for an unknown e-mail close to a real one.
_DUMMY_HASH_CACHE: dict[tuple, str] = {}


def _hasher() -> PasswordHasher:
    params = current_app.config.get("PASSWORD_HASH_PARAMS") or {}
    return PasswordHasher(**params)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def burn_time(password: str) -> None:
    """Spend a verification's worth of time for a login with no matching account."""
    key = tuple(sorted((current_app.config.get("PASSWORD_HASH_PARAMS") or {}).items()))
    if key not in _DUMMY_HASH_CACHE:
        _DUMMY_HASH_CACHE[key] = _hasher().hash("not a real password, only a timing decoy")
    verify_password(_DUMMY_HASH_CACHE[key], password)


def password_problems(password: str, *, email: str = "", display_name: str = "") -> list[str]:
    """Reasons a new password is refused (OWASP ASVS 2.1): empty when it is acceptable."""
    cfg = current_app.config
    problems = []
    if len(password) < cfg["PASSWORD_MIN_LENGTH"]:
        problems.append(f"Use at least {cfg['PASSWORD_MIN_LENGTH']} characters.")
    if len(password) > cfg["PASSWORD_MAX_LENGTH"]:
        problems.append(f"Use at most {cfg['PASSWORD_MAX_LENGTH']} characters.")
    if is_common_password(password):
        problems.append("This password is one of the most common ones; choose another.")
    lowered = password.casefold()
    local = email.split("@")[0].casefold()
    if email and lowered in {email.casefold(), local if len(local) >= 4 else None}:
        problems.append("Do not use your e-mail address as your password.")
    if display_name and lowered == display_name.casefold():
        problems.append("Do not use your name as your password.")
    return problems
