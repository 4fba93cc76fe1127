"""Single-use secret tokens (password resets, invitations).

Only a SHA-256 of the token is stored, so a leaked database or log gives no usable link.
"""

import hashlib
import secrets


def new_token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
