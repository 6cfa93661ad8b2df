"""The outbox against a real SMTP server: down, refusing, a worker that dies after claiming."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from coopol.config import ConfigError
from coopol.core.time import utcnow
from coopol.core.uow import unit_of_work
from coopol.extensions import db
from coopol.mail.models import FAILED, PENDING, SENT, OutboxMail
from coopol.mail.smtp import SmtpConfigError, parse_smtp_url
from tests.mail.conftest import Mailbox, forget_queued, free_port, parts, send_all


def _rows(app) -> list[OutboxMail]:
    with app.app_context():
        rows = list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))
        db.session.expunge_all()
        return rows


def test_smtp_url_forms_and_mistakes():
    assert parse_smtp_url("") is None
    plain = parse_smtp_url("smtp://ana%40party:s%3Acret@mail.example:587?starttls=1")
    assert (plain.host, plain.port, plain.username, plain.password, plain.starttls, plain.implicit_tls) == (
        "mail.example", 587, "ana@party", "s:cret", True, False)
    tls = parse_smtp_url("smtps://mail.example")
    assert (tls.port, tls.implicit_tls) == (465, True)
    for bad in ("http://mail.example", "smtp://", "smtp://h?tls=1", "smtps://h?starttls=1", "smtp://h?timeout=x"):
        with pytest.raises(SmtpConfigError):
            parse_smtp_url(bad)


def test_a_bad_smtp_url_stops_the_app_with_the_key_named(make_app):
    with pytest.raises(ConfigError, match="smtp_url"):
        make_app("bad", SMTP_URL="mail.example:25")


def test_smtp_down_then_up_the_message_is_retried_and_sent_once(make_app, create_member):
    box = Mailbox(free_port())  # not started: nothing listens
    app = make_app("down", SMTP_URL=box.url, MAIL_REPEAT_SECONDS=0)
    create_member("alice", target_app=app)
    forget_queued(app)
    client = app.test_client()

    assert client.post("/api/v1/password-reset", json={"email": "alice@example.org"}).status_code == 202
    assert send_all(app) == 1
    [row] = _rows(app)
    assert (row.state, row.attempts) == (PENDING, 1) and "Connection" in row.last_error
    assert row.next_attempt_at > utcnow() + timedelta(seconds=30)  # backed off
    assert send_all(app) == 0  # not due yet

    box.start()
    try:
        assert send_all(app, now=utcnow() + timedelta(hours=1)) == 1
        assert send_all(app, now=utcnow() + timedelta(days=5)) == 0
    finally:
        box.stop()
    [row] = _rows(app)
    assert (row.state, row.attempts, row.text_body) == (SENT, 2, "")  # the body (a reset link) is dropped
    assert len(box.to("alice@example.org")) == 1
    assert box.messages[0]["Message-ID"] == row.message_id


def test_a_refusing_server_is_retried_then_recorded_as_failed_never_a_500(make_app, mailbox, create_member):
    app = make_app("refusing", SMTP_URL=mailbox.url, MAIL_REPEAT_SECONDS=0, MAIL_MAX_ATTEMPTS=3)
    create_member("alice", target_app=app)
    forget_queued(app)
    mailbox.refuse = "550 5.7.1 Relaying denied"
    assert app.test_client().post("/api/v1/password-reset", json={"email": "alice@example.org"}).status_code == 202

    now = utcnow()
    for attempt in range(1, 4):
        assert send_all(app, now=now) == 1
        [row] = _rows(app)
        assert row.attempts == attempt and "550" in row.last_error
        now += timedelta(days=2)
    assert row.state == FAILED
    assert send_all(app, now=now + timedelta(days=30)) == 0
    assert mailbox.messages == []


def test_a_worker_dying_after_its_claim_leaves_the_message_to_be_sent_once(mail_app, mailbox, create_member):
    from coopol.mail.outbox import claim_due

    create_member("alice")
    forget_queued(mail_app)
    mail_app.test_client().post("/api/v1/password-reset", json={"email": "alice@example.org"})
    with mail_app.app_context():
        claimed, lease = claim_due(10)  # ... and the worker dies here, before sending
        db.session.remove()
    assert len(claimed) == 1
    assert send_all(mail_app) == 0  # another worker: the lease is still held
    assert send_all(mail_app, now=lease + timedelta(seconds=1)) == 1
    assert send_all(mail_app, now=lease + timedelta(days=9)) == 0
    assert len(mailbox.messages) == 1
    [row] = _rows(mail_app)
    assert (row.state, row.attempts) == (SENT, 2)


def test_two_workers_never_claim_the_same_message(mail_app, create_member):
    from coopol.mail.outbox import claim_due

    for handle in ("alice", "bruno", "chloe"):
        create_member(handle)
    forget_queued(mail_app)
    for handle in ("alice", "bruno", "chloe"):
        mail_app.test_client().post("/api/v1/password-reset", json={"email": f"{handle}@example.org"})
    with mail_app.app_context():
        first, _lease = claim_due(2)
        second, _lease = claim_due(10)
        db.session.remove()
    assert len(first) == 2 and len(second) == 1 and not set(first) & set(second)


def test_the_worker_once_sends_the_outbox(mail_app, mailbox, create_member):
    create_member("alice")
    forget_queued(mail_app)
    mail_app.test_client().post("/api/v1/password-reset", json={"email": "alice@example.org"})
    result = mail_app.test_cli_runner().invoke(args=["mail", "send-due"])
    assert result.exit_code == 0, result.output
    assert "1 message(s) tried" in result.output
    assert len(mailbox.messages) == 1


def test_without_smtp_url_nothing_is_queued(make_app, create_member):
    app = make_app("silent")
    create_member("alice", target_app=app)
    assert app.test_client().post("/api/v1/password-reset", json={"email": "alice@example.org"}).status_code == 202
    assert _rows(app) == []


def test_messages_are_multipart_from_the_instance(mail_app, mailbox, create_member):
    create_member("alice")
    forget_queued(mail_app)
    mail_app.test_client().post("/api/v1/password-reset", json={"email": "alice@example.org"})
    send_all(mail_app)
    [message] = mailbox.messages
    text, html = parts(message)
    assert "/password-reset/" in text and "/password-reset/" in html
    assert message["From"].addresses[0].addr_spec == "ideas@party.example"
    assert "List-Unsubscribe" not in message  # a reset is not mail one unsubscribes from


def test_erasure_removes_the_member_s_mail(mail_app, create_member, token_for):
    create_member("alice")
    client = mail_app.test_client()
    client.post("/api/v1/password-reset", json={"email": "alice@example.org"})
    assert client.delete("/api/v1/me", headers=token_for("alice", target_app=mail_app)).status_code == 204
    with mail_app.app_context(), unit_of_work():
        assert db.session.scalar(select(OutboxMail.id)) is None


@pytest.mark.filterwarnings("ignore:Requiring AUTH")
def test_an_authenticating_server_gets_the_url_s_user_and_password(make_app, create_member):
    from aiosmtpd.smtp import AuthResult

    logins = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.login == b"ideas" and auth_data.password == b"p@ss word")

    box = Mailbox(free_port(), auth_required=True, auth_require_tls=False, authenticator=authenticator)
    box.start()
    try:
        for name, secret in (("wrong", "nope"), ("right", "p%40ss%20word")):
            app = make_app(name, SMTP_URL=f"smtp://ideas:{secret}@127.0.0.1:{box.port}", MAIL_REPEAT_SECONDS=0)
            create_member("alice", target_app=app)
            forget_queued(app)
            app.test_client().post("/api/v1/password-reset", json={"email": "alice@example.org"})
            assert send_all(app) == 1
            [row] = _rows(app)
            assert row.state == (SENT if name == "right" else PENDING), row.last_error
    finally:
        box.stop()
    assert len(box.messages) == 1 and logins[-1] == (b"ideas", b"p@ss word")


def test_password_reset_requests_are_rate_limited(make_app, mailbox):
    app = make_app("limited", SMTP_URL=mailbox.url, RATELIMIT_ENABLED=True, RATELIMIT_PASSWORD_RESET="2/hour")
    client = app.test_client()
    answers = [client.post("/api/v1/password-reset", json={"email": "x@example.org"}).status_code for _ in range(3)]
    assert answers == [202, 202, 429]


def test_coopol_worker_once_sends_the_mail_too(mail_app, mailbox, create_member):
    create_member("alice")
    forget_queued(mail_app)
    mail_app.test_client().post("/api/v1/password-reset", json={"email": "alice@example.org"})
    result = mail_app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert len(mailbox.to("alice@example.org")) == 1


def test_a_message_that_cannot_be_built_fails_at_once_and_the_others_go(mail_app, mailbox, create_member):
    from coopol.mail.outbox import enqueue_mail

    with mail_app.app_context(), unit_of_work():
        broken = enqueue_mail(None, "bad\naddress@example.org", "notification", "Line\nbreak", "t", "<p>h</p>")
        assert broken.subject == "Line break"
        enqueue_mail(None, "good@example.org", "notification", "Fine", "t", "<p>h</p>")
    assert send_all(mail_app) == 2
    states = {row.to_address: row.state for row in _rows(mail_app)}
    assert states == {"bad\naddress@example.org": FAILED, "good@example.org": SENT}
    assert [m["To"] for m in mailbox.messages] == ["good@example.org"]
