"""The e-mail outbox and what mail remembers per member.

An `OutboxMail` row is written in the same transaction as what caused it (a registration, a reset request,
a notification) and holds the message already rendered in its reader's language, with the `Message-ID` it
will carry: the worker only sends. Rows move `pending → sent | failed`; a lease (`claimed_until`) keeps two
workers from sending the same row at once.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coopol.core.time import UTCDateTime, utcnow
from coopol.extensions import db

PENDING, SENT, FAILED = "pending", "sent", "failed"
MAIL_STATES = (PENDING, SENT, FAILED)


class OutboxMail(db.Model):
    __tablename__ = "mail_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    to_address: Mapped[str] = mapped_column(String(254))
    kind: Mapped[str] = mapped_column(String(32))  # password_reset, confirm_email, notification, digest
    # At most one message per key ("notification:42", "digest:7:2026-12-01"): coalescing and once-per-period.
    dedupe_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    subject: Mapped[str] = mapped_column(String(255))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    unsubscribe_url: Mapped[str | None] = mapped_column(String(2048))
    state: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index("ix_mail_outbox_due", OutboxMail.state, OutboxMail.next_attempt_at)


class MailSettings(db.Model):
    """Per member: whether they unsubscribed from non-essential mail, and when their digest last went."""

    __tablename__ = "mail_settings"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    digest_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    digest_checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
