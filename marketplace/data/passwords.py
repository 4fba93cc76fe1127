"""Check passwords against the 3,000 most common ones (see README.md for the source)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def is_common_password(pw: str) -> bool:
    # The list is lowercase, so "Password" and "PASSWORD" count as common too.
    return pw.casefold() in common_passwords()
