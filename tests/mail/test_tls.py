"""`smtp_url` with TLS, against a real aiosmtpd server holding a certificate from a CA made here: STARTTLS
(`?starttls=1`) upgrades before AUTH, `smtps://` is TLS from the first byte, the server's certificate is
verified, and a server that offers no STARTTLS is never sent the password or the message in clear."""

from __future__ import annotations

import ssl

import pytest

from coopol.mail.models import PENDING, SENT
from tests.mail.conftest import Mailbox, forget_queued, free_port, send_all
from tests.tls import make_certificates


@pytest.fixture
def certificates(tmp_path, monkeypatch):
    """The server context for 127.0.0.1, and the test CA trusted by ssl.create_default_context()."""
    ca = make_certificates(tmp_path, ["127.0.0.1"])
    monkeypatch.setenv("SSL_CERT_FILE", str(ca))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "127.0.0.1.pem", tmp_path / "127.0.0.1.key")
    return context


class TlsMailbox(Mailbox):
    """Also records, for each message, whether the session was encrypted and who logged in."""

    def __init__(self, port: int, **options) -> None:
        super().__init__(port, **options)
        self.sessions: list[tuple[bool, bytes | None]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        login = session.auth_data.login if session.auth_data is not None else None
        encrypted = server.transport.get_extra_info("ssl_object") is not None  # STARTTLS or implicit TLS
        self.sessions.append((encrypted, login))
        return await super().handle_DATA(server, session, envelope)


def _authenticator(server, session, envelope, mechanism, auth_data):
    from aiosmtpd.smtp import AuthResult

    return AuthResult(success=(auth_data.login, auth_data.password) == (b"ideas", b"secret"), auth_data=auth_data)


@pytest.fixture
def tls_mailbox():
    """`tls_mailbox(**options)`: a started TlsMailbox on a free port, stopped after the test."""
    started: list[TlsMailbox] = []

    def start(**options) -> TlsMailbox:
        box = TlsMailbox(free_port(), **options)
        box.start()
        started.append(box)
        return box

    yield start
    for box in started:
        box.stop()


def _send_one(make_app, create_member, name: str, url: str):
    app = make_app(name, SMTP_URL=url, MAIL_REPEAT_SECONDS=0)
    create_member("alice", target_app=app)
    forget_queued(app)
    app.test_client().post("/api/v1/password-reset", json={"email": "alice@example.org"})
    assert send_all(app) == 1
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.mail.models import OutboxMail

    with app.app_context():
        try:
            return db.session.scalars(select(OutboxMail)).one()
        finally:
            db.session.remove()


def test_starttls_then_auth_then_the_message(make_app, create_member, certificates, tls_mailbox):
    box = tls_mailbox(tls_context=certificates, require_starttls=True, auth_required=True, authenticator=_authenticator)
    row = _send_one(make_app, create_member, "starttls", f"smtp://ideas:secret@127.0.0.1:{box.port}?starttls=1")
    assert row.state == SENT, row.last_error
    assert box.sessions == [(True, b"ideas")] and box.to("alice@example.org")


@pytest.mark.filterwarnings("ignore:Requiring AUTH")
def test_smtps_is_tls_from_the_first_byte(make_app, create_member, certificates, tls_mailbox):
    # aiosmtpd offers AUTH on implicit TLS only with auth_require_tls off (it knows TLS from STARTTLS only)
    box = tls_mailbox(ssl_context=certificates, auth_required=True, auth_require_tls=False,
                      authenticator=_authenticator)
    row = _send_one(make_app, create_member, "smtps", f"smtps://ideas:secret@127.0.0.1:{box.port}")
    assert row.state == SENT, row.last_error
    assert box.sessions == [(True, b"ideas")] and box.to("alice@example.org")


def test_a_certificate_from_an_unknown_ca_is_refused_and_the_mail_kept(make_app, create_member, certificates,
                                                                     monkeypatch, tls_mailbox):
    monkeypatch.delenv("SSL_CERT_FILE")  # the server's CA is no longer trusted
    box = tls_mailbox(tls_context=certificates, require_starttls=True)
    row = _send_one(make_app, create_member, "untrusted", f"smtp://127.0.0.1:{box.port}?starttls=1")
    assert row.state == PENDING and "CERTIFICATE_VERIFY_FAILED" in row.last_error
    assert box.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH")
def test_no_starttls_offered_means_nothing_is_sent_in_clear(make_app, create_member, certificates, tls_mailbox):
    box = tls_mailbox(auth_required=True, auth_require_tls=False, authenticator=_authenticator)  # no STARTTLS offered
    row = _send_one(make_app, create_member, "clear", f"smtp://ideas:secret@127.0.0.1:{box.port}?starttls=1")
    assert row.state == PENDING and "STARTTLS" in row.last_error.upper()
    assert box.messages == [] and box.sessions == []
