"""Personal API tokens: a user's key for the JSON API, stored only as a SHA-256 hash."""

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.models.base import Base, utcnow


class TokenScope(enum.StrEnum):
    READ = "read"
    READ_WRITE = "read-write"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    scope: Mapped[TokenScope] = mapped_column(
        Enum(TokenScope, name="api_token_scope", native_enum=False, length=16,
             values_callable=lambda e: [m.value for m in e]))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the token, so its owner can tell tokens apart on the page.
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]

    user: Mapped["User"] = relationship()  # noqa: F821

    @property
    def can_write(self) -> bool:
        return self.scope == TokenScope.READ_WRITE

    def is_usable(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or now < self.expires_at)
