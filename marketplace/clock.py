"""The server clock, read once per request.

Every deadline comparison in a request uses the same instant, so a request that starts
before a deadline cannot see two different "nows". Tests move the clock with time-machine.
"""

from datetime import UTC, datetime, timedelta

from flask import current_app, g, has_app_context, has_request_context


def _read() -> datetime:
    moment = datetime.now(UTC)
    # Browser tests move a live server's clock (a deadline passes) through this offset;
    # only a test configuration can switch it on, and production refuses to start with it.
    if has_app_context() and current_app.config.get("TEST_CLOCK_OFFSET_ENABLED"):
        moment += current_app.config.get("TEST_CLOCK_OFFSET") or timedelta()
    return moment


def now() -> datetime:
    if has_request_context():
        if "now" not in g:
            g.now = _read()
        return g.now
    return _read()
