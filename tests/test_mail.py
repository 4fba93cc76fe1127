"""The e-mail outbox: delivered only after commit, SMTP when configured, replayed after an
outage (issue 1/7, item 3)."""

import smtplib

import pytest
from flask import abort
from sqlalchemy import select

from marketplace import mail
from marketplace.errors import InvalidState
from marketplace.extensions import db as _db
from marketplace.models import EmailMessage, MailStatus


class FakeSMTP:
    """Stands in for smtplib.SMTP; ``down`` makes every connection fail."""

    sent: list = []
    down = False

    def __init__(self, host, port, timeout=None):
        if FakeSMTP.down:
            raise smtplib.SMTPConnectError(421, b"service not available")
        self.host, self.port = host, port

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def starttls(self):
        pass

    def login(self, user, password):
        pass

    def send_message(self, message):
        FakeSMTP.sent.append(message)


@pytest.fixture
def smtp(monkeypatch):
    monkeypatch.setattr(FakeSMTP, "sent", [])
    monkeypatch.setattr(FakeSMTP, "down", False)
    monkeypatch.setattr(smtplib, "SMTP", FakeSMTP)
    return FakeSMTP


def add_mail_routes(app):
    """Test-only views: queue a message, then commit or fail the request."""

    def queue(outcome):
        mail.queue_email("someone@example.com", "Hello from Guild", "password_reset",
                         sensitive=outcome == "secret", user={"display_name": "Someone"},
                         link="https://guild.example/password/reset/SECRET-LINK", ttl_minutes=60)
        if outcome == "domain-error":
            raise InvalidState("refused after queueing")
        if outcome == "abort":
            abort(403)
        _db.session.commit()
        return "queued"

    app.add_url_rule("/_test/mail/<outcome>", "test_mail", queue, methods=["POST"])


def messages() -> list[EmailMessage]:
    _db.session.expire_all()
    return list(_db.session.scalars(select(EmailMessage).order_by(EmailMessage.id)))


@pytest.mark.parametrize("outcome", ["domain-error", "abort"])
def test_mail_of_a_rolled_back_request_is_never_delivered(app, client, smtp, outcome):
    app.config["MAIL_SERVER"] = "smtp.example.com"
    add_mail_routes(app)
    response = client.post(f"/_test/mail/{outcome}")
    assert response.status_code in (403, 409)
    assert messages() == []
    assert smtp.sent == []


def test_without_mail_server_mail_is_logged_and_kept(app, client, caplog):
    add_mail_routes(app)
    assert client.post("/_test/mail/secret").status_code == 200
    [message] = messages()
    assert message.status == MailStatus.LOGGED
    assert message.sent_at is not None
    assert "SECRET-LINK" in message.body_text  # the admin outbox is the delivery channel
    assert "mail id=" in caplog.text
    assert "SECRET-LINK" not in caplog.text


class TestSmtp:
    @pytest.fixture
    def app_config(self):
        return {"MAIL_SERVER": "smtp.example.com", "MAIL_USERNAME": "guild",
                "MAIL_PASSWORD": "smtp-secret"}

    def test_mail_is_sent_after_commit(self, app, client, smtp):
        add_mail_routes(app)
        client.post("/_test/mail/plain")
        [sent] = smtp.sent
        assert (sent["To"], sent["Subject"]) == ("someone@example.com", "Hello from Guild")
        assert "SECRET-LINK" in sent.get_content()
        [message] = messages()
        assert message.status == MailStatus.SENT

    def test_sent_sensitive_mail_keeps_no_readable_link(self, app, client, smtp):
        add_mail_routes(app)
        client.post("/_test/mail/secret")
        assert "SECRET-LINK" in smtp.sent[0].get_content()
        [message] = messages()
        assert message.status == MailStatus.SENT
        assert "SECRET-LINK" not in message.body_text

    def test_smtp_failure_leaves_mail_queued_for_replay(self, app, client, smtp, runner,
                                                        caplog):
        add_mail_routes(app)
        smtp.down = True
        assert client.post("/_test/mail/plain").status_code == 200
        [message] = messages()
        assert (message.status, message.attempts) == (MailStatus.QUEUED, 1)
        assert "SMTPConnectError" in message.last_error
        assert "smtp-secret" not in caplog.text

        # Still down: one more attempt per run, not every retry at once.
        result = runner.invoke(args=["mail", "send-queued"])
        assert result.exit_code == 0, result.output
        [message] = messages()
        assert (message.status, message.attempts) == (MailStatus.QUEUED, 2)

        smtp.down = False
        result = runner.invoke(args=["mail", "send-queued"])
        assert "Processed 1 queued message(s)." in result.output
        [message] = messages()
        assert message.status == MailStatus.SENT
        assert len(smtp.sent) == 1

    def test_mail_fails_for_good_after_five_attempts(self, app, client, smtp, runner):
        add_mail_routes(app)
        smtp.down = True
        client.post("/_test/mail/plain")
        for _ in range(4):
            runner.invoke(args=["mail", "send-queued"])
        [message] = messages()
        assert (message.status, message.attempts) == (MailStatus.FAILED, 5)
        assert "Processed 0" in runner.invoke(args=["mail", "send-queued"]).output


def test_send_queued_logs_mail_without_server(app, db, runner):
    with app.test_request_context():
        mail.queue_email("cli@example.com", "From the CLI", "password_reset",
                         user={"display_name": "X"}, link="https://x.example/", ttl_minutes=60)
        db.session.commit()
    result = runner.invoke(args=["mail", "send-queued"])
    assert "Processed 1 queued message(s)." in result.output
    assert messages()[0].status == MailStatus.LOGGED
