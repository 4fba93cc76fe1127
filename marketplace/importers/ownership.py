"""Who owns imported organisations, and the web addresses they get.

Every organisation has at least one owner. Directory entries and buyers created by an
import are owned by one system account that can never log in: its password hash is "!",
which no password verifies against (Argon2 rejects it as a malformed hash). A business
claims its entry when a site admin adds one of its people as owner; from then on, imports
leave the entry alone.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from marketplace.errors import Conflict
from marketplace.extensions import db
from marketplace.models import Membership, Organisation, OrgRole, User
from marketplace.orgs.services import RESERVED_SLUGS, slugify

SYSTEM_EMAIL = "importer@guild.invalid"
SYSTEM_NAME = "Guild directory import"
UNUSABLE_PASSWORD_HASH = "!"  # noqa: S105 - not a secret: a hash nothing verifies  # nosec B105
SLUG_ATTEMPTS = 9


def system_account() -> User:
    """The owner of imported entries, created on first use."""
    user = db.session.scalar(select(User).where(User.email == SYSTEM_EMAIL))
    if user is None:
        user = User(email=SYSTEM_EMAIL, display_name=SYSTEM_NAME,
                    password_hash=UNUSABLE_PASSWORD_HASH)
        db.session.add(user)
        db.session.flush()
    elif user.password_hash != UNUSABLE_PASSWORD_HASH:
        # Someone registered the address as a normal account: it must not become the owner
        # of every imported organisation.
        raise Conflict(f"The account {SYSTEM_EMAIL} is not the import system account; "
                       "refusing to import. Rename or remove that account first.")
    return user


def is_system_account(user: User | None) -> bool:
    return (user is not None and user.email == SYSTEM_EMAIL
            and user.password_hash == UNUSABLE_PASSWORD_HASH)


class SlugAllocator:
    """Unique organisation slugs for a batch, found with one query instead of one per name."""

    def __init__(self, names: list[str]):
        self.taken: set[str] = set(RESERVED_SLUGS)
        candidates = {c for name in names for c in self._candidates(slugify(name))}
        chunk = sorted(candidates)
        for start in range(0, len(chunk), 2000):
            self.taken.update(db.session.scalars(
                select(Organisation.slug).where(Organisation.slug.in_(chunk[start:start + 2000]))))

    @staticmethod
    def _candidates(base: str) -> list[str]:
        return [base] + [f"{base}-{n}" for n in range(2, SLUG_ATTEMPTS + 1)]

    def allocate(self, name: str, key: str) -> str:
        base = slugify(name)
        for candidate in self._candidates(base):
            if candidate not in self.taken:
                self.taken.add(candidate)
                return candidate
        # A very common name: a suffix from the record's key keeps it stable and unique.
        digest = hashlib.sha256(key.encode()).hexdigest()[:8]
        slug = f"{base[:70]}-{digest}"
        self.taken.add(slug)
        return slug


def new_owned_organisation(owner: User, name: str, slug: str, *, is_buyer: bool = False,
                           summary: str = "") -> Organisation:
    org = Organisation(name=name, slug=slug, summary=summary, is_buyer=is_buyer)
    org.memberships.append(Membership(user=owner, role=OrgRole.OWNER))
    db.session.add(org)
    return org


def claimed_organisation_ids(org_ids: list[int], owner: User) -> set[int]:
    """Of these organisations, those with an owner other than the system account."""
    if not org_ids:
        return set()
    return set(db.session.scalars(
        select(Membership.organisation_id).where(
            Membership.organisation_id.in_(org_ids), Membership.role == OrgRole.OWNER,
            Membership.user_id != owner.id)))
