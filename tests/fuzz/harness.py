"""What every fuzz example checks, for HTML forms and the JSON API alike.

- No response is a server error (SECURITY.md 14, 16).
- A rejected request (4xx, a form re-rendered with errors, or a redirect carrying an error
  message) leaves every row of every table as it was (SECURITY.md 14).
- An accepted request changes no ownership, role or status column of an existing row unless
  the route exists to change it, moves version columns forward by small steps only, and
  creates no row with a privileged value (SECURITY.md 11: no mass assignment).
"""

import os
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from hypothesis import HealthCheck, settings

from marketplace.extensions import db
from tests.fuzz import snapshot

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "200"))

FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
    print_blob=True)

# Ownership, privilege and lifecycle columns: on an existing row, only a route listed for
# the column (Spec.may_change) may change them, whatever extra fields a request carries.
SENSITIVE_NAMES = {"role", "status", "state", "deadline", "email", "password_hash",
                   "session_generation", "is_site_admin", "is_buyer", "hidden_at",
                   "suspended_at", "published_at", "scope", "token_hash", "external_id"}
# Columns that record who did something; they may only ever name the request's actor.
ACTOR_STAMPS = ("_by_id", "_by_user_id")
# Changed by many routes as a side effect that belongs to them (documented here):
ALWAYS_ALLOWED = {
    # The acting organisation remembered for the user (orgs.switch, creating an org, ...).
    ("users", "acting_organisation_id"),
    # A login records its time; a successful login resets the failure counters.
    ("users", "last_login_at"),
}


def is_sensitive(table: str, column: str) -> bool:
    return column in SENSITIVE_NAMES or column.endswith("_id")


# Rows that must never be created with these values by a request (privilege by mass
# assignment). Values are compared as stored.
INSERT_RULES = {
    "users": {"is_site_admin": False, "suspended_at": None, "session_generation": 1},
    "organisations": {"is_buyer": False, "hidden_at": None},
    "api_tokens": {"revoked_at": None},
}


@dataclass
class Stats:
    examples: int = 0
    accepted: int = 0
    rejected: int = 0
    statuses: dict = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)

    def line(self, name: str) -> str:
        seconds = time.perf_counter() - self.started
        codes = " ".join(f"{k}:{v}" for k, v in sorted(self.statuses.items()))
        return (f"FUZZ {name}: examples={self.examples} accepted={self.accepted} "
                f"rejected={self.rejected} statuses[{codes}] {seconds:.1f}s")


def pop_flashes(client) -> list[tuple[str, str]]:
    """The messages the response flashed, read from the signed session cookie."""
    app = client.application
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    if cookie is None:
        return []
    session = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    return list(session.get("_flashes", []))


def is_rejected(client, response, *, api: bool = False,
                renders_on_success: bool = False) -> bool:
    status = response.status_code
    if status >= 400:
        return True
    if api:
        return False
    if 300 <= status < 400:
        flashes = pop_flashes(client)
        response.fuzz_flashes = flashes  # for failure messages
        location = urlsplit(response.headers.get("Location", ""))
        if location.path == "/login" and "next=" in location.query:
            return True  # login_required turned the request away: nothing may have happened
        return any(category == "error" for category, _ in flashes)
    if not renders_on_success:
        return True  # the app answers an accepted POST with a redirect; 200 is the form again
    body = response.get_data(as_text=True)
    return any(mark in body for mark in ('class="field-error"', "flash-error", "error-summary"))


def check_example(name: str, stats: Stats, before, response, rejected: bool,
                  may_change=frozenset(), request_repr: str = "", actor_id: int | None = None):
    """Assert the properties above; returns the snapshot after the request."""
    stats.examples += 1
    stats.statuses[response.status_code] = stats.statuses.get(response.status_code, 0) + 1
    assert response.status_code < 500, (
        f"{name}: {response.status_code} for {request_repr}\n"
        f"{response.get_data(as_text=True)[:2000]}")
    db.session.rollback()
    after = snapshot.take()
    if rejected:
        stats.rejected += 1
        changes = snapshot.differences(before, after, ignore=snapshot.IGNORED_ON_REJECT)
        assert changes == [], (f"{name}: rejected with {response.status_code} but changed "
                               f"the database: {changes[:20]} for {request_repr}")
    else:
        stats.accepted += 1
        problems = mass_assignment_problems(before, after, may_change, actor_id)
        assert problems == [], f"{name}: {problems[:20]} for {request_repr}"
    return after


def mass_assignment_problems(before, after, may_change, actor_id=None) -> list[str]:
    problems = []
    for table, column, value in snapshot.changed_values(before, after):
        if column == "version" or (table, column) in may_change | ALWAYS_ALLOWED:
            continue
        if column.endswith(ACTOR_STAMPS) and value == actor_id:
            continue  # "answered by", "accepted by": the request's own actor
        if is_sensitive(table, column):
            problems.append(f"{table}.{column} changed to {value!r:.60}")
    for table, old in before.items():
        new = after.get(table, {})
        for key in old.keys() & new.keys():
            was, now = old[key].get("version"), new[key].get("version")
            if isinstance(was, int) and isinstance(now, int) and not 0 <= now - was <= 3:
                problems.append(f"{table}{list(key)}.version jumped {was} -> {now}")
        for key in new.keys() - old.keys():
            for column, expected in INSERT_RULES.get(table, {}).items():
                if new[key].get(column) != expected:
                    problems.append(f"new {table}{list(key)}.{column} = "
                                    f"{new[key].get(column)!r}")
    return problems


def short(data) -> str:
    text = repr(data)
    return text if len(text) < 1500 else text[:1500] + "…"
