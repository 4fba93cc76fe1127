"""Security events in the log (SECURITY.md 21), beyond test_auth.py's login lines: bid state
changes, suspensions, logout and password changes carry a UTC time, the actor and the target;
no password, token or sealed bid content is ever logged; no user input can start a line of its
own, whatever line break or escape it uses."""

import logging
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine

from marketplace.logging_utils import OneLineUTCFormatter
from tests.bidding import approve_all, build_team, start_bid
from tests.conftest import PASSWORD, log_in

MARKER = "SEALED-7c1f-proposal-text"
NEW_PASSWORD = "another long passphrase 77"
LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ (INFO|WARNING|ERROR) [\w.]+: ")


def app_lines(caplog, logger: str | None = None) -> list[str]:
    """The records as the app's own handler writes them."""
    formatter = next(h.formatter for h in logging.getLogger("marketplace").handlers
                     if isinstance(h.formatter, OneLineUTCFormatter))
    return [formatter.format(r) for r in caplog.records
            if logger is None or r.name == logger]


def test_bid_state_changes_are_logged_with_actor_and_no_contents(app, make_user, make_org,
                                                                 caplog):
    caplog.set_level("INFO")
    team = build_team(app, make_user, make_org, partners=1,
                      deadline=datetime(2030, 3, 1, 12, 0, tzinfo=UTC))
    with time_machine.travel(datetime(2030, 2, 3, 4, 5, 6, tzinfo=UTC), tick=False):
        bid = start_bid(app, team, price=Decimal("12345.67"), proposal=MARKER)
        approve_all(app, team, bid)
    lines = app_lines(caplog, "marketplace.bids")
    actions = [re.search(r"action=(\w+)", line).group(1) for line in lines]
    assert {"created", "approval_requested", "approved", "submitted"} <= set(actions)
    lead, partner = team.lead_owner.id, team.partner_owners[0].id
    for line in lines:
        assert line.startswith("2030-02-03T04:05:06Z INFO marketplace.bids: "), line
        assert f"bid={bid.id}" in line
        assert re.search(rf"actor=user:({lead}|{partner})\b", line), line
        assert MARKER not in line and "12345" not in line
    assert MARKER not in caplog.text


def test_account_events_carry_actor_and_target(app, client, make_user, caplog):
    me = make_user("me@example.com")
    root = make_user("root@example.com", site_admin=True)
    log_in(client, "me@example.com")
    client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    client.post("/logout")
    admin = app.test_client()
    log_in(admin, "root@example.com")
    admin.post(f"/admin/users/{me.id}/suspend")
    admin.post(f"/admin/users/{me.id}/reinstate")
    lines = [line.split(": ", 1)[1] for line in app_lines(caplog, "marketplace.security")]
    expected = [
        f"event=password_changed actor=user:{me.id} target=user:{me.id}",
        f"event=logout actor=user:{me.id} target=user:{me.id}",
        f"event=account_suspended actor=user:{root.id} target=user:{me.id}",
        f"event=account_reinstated actor=user:{root.id} target=user:{me.id}",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in lines), start
    text = caplog.text
    for secret in (PASSWORD, NEW_PASSWORD):
        assert secret not in text


def test_a_whole_account_life_logs_no_password(app, client, db, caplog_all):
    from tests.test_secret_tokens import links

    client.post("/register", data={"email": "new@example.com", "display_name": "New",
                                   "password": PASSWORD, "confirm": PASSWORD})
    client.post("/logout")
    log_in(client, "new@example.com", "a wrong passphrase 0000")
    log_in(client, "new@example.com")
    client.post("/account/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    other = app.test_client()
    other.post("/password/forgot", data={"email": "new@example.com"})
    path, token = links(db, "new@example.com")[-1]
    other.post(path, data={"password": PASSWORD + "!", "confirm": PASSWORD + "!"})
    assert caplog_all.records
    for record in caplog_all.records:
        message = record.getMessage() + str(record.args)
        for secret in (PASSWORD, NEW_PASSWORD, "a wrong passphrase 0000", token):
            assert secret not in message, record.name


BREAKS = ["\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028",
          "\u2029"]


@pytest.mark.parametrize("brk", BREAKS, ids=[f"U+{ord(b[-1]):04X}" for b in BREAKS])
def test_no_line_break_in_user_input_starts_a_log_line(client, caplog, brk):
    forged = f"me@example.com{brk}2030-01-01T00:00:00Z WARNING marketplace.security: event=login"
    log_in(client, forged, "a wrong passphrase 0000")
    lines = app_lines(caplog, "marketplace.security")
    assert len(lines) == 1
    assert len(lines[0].splitlines()) == 1, repr(lines[0])
    assert LINE.match(lines[0])


def test_escapes_cannot_be_faked_with_backslashes(client, caplog):
    """A literal backslash-n typed by a user must stay distinguishable from an escaped break."""
    log_in(client, "me@example.com\\nforged", "a wrong passphrase 0000")
    log_in(client, "me@example.com\nforged", "a wrong passphrase 0000")
    typed, broken = app_lines(caplog, "marketplace.security")
    assert "me@example.com\\\\nforged" in typed
    assert "me@example.com\\nforged" in broken
    assert typed != broken


class TestLoggedPaths:
    @pytest.fixture
    def app_config(self):
        return {"ERRORS_RAISE": False}

    def test_paths_with_encoded_line_breaks_stay_on_one_line(self, app, client, caplog):
        def crash(name):
            raise RuntimeError(f"cannot handle {name}")

        app.add_url_rule("/_test/crash/<name>", "test_crash_named", crash)
        for brk in ("%0A", "%0D", "%E2%80%A8", "%C2%85", "%0B"):
            client.get(f"/_test/crash/a{brk}2030-01-01T00:00:00Z%20WARNING%20event=login")
        lines = app_lines(caplog, "marketplace.errors")
        assert len(lines) == 5
        for line in lines:
            # The path and the exception text, traceback included, stay on the one line.
            assert len(line.splitlines()) == 1, repr(line)
            assert LINE.match(line) and "path=/_test/crash/a" in line
