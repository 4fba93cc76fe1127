"""Outgoing e-mail through an outbox table.

Services call ``queue_email`` inside their transaction. Only after that transaction
commits is the message delivered (SMTP when ``MAIL_SERVER`` is set, otherwise logged and
kept for the admin outbox page), so a rolled-back action never sends mail. Anything not
delivered (a crash, an SMTP outage) is replayed by ``flask mail send-queued``.
"""

import logging
import smtplib
from email.message import EmailMessage as MIMEMessage

from flask import Flask, current_app, g, has_request_context, render_template
from flask_sqlalchemy.session import Session
from sqlalchemy import event, select

from marketplace.extensions import db
from marketplace.models import EmailMessage, MailStatus, utcnow

log = logging.getLogger("marketplace.mail")
SCRUBBED_BODY = "(removed after delivery: this message held a single-use link)"


def queue_email(to: str, subject: str, template: str, *, sensitive: bool = False,
                sealed_tender_id: int | None = None, **context) -> EmailMessage:
    """Queue one message. ``sealed_tender_id``: it speaks of a bid on that tender, so it
    stays out of the admin outbox until the tender's deadline."""
    body = render_template(f"email/{template}.txt", **context)
    message = EmailMessage(to_address=to, subject=subject[:200], body_text=body,
                           sensitive=sensitive or sealed_tender_id is not None,
                           sealed_tender_id=sealed_tender_id)
    db.session.add(message)
    db.session.flush()
    if has_request_context():
        g.setdefault("mail_pending", set()).add(message.id)
    return message


def deliver(message: EmailMessage) -> None:
    """Send or log one queued message and record the outcome (caller commits)."""
    message.attempts += 1
    if not current_app.config.get("MAIL_SERVER"):
        # The envelope only: bodies may hold single-use links, which never go to logs.
        # Mail about a sealed bid: not even the envelope goes to the log.
        log.info("mail id=%s to=%s subject=%r (no MAIL_SERVER; kept in outbox)",
                 message.id, "(sealed)" if message.sealed_tender_id else message.to_address,
                 "(sealed)" if message.sealed_tender_id else message.subject)
        message.status = MailStatus.LOGGED
        message.sent_at = utcnow()
        return
    try:
        _smtp_send(message)
    except (OSError, smtplib.SMTPException) as exc:
        message.last_error = f"{type(exc).__name__}: {exc}"[:500]
        message.status = MailStatus.FAILED if message.attempts >= 5 else MailStatus.QUEUED
        log.warning("mail id=%s failed attempt=%s: %s", message.id, message.attempts,
                    message.last_error)
        return
    message.status = MailStatus.SENT
    message.sent_at = utcnow()
    if message.sensitive:
        # Delivered: the single-use link it held need not stay readable in the database.
        message.body_text = SCRUBBED_BODY


def _smtp_send(message: EmailMessage) -> None:
    cfg = current_app.config
    mime = MIMEMessage()
    mime["From"] = cfg["MAIL_DEFAULT_SENDER"]
    mime["To"] = message.to_address
    mime["Subject"] = message.subject
    mime.set_content(message.body_text)
    with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=10) as smtp:
        if cfg["MAIL_USE_TLS"]:
            smtp.starttls()
        if cfg["MAIL_USERNAME"]:
            smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
        smtp.send_message(mime)


def deliver_queued(ids=None, limit: int = 500) -> int:
    """Deliver queued messages (all, or those with the given ids); commits. Returns count."""
    query = select(EmailMessage).where(EmailMessage.status == MailStatus.QUEUED)
    if ids is not None:
        if not ids:
            return 0
        query = query.where(EmailMessage.id.in_(ids))
    messages = db.session.scalars(query.order_by(EmailMessage.id).limit(limit)).all()
    for message in messages:
        deliver(message)
    db.session.commit()
    return len(messages)


def init_app(app: Flask) -> None:
    @app.after_request
    def _deliver_committed_mail(response):
        committed = g.pop("mail_committed", None)
        if committed and app.config["MAIL_DELIVER_AFTER_REQUEST"]:
            try:
                deliver_queued(committed)
            except Exception:  # delivery must never break the response; replay later
                db.session.rollback()
                log.exception("after-request mail delivery failed; left queued")
        return response


@event.listens_for(Session, "after_commit")
def _mark_mail_committed(_session) -> None:
    if has_request_context() and g.get("mail_pending"):
        g.setdefault("mail_committed", set()).update(g.pop("mail_pending"))


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back_mail(_session) -> None:
    if has_request_context():
        g.pop("mail_pending", None)
