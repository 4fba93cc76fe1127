"""Command-line tools: ``flask seed demo``, ``flask users create-admin``, ``flask mail ...``."""

import os

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from marketplace.extensions import db

seed_cli = AppGroup("seed", help="Fill the database with demo data.")
users_cli = AppGroup("users", help="Manage user accounts.")
mail_cli = AppGroup("mail", help="The e-mail outbox.")
cpv_cli = AppGroup("cpv", help="The CPV code list.")


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
    with click.progressbar(length=businesses, label="Seeding demo businesses") as bar:
        result = seed.seed_demo(password, progress=bar.update)
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
    from marketplace.mail import deliver_queued

    total = 0
    while sent := deliver_queued():
        total += sent
    click.echo(f"Processed {total} queued message(s).")


@cpv_cli.command("load")
@click.option("--replace", is_flag=True, help="Reload even if the table is filled.")
def load_cpv_command(replace: bool) -> None:
    """Load the EU CPV 2008 code list from package data."""
    from marketplace.cpv import load_cpv_codes

    count = load_cpv_codes(replace=replace)
    db.session.commit()
    click.echo(f"Loaded {count} CPV codes." if count else "CPV codes already loaded.")


def init_app(app: Flask) -> None:
    for group in (seed_cli, users_cli, mail_cli, cpv_cli):
        app.cli.add_command(group)
