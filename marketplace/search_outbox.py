"""Recording changes for the search index (the write side of the search outbox).

Every service that changes something searchable calls ``record_change`` inside its
transaction. The indexer (``marketplace.search``) applies the rows after commit.
"""

from marketplace.extensions import db
from marketplace.models import SearchOutbox

KINDS = frozenset({"organisation", "alliance", "tender", "project"})


def record_change(kind: str, object_id: int) -> None:
    """Note that the search document for (kind, id) must be rebuilt or deleted."""
    if kind not in KINDS:
        raise ValueError(f"unknown search document kind: {kind}")
    db.session.add(SearchOutbox(kind=kind, object_id=object_id))
