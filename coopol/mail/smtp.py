"""SMTP: read `smtp_url`, open one connection per batch, send, and say for each message what happened.

Pure of the database and of Flask, so the worker's rules (what is retried, what fails) are tested against a
real server without an app. `smtp://user:pass@host:587?starttls=1` upgrades with STARTTLS (and refuses to go
on in clear text when the server does not offer it); `smtps://host:465` is TLS from the first byte;
`?timeout=10` bounds every network operation (seconds).
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_TRUE = {"1", "true", "yes", "on"}


class SmtpConfigError(ValueError):
    """`smtp_url` cannot be used; the message says why."""


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str = ""
    password: str = ""
    implicit_tls: bool = False
    starttls: bool = False
    timeout: float = 10.0


@dataclass(frozen=True)
class SendResult:
    """`error` is empty when the server accepted the message; `code` is the SMTP reply code when it refused."""

    error: str = ""
    code: int | None = None

    @property
    def ok(self) -> bool:
        return not self.error


def parse_smtp_url(url: str) -> SmtpSettings | None:
    """The settings `url` names; None for "" (no mail is sent); `SmtpConfigError` when it is not usable."""
    text = (url or "").strip()
    if not text:
        return None
    example = "smtp://user:password@mail.example.org:587?starttls=1"
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise SmtpConfigError(f"The setting smtp_url must look like {example}.") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise SmtpConfigError(f"The setting smtp_url must start with smtp:// or smtps:// and name a host, "
                              f"like {example}.")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = set(query) - {"starttls", "timeout"}
    if unknown:
        raise SmtpConfigError(f"The setting smtp_url has unknown options: {', '.join(sorted(unknown))}.")
    try:
        timeout = float(query.get("timeout", 10))
    except ValueError:
        raise SmtpConfigError("The option timeout of smtp_url must be a number of seconds.") from None
    starttls = query.get("starttls", "").lower() in _TRUE
    if starttls and parts.scheme == "smtps":
        raise SmtpConfigError("smtps:// is already TLS: drop ?starttls=1 from smtp_url.")
    return SmtpSettings(host=parts.hostname, port=port or DEFAULT_PORTS[parts.scheme],
                        username=unquote(parts.username or ""), password=unquote(parts.password or ""),
                        implicit_tls=parts.scheme == "smtps", starttls=starttls, timeout=timeout)


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if settings.implicit_tls:
        connection: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=settings.timeout,
                                                    context=context)
    else:
        connection = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        connection.ehlo()
        if settings.starttls:
            connection.starttls(context=context)  # SMTPNotSupportedError when not offered: never in clear
            connection.ehlo()
        if settings.username:
            connection.login(settings.username, settings.password)
    except BaseException:
        connection.close()
        raise
    return connection


def _describe(error: Exception) -> SendResult:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(error.recipients.values()), (None, b""))
        return SendResult(f"recipient refused: {code} {_text(reply)}", code)
    if isinstance(error, smtplib.SMTPResponseException):
        return SendResult(f"refused: {error.smtp_code} {_text(error.smtp_error)}", error.smtp_code)
    return SendResult(f"{type(error).__name__}: {error}" or type(error).__name__)


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def send_messages(settings: SmtpSettings, messages: Iterable[EmailMessage]) -> Iterator[SendResult]:
    """Send each message over one connection, yielding its result as soon as the server answered, so the
    caller records it before the next one goes. A connection that fails (server down, TLS, login) fails
    every message not yet sent; a refused message does not stop the others."""
    messages = iter(messages)
    try:
        connection = _connect(settings)
    except (OSError, smtplib.SMTPException) as error:
        result = _describe(error)
        for _message in messages:
            yield result
        return
    try:
        for message in messages:
            try:
                refused = connection.send_message(message)
            except smtplib.SMTPServerDisconnected as error:
                yield _describe(error)
                connection = None  # the rest fail below
                break
            except (OSError, smtplib.SMTPException) as error:
                yield _describe(error)
                try:
                    connection.rset()
                except (OSError, smtplib.SMTPException):
                    connection = None
                    break
            else:
                yield (SendResult(f"recipient refused: {refused}") if refused else SendResult())
        if connection is None:
            result = SendResult("SMTPServerDisconnected: the connection was lost")
            for _message in messages:
                yield result
    finally:
        if connection is not None:
            try:
                connection.quit()
            except (OSError, smtplib.SMTPException):
                connection.close()
