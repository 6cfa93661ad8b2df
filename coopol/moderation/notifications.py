"""In-app notifications of moderation outcomes, with optional e-mail (off by default).

E-mail is a side effect, so it is sent after the unit of work commits, never for a rolled-back change.
With `NOTIFY_BY_EMAIL = true`, messages go to `MAIL_SERVER:MAIL_PORT` (from `MAIL_FROM`); without a
`MAIL_SERVER` they are only logged, which is what a development instance wants.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable, Iterable
from email.message import EmailMessage

from flask import current_app, has_app_context
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import event, func, select, update
from sqlalchemy.orm import Session

from coopol.accounts.models import Member
from coopol.core.errors import NotFound
from coopol.core.schemas import parse_id
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.moderation.models import Notification

_PENDING_MAIL = "coopol.pending_mail"


def language_of(member: Member) -> str:
    """The language a member reads: their saved one when the interface speaks it, else the instance's."""
    languages = current_app.config["UI_LANGUAGES"]
    return member.locale if member.locale in languages else current_app.config["LANGUAGE"]


def notify(member: Member | None, kind: str, message: str | Callable[[], str], *, link: str | None = None,
           action_id: int | None = None) -> Notification | None:
    """Tell a local member something. Remote and erased members have no inbox here. A callable message is
    written in the member's language (it is stored as text, so it is written once, for its reader)."""
    if member is None or not member.is_local or member.is_erased:
        return None
    subject = None
    if callable(message):
        with force_locale(language_of(member)):
            message = str(message())
            subject = _("[%(name)s] Moderation notice", name=current_app.config["NAME"])
    notification = Notification(member_id=member.id, kind=kind, message=message, link=link,
                                action_id=action_id)
    db.session.add(notification)
    if current_app.config.get("NOTIFY_BY_EMAIL") and member.email:
        db.session.info.setdefault(_PENDING_MAIL, []).append((member.email, message, link, subject))
    return notification


def list_notifications(member: Member, *, cursor: str | None = None, limit: int = 20
                       ) -> tuple[list[Notification], str | None]:
    query = select(Notification).where(Notification.member_id == member.id)
    if parse_id(cursor) is not None:
        query = query.where(Notification.id < parse_id(cursor))
    rows = list(db.session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def unread_count(member: Member) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.member_id == member.id, Notification.read_at.is_(None))) or 0


def mark_read(member: Member, notification_ids: int | Iterable[int] | None = None) -> int:
    """Mark one notification, several (an iterable of ids) or, with None, all of them read; returns how
    many changed. An id that is not one of the member's notifications is a 404, and nothing changes."""
    query = update(Notification).where(Notification.member_id == member.id, Notification.read_at.is_(None))
    if notification_ids is not None:
        wanted = {notification_ids} if isinstance(notification_ids, int) else set(notification_ids)
        found = set(db.session.scalars(select(Notification.id).where(
            Notification.id.in_(wanted), Notification.member_id == member.id))) if wanted else set()
        if found != wanted:
            raise NotFound(_("No such notification."))
        query = query.where(Notification.id.in_(wanted))
    result = db.session.execute(query.values(read_at=utcnow()))
    return result.rowcount or 0


def delete_notifications(member: Member) -> None:
    db.session.execute(Notification.__table__.delete().where(Notification.member_id == member.id))


def export_notifications(member: Member) -> list[dict]:
    rows = db.session.scalars(select(Notification).where(Notification.member_id == member.id)
                              .order_by(Notification.id))
    return [{"kind": n.kind, "message": n.message, "link": n.link, "created_at": n.created_at.isoformat(),
             "read_at": n.read_at.isoformat() if n.read_at else None} for n in rows]


def send_email(recipient: str, message: str, link: str | None, subject: str | None = None) -> None:
    config = current_app.config
    mail = EmailMessage()
    mail["From"] = config.get("MAIL_FROM") or f"noreply@{config['SERVER_HOST'].split(':')[0]}"
    mail["To"] = recipient
    mail["Subject"] = subject or f"[{config['NAME']}] Moderation notice"
    mail.set_content(message + (f"\n\n{config['URL']}{link}" if link else ""))
    if not config.get("MAIL_SERVER"):
        current_app.logger.info("E-mail (no MAIL_SERVER set, not sent) to %s: %s", recipient, message)
        current_app.extensions.setdefault("coopol.mail_log", []).append(mail)
        return
    with smtplib.SMTP(config["MAIL_SERVER"], int(config.get("MAIL_PORT", 25)), timeout=10) as smtp:
        if config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
        smtp.send_message(mail)


@event.listens_for(Session, "after_commit")
def _send_pending_mail(session: Session) -> None:
    pending = session.info.pop(_PENDING_MAIL, None)
    if not pending or not has_app_context():
        return
    for recipient, message, link, subject in pending:
        try:
            send_email(recipient, message, link, subject)
        except (OSError, smtplib.SMTPException):
            # The notification is stored in-app anyway; a mail failure must not break the request.
            current_app.logger.exception("Could not send a notification e-mail to %s", recipient)


@event.listens_for(Session, "after_rollback")
def _drop_pending_mail(session: Session) -> None:
    session.info.pop(_PENDING_MAIL, None)
