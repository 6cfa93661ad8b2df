"""The e-mail outbox: rows written with what caused them, sent by `coopol worker` (the federation's delivery
pattern, for SMTP).

A round (`send_due`) claims a bounded batch of due rows with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL,
the serialised `BEGIN IMMEDIATE` on SQLite), counting the attempt at claim time; then, with no transaction
open, it sends them over one SMTP connection and records each outcome as soon as the server answered.

At-least-once, deliberately. A message leaves the queue only once the server's acceptance is recorded; a
worker that dies between the server's "250 OK" and that record (a window of one message, milliseconds) sends
it again when its lease runs out. The other choice, at-most-once (mark sent before sending), loses the
message for good on that crash, and a lost password-reset or confirmation mail is worse than a rare repeat.
The repeat carries the same `Message-ID`, chosen and stored when the row was written, so mail systems and
readers can recognise it as the same message. A crash *before* sending (after the claim) sends it once,
later: the lease runs out and another round takes it.

Outcomes: accepted → sent (the bodies are dropped: they may hold a reset link); refused (4xx or 5xx) or the
server unreachable → retried after 15 s + 60·n⁴ (≤ 1 day) with jitter, and after `MAIL_MAX_ATTEMPTS`
recorded as failed. Without `smtp_url` nothing is claimed: the rows wait, nothing is lost.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from flask import current_app
from sqlalchemy import or_, select, update

from coopol.accounts.models import Member
from coopol.core.time import utcnow
from coopol.core.uow import unit_of_work
from coopol.extensions import db
from coopol.mail.models import FAILED, PENDING, SENT, OutboxMail
from coopol.mail.smtp import parse_smtp_url, send_messages

log = logging.getLogger("coopol.mail")

MAX_RETRY_SECONDS = 86400


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failed ones: 75 s, 16 min, 81 min, 4 h, 10 h, …, 1 day."""
    return min(15 + 60 * attempts ** 4, MAX_RETRY_SECONDS) * random.uniform(0.9, 1.1)


def sender_address() -> str:
    return current_app.config["MAIL_FROM"] or f"noreply@{current_app.config['SERVER_HOST'].split(':')[0]}"


def enqueue_mail(member: Member | None, to_address: str, kind: str, subject: str, text_body: str,
                 html_body: str, *, unsubscribe_url: str | None = None,
                 dedupe_key: str | None = None) -> OutboxMail:
    """Queue one message, in the caller's transaction. With `dedupe_key`, a key already queued is that
    message: still waiting, it takes the newer text (a coalesced notification counts up); sent, it stays."""
    subject = " ".join(subject.split())[:255]  # one line: a header cannot hold a line break
    if dedupe_key is not None:
        existing = db.session.scalar(select(OutboxMail).where(OutboxMail.dedupe_key == dedupe_key))
        if existing is not None:
            if existing.state == PENDING and existing.attempts == 0:
                existing.subject, existing.text_body, existing.html_body = subject, text_body, html_body
            return existing
    domain = sender_address().rsplit("@", 1)[-1]
    mail = OutboxMail(member_id=member.id if member else None, to_address=to_address, kind=kind,
                      dedupe_key=dedupe_key, message_id=make_msgid(domain=domain), subject=subject,
                      text_body=text_body, html_body=html_body, unsubscribe_url=unsubscribe_url,
                      state=PENDING, attempts=0, next_attempt_at=utcnow(), last_error="")
    db.session.add(mail)
    db.session.flush()
    return mail


def claim_due(limit: int, now: datetime | None = None) -> tuple[list[int], datetime]:
    """Lease up to `limit` due messages to this round; each claim counts as an attempt."""
    now = now or utcnow()
    lease = now + timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])
    with unit_of_work():
        claimed = list(db.session.scalars(
            select(OutboxMail.id)
            .where(OutboxMail.state == PENDING, OutboxMail.next_attempt_at <= now,
                   or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < now))
            .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(limit)
            .with_for_update(skip_locked=True)))
        if claimed:
            db.session.execute(update(OutboxMail).where(OutboxMail.id.in_(claimed))
                               .values(claimed_until=lease, attempts=OutboxMail.attempts + 1))
    return claimed, lease


def build_message(mail: OutboxMail) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = mail.subject
    message["From"] = formataddr((current_app.config["NAME"], sender_address()))
    message["To"] = mail.to_address
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = mail.message_id
    message["Auto-Submitted"] = "auto-generated"
    if mail.unsubscribe_url:  # RFC 8058 one-click; RFC 2369 wants the angle brackets
        message["List-Unsubscribe"] = f"<{mail.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(mail.text_body)
    message.add_alternative(mail.html_body, subtype="html")
    return message


def send_due(limit: int | None = None, now: datetime | None = None) -> int:
    """One round: claim, send, record. Returns how many messages were tried (0: nothing due)."""
    settings = parse_smtp_url(current_app.config["SMTP_URL"])
    if settings is None:
        return 0
    claimed, lease = claim_due(limit or current_app.config["MAIL_BATCH"], now)
    if not claimed:
        return 0
    with unit_of_work():
        rows = list(db.session.scalars(select(OutboxMail).where(OutboxMail.id.in_(claimed))
                                       .order_by(OutboxMail.id)))
        jobs, broken = [], []
        for row in rows:
            try:
                jobs.append((row.id, row.attempts, build_message(row)))
            except (ValueError, TypeError) as error:  # a row no message can be made of: never retried
                broken.append((row.id, f"{type(error).__name__}: {error}"))
    db.session.remove()
    for mail_id, error in broken:
        _record(mail_id, current_app.config["MAIL_MAX_ATTEMPTS"], lease, error)
    results = send_messages(settings, (message for _id, _attempts, message in jobs))
    for (mail_id, attempts, _message), result in zip(jobs, results, strict=True):
        _record(mail_id, attempts, lease, result.error)
    return len(jobs) + len(broken)


def _record(mail_id: int, attempts: int, lease: datetime, error: str) -> None:
    now = utcnow()
    with unit_of_work():
        if error:
            log.warning("mail %s, attempt %s: %s", mail_id, attempts, error)
            final = attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]
            values = {"state": FAILED if final else PENDING, "last_error": error[:2000], "claimed_until": None,
                      "next_attempt_at": now + timedelta(seconds=0 if final else retry_delay(attempts))}
        else:
            values = {"state": SENT, "sent_at": now, "claimed_until": None, "last_error": "",
                      "text_body": "", "html_body": ""}
        # Only while the lease is ours: a row that changed meanwhile (erased with its member) keeps its state.
        db.session.execute(update(OutboxMail).where(OutboxMail.id == mail_id, OutboxMail.state == PENDING,
                                                    OutboxMail.claimed_until == lease).values(**values))
