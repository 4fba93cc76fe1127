"""Fault points: places where a crash-safety test may kill the process (SECURITY.md 29, 30).

A test arms a point by name through the configuration, e.g. the environment of a gunicorn or
``flask search worker`` it starts: ``FLASK_FAULT_POINTS='["bid.approve.before_commit"]'``.
When the code reaches an armed point the process ends with SIGKILL -- no ``finally``, no
rollback, no atexit -- which is what a power cut or the OOM killer does. Production refuses
to start with any point armed (``create_app``), so the calls cost one dict lookup there.

Points:
    bid.approve.before_commit   after the approval row is inserted and flushed, before commit
    index.before_commit         the indexer has written documents, Whoosh has not committed
    index.after_commit          Whoosh has committed, the outbox mark is not yet written
"""

import os
import signal

from flask import current_app, has_app_context

POINTS = frozenset({"bid.approve.before_commit", "index.before_commit", "index.after_commit"})


def armed(name: str) -> bool:
    return has_app_context() and name in (current_app.config.get("FAULT_POINTS") or ())


def fault_point(name: str) -> None:
    """Kill this process here if a test armed ``name``."""
    assert name in POINTS, name
    if armed(name):
        os.kill(os.getpid(), signal.SIGKILL)
