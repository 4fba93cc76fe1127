"""Files written during a request are removed again if the request's transaction rolls back.

Uploads are stored before the row that names them is committed (the row needs the stored
name). If that commit never happens -- a refused action, a conflict, a crash of the commit
itself -- the file would be left behind with nothing pointing at it.
"""

import contextlib
from pathlib import Path

from flask import g, has_request_context
from flask_sqlalchemy.session import Session
from sqlalchemy import event


def remember(path: Path) -> None:
    """Note a file written for the current transaction (outside a request: nothing to undo,
    the CLI's callers clean up on their own failure)."""
    if has_request_context():
        g.setdefault("files_written", []).append(path)


@event.listens_for(Session, "after_commit")
def _keep_committed(_session) -> None:
    if has_request_context():
        g.pop("files_written", None)


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(_session, previous_transaction) -> None:
    # A savepoint rolling back (begin_nested) is not the end of the request's transaction.
    if not has_request_context() or previous_transaction.parent is not None:
        return
    for path in g.pop("files_written", []):
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
