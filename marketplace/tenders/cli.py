"""``flask tenders close-due`` and ``flask tenders remind``, meant for cron (every few
minutes and every hour). Both are idempotent."""

import click
from flask import current_app, g

from marketplace.clock import now
from marketplace.extensions import db
from marketplace.tenders import bp
from marketplace.tenders.lifecycle import close_due_tenders
from marketplace.tenders.reminders import send_deadline_reminders


@bp.cli.command("close-due")
def close_due_command() -> None:
    """Write 'closed' for open tenders whose deadline has passed (pages already treat them
    as closed; this makes the stored state, audit trail and search index catch up)."""
    total = 0
    while closed := close_due_tenders(now()):
        db.session.commit()
        total += closed
    db.session.commit()
    click.echo(f"Closed {total} tender(s).")


@bp.cli.command("remind")
def remind_command() -> None:
    """Remind organisations with an unfinished bid on a tender closing within 24 hours."""
    from marketplace.mail import deliver_queued

    moment = now()  # read outside any request: the clock itself, once for the whole run
    # A request context so that links in notifications are built as site paths.
    with current_app.test_request_context("/"):
        g.now = moment
        sent = send_deadline_reminders(moment)
        db.session.commit()
    while deliver_queued():
        pass
    click.echo(f"Sent {sent} reminder(s).")
