"""The search outbox: what the derived Whoosh index still has to apply.

A row is written in the same transaction as the change it describes, so the index can never
learn of a change that rolled back, nor miss one that committed.
"""

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.models.base import Base, utcnow


class SearchOutbox(Base):
    __tablename__ = "search_outbox"

    # SQLite only auto-increments INTEGER primary keys.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"),
                                    primary_key=True)
    # "organisation", "alliance", "tender", "project"
    kind: Mapped[str] = mapped_column(String(20))
    object_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


Index("ix_search_outbox_kind_object", SearchOutbox.kind, SearchOutbox.object_id)
