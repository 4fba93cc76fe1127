"""Command-line tools: ``flask seed demo``, ``flask users create-admin``, ``flask mail ...``,
``flask import ...``."""

import os
from contextlib import ExitStack
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from marketplace.extensions import db

seed_cli = AppGroup("seed", help="Fill the database with demo data.")
users_cli = AppGroup("users", help="Manage user accounts.")
mail_cli = AppGroup("mail", help="The e-mail outbox.")
cpv_cli = AppGroup("cpv", help="The CPV code list.")
import_cli = AppGroup("import", help="Bulk import of business directories and tenders.")


@seed_cli.command("demo")
@click.option("--if-empty", is_flag=True, help="Do nothing if organisations already exist.")
def seed_demo_command(if_empty: bool) -> None:
    """Create the demo: local firms, buyers and real UK tenders."""
    from marketplace import seed

    if if_empty and not seed.database_is_empty():
        click.echo("Demo data already present; nothing to do.")
        return
    password, generated = seed.demo_password(current_app.config.get("DEMO_PASSWORD"))
    businesses = len(seed.demo_businesses())
    try:
        with click.progressbar(length=businesses, label="Seeding demo businesses") as bar:
            result = seed.seed_demo(password, progress=bar.update)
    except ValueError as exc:  # an unacceptable DEMO_PASSWORD
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"Created {result.organisations} organisations and {result.tenders} tenders.")
    if generated:
        click.echo("Demo accounts share this generated password (shown once, not stored):")
        click.echo(f"    {password}")
    click.echo(f"Log in as, for example, {seed.demo_businesses()[0]['owner']['email']}.")


@users_cli.command("create-admin")
@click.argument("email")
@click.option("--name", default="Site administrator", show_default=True)
def create_admin_command(email: str, name: str) -> None:
    """Create a site admin (or promote an existing account). The password comes from
    GUILD_ADMIN_PASSWORD or a prompt; there is no default."""
    from marketplace.auth import services as auth
    from marketplace.errors import ValidationFailed
    from marketplace.security import get_user_by_email

    user = get_user_by_email(email)
    if user is None:
        password = os.environ.get("GUILD_ADMIN_PASSWORD") or click.prompt(
            "Password", hide_input=True, confirmation_prompt=True)
        try:
            user = auth.register_user(email, name, password)
        except ValidationFailed as exc:
            raise click.ClickException(exc.message) from exc
    user.is_site_admin = True
    db.session.commit()
    click.echo(f"{user.email} is a site admin.")


@mail_cli.command("send-queued")
def send_queued_command() -> None:
    """Deliver (or log) every message still queued, e.g. after an SMTP outage."""
    from sqlalchemy import select

    from marketplace.mail import deliver_queued
    from marketplace.models import EmailMessage, MailStatus

    # One attempt per message per run: looping until the queue is empty would spend every
    # retry of a message within seconds while the mail server is down.
    ids = db.session.scalars(select(EmailMessage.id).where(
        EmailMessage.status == MailStatus.QUEUED).order_by(EmailMessage.id)).all()
    total = sum(deliver_queued(ids[i:i + 500]) for i in range(0, len(ids), 500))
    click.echo(f"Processed {total} queued message(s).")


@cpv_cli.command("load")
@click.option("--replace", is_flag=True, help="Reload even if the table is filled.")
def load_cpv_command(replace: bool) -> None:
    """Load the EU CPV 2008 code list from package data."""
    from marketplace.cpv import load_cpv_codes

    count = load_cpv_codes(replace=replace)
    db.session.commit()
    click.echo(f"Loaded {count} CPV codes." if count else "CPV codes already loaded.")


_IMPORT_OPTIONS = [
    click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path)),
    click.option("--dry-run", is_flag=True,
                 help="Check every record and count what would change; write nothing."),
    click.option("--batch-size", type=click.IntRange(1, 10_000), default=500,
                 show_default=True, help="Records per transaction."),
    click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
                 help="Also write the problems found as TSV to this file."),
]


def _import_options(command):
    for option in reversed(_IMPORT_OPTIONS):
        command = option(command)
    return command


@import_cli.command("organisations")
@_import_options
@click.option("--format", "file_format", type=click.Choice(["auto", "jsonl", "csv"]),
              default="auto", show_default=True)
@click.option("--source", default="import", show_default=True,
              help="Name of the directory the ids come from (ids are unique per source).")
def import_organisations_command(**options) -> None:
    """Import organisations with published profiles from JSON Lines or CSV (docs/import.md)."""
    _run_import("organisations", **options)


@import_cli.command("tenders")
@_import_options
@click.option("--format", "file_format", type=click.Choice(["auto", "jsonl", "json"]),
              default="auto", show_default=True, help="json: an OCDS release package.")
@click.option("--source", default=None,
              help="Source name for the ids [default: the record's 'source', else 'import'; "
                   "'ocds' for OCDS releases].")
def import_tenders_command(**options) -> None:
    """Import tenders from JSON Lines or OCDS 1.1 releases (docs/import.md)."""
    _run_import("tenders", **options)


MAX_PROBLEMS_SHOWN = 200


def _run_import(kind: str, *, file: Path, report_path: Path | None, **options) -> None:
    from marketplace.errors import DomainError
    from marketplace.importers import IMPORTERS

    with ExitStack() as stack:
        bars = []

        def on_start(total: int) -> None:
            bars.append(stack.enter_context(
                click.progressbar(length=total, label=f"Importing {kind}")))

        stream = stack.enter_context(file.open("rb"))
        try:
            report = IMPORTERS[kind](stream, filename=file.name, on_start=on_start,
                                     progress=lambda n: bars[0].update(n), **options)
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from exc
    lines = report.lines()
    for line in lines[:MAX_PROBLEMS_SHOWN]:
        click.echo(line, err=True)
    if len(lines) > MAX_PROBLEMS_SHOWN:
        click.echo(f"... and {len(lines) - MAX_PROBLEMS_SHOWN} more (see --report).", err=True)
    if report_path:
        report_path.write_text(report.to_tsv(), encoding="utf-8")
        click.echo(f"Report written to {report_path}.")
    click.echo(report.summary())
    if not report.ok:
        raise SystemExit(1)


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace PATH if it exists.")
def backup_command(path: Path, overwrite: bool) -> None:
    """Back up the database to PATH while the app runs (SQLite online backup API, or
    pg_dump -Fc on PostgreSQL). The file is readable by its owner only."""
    from marketplace.backup import BackupError, backup

    db.session.remove()
    try:
        report = backup(db.engine.url, path, overwrite=overwrite)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report.summary("Backed up"))


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(path: Path, yes: bool) -> None:
    """Replace the whole database with the backup in PATH. Stop the app first (on SQLite the
    command refuses while another process has the database open)."""
    from marketplace.backup import BackupError, restore

    url = db.engine.url
    if not yes:
        click.confirm(f"Replace every row of {url.render_as_string(hide_password=True)} "
                      f"with {path}?", abort=True)
    db.session.remove()
    db.engine.dispose()  # our own pooled connections would hold the old database open
    try:
        report = restore(url, path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report.summary("Restored"))
    click.echo("The search index still describes the old data: run `flask search rebuild`.")


def init_app(app: Flask) -> None:
    for group in (seed_cli, users_cli, mail_cli, cpv_cli, import_cli):
        app.cli.add_command(group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    from marketplace.search import cli as search_cli  # search, match, alerts

    search_cli.init_app(app)
