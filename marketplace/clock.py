"""The server clock, read once per request.

Every deadline comparison in a request uses the same instant, so a request that starts
before a deadline cannot see two different "nows". Tests move the clock with time-machine.
"""

from datetime import UTC, datetime

from flask import g, has_request_context


def now() -> datetime:
    if has_request_context():
        if "now" not in g:
            g.now = datetime.now(UTC)
        return g.now
    return datetime.now(UTC)
