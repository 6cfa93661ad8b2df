"""A real SMTP server in the test process (aiosmtpd) and an instance that sends to it."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """What the server received; `refuse` ("550 5.7.1 No") makes it refuse every message."""

    def __init__(self, port: int, **server_options) -> None:
        self.port = port
        self.server_options = server_options
        self.messages: list[EmailMessage] = []
        self.refuse: str | None = None
        self.controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.refuse:
            return self.refuse
        self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **self.server_options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=5"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def mailbox():
    box = Mailbox(free_port())
    box.start()
    yield box
    box.stop()


@pytest.fixture
def app(make_app, mailbox):
    """The instance of these tests (and of `create_member`, `token_for`) sends to `mailbox`."""
    return make_app("local", SMTP_URL=mailbox.url, MAIL_REPEAT_SECONDS=0, MAIL_FROM="ideas@party.example")


@pytest.fixture
def mail_app(app):
    return app


def send_all(app, **kwargs) -> int:
    from coopol.extensions import db
    from coopol.mail.outbox import send_due

    with app.app_context():
        try:
            return send_due(**kwargs)
        finally:
            db.session.remove()


def parts(message: EmailMessage) -> tuple[str, str]:
    """The plain text and the HTML of a multipart/alternative message."""
    assert message.get_content_type() == "multipart/alternative"
    return (message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content())


def forget_queued(app) -> None:
    """Drop what is queued (the confirmation mail of each registration) so a test counts only its own."""
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.mail.models import OutboxMail

    with app.app_context(), unit_of_work():
        db.session.execute(OutboxMail.__table__.delete())
