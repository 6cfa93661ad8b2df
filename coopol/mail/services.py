"""Mail operations: password reset, address confirmation, unsubscribe, notification mail. Each takes the
member (or the token) as an argument and never reads the request, so web, API, CLI and worker share them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, select

from coopol.accounts.models import Member
from coopol.accounts.passwords import hash_password, password_problems
from coopol.accounts.services import end_all_sessions, normalise_email
from coopol.core.errors import Conflict, ValidationFailed
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.mail import tokens
from coopol.mail.compose import CONFIRM_PATH, RESET_PATH, absolute, can_receive, queue_for_member
from coopol.mail.models import MailSettings, OutboxMail

UNSUBSCRIBE_HANDLERS = "coopol.mail.unsubscribe_handlers"
PASSWORD_RESET, CONFIRM_EMAIL, NOTIFICATION, DIGEST = "password_reset", "confirm_email", "notification", "digest"


def _refused_token() -> ValidationFailed:
    return ValidationFailed.field("token", _("This link is invalid, has expired or was already used. "
                                             "Ask for a new one."))


def _recently_queued(member: Member, kind: str) -> bool:
    """One message of a kind per member per `MAIL_REPEAT_SECONDS`: a form sent in a loop cannot flood a mailbox."""
    since = utcnow() - timedelta(seconds=current_app.config["MAIL_REPEAT_SECONDS"])
    return db.session.scalar(select(OutboxMail.id).where(
        OutboxMail.member_id == member.id, OutboxMail.kind == kind, OutboxMail.created_at > since).limit(1)) is not None


def request_password_reset(email: str) -> None:
    """Queue a reset link for the local member with this address. Says nothing either way: the answer is
    the same whether the address is known or not."""
    member = db.session.scalar(select(Member).where(Member.email == normalise_email(email or ""),
                                                    Member.host.is_(None)))
    if not can_receive(member) or _recently_queued(member, PASSWORD_RESET):
        return
    minutes = current_app.config["MAIL_RESET_TOKEN_SECONDS"] // 60
    queue_for_member(member, PASSWORD_RESET, "password_reset",
                     lambda: _("[%(name)s] Reset your password", name=current_app.config["NAME"]),
                     optional=False, reset_url=absolute(RESET_PATH + tokens.reset_token(member)),
                     minutes=minutes)


def check_reset_token(token: str) -> Member:
    member = tokens.member_for_reset(token)
    if member is None:
        raise _refused_token()
    return member


def reset_password(token: str, password: str) -> Member:
    """Set a new password with a reset token. The token stops working (it was bound to the old hash); every
    session ends. Reading the mail proved the address too, so it counts as confirmed."""
    member = check_reset_token(token)
    problems = password_problems(password, handle=member.handle, email=member.email or "")
    if problems:
        raise ValidationFailed(_("The new password is not acceptable."), {"password": problems})
    member.password_hash = hash_password(password)
    if member.email_confirmed_at is None:
        member.email_confirmed_at = utcnow()
    end_all_sessions(member)
    return member


def send_confirmation(member: Member) -> bool:
    """Queue a confirmation link (at registration, or when the member asks again); False when none was queued."""
    if not can_receive(member) or member.email_confirmed_at is not None:
        return False
    if _recently_queued(member, CONFIRM_EMAIL):
        return False
    days = current_app.config["MAIL_CONFIRM_TOKEN_SECONDS"] // 86400
    return queue_for_member(member, CONFIRM_EMAIL, "confirm_email",
                            lambda: _("[%(name)s] Confirm your e-mail address", name=current_app.config["NAME"]),
                            optional=False, confirm_url=absolute(CONFIRM_PATH + tokens.confirm_token(member)),
                            days=days) is not None


def request_confirmation(member: Member) -> None:
    if member.email_confirmed_at is not None:
        raise Conflict(_("Your e-mail address is already confirmed."))
    send_confirmation(member)


def confirm_email(token: str) -> Member:
    member = tokens.member_for_confirmation(token)
    if member is None:
        raise _refused_token()
    if member.email_confirmed_at is None:
        member.email_confirmed_at = utcnow()
    return member


def settings_of(member: Member, *, create: bool = False) -> MailSettings | None:
    settings = db.session.get(MailSettings, member.id)
    if settings is None and create:
        settings = MailSettings(member_id=member.id)
        db.session.add(settings)
    return settings


def register_unsubscribe_handler(app, handler: Callable[[Member], None]) -> None:
    """`handler(member)` runs when a member unsubscribes (the notifications package turns its e-mail
    preferences and digest off)."""
    app.extensions.setdefault(UNSUBSCRIBE_HANDLERS, []).append(handler)


def unsubscribe(member: Member) -> None:
    """No more optional mail (notifications, digests); what is queued and not yet sent is dropped."""
    settings = settings_of(member, create=True)
    if settings.unsubscribed_at is None:
        settings.unsubscribed_at = utcnow()
    db.session.execute(delete(OutboxMail).where(OutboxMail.member_id == member.id,
                                                OutboxMail.kind.in_((NOTIFICATION, DIGEST)),
                                                OutboxMail.state == "pending", OutboxMail.attempts == 0))
    for handler in current_app.extensions.get(UNSUBSCRIBE_HANDLERS, ()):
        handler(member)


def resubscribe(member: Member) -> None:
    settings = settings_of(member)
    if settings is not None:
        settings.unsubscribed_at = None


def on_notification_created(*, member_id: int, kind: str, notification_id: int, text: str, url: str,
                            channel: str, **_extra: Any) -> None:
    """The notifications package made (or counted up) a notification: one e-mail per notification at most;
    while it waits in the outbox it takes the latest text ("40 replies")."""
    if channel != "email":
        return
    member = db.session.get(Member, member_id)
    if member is None:
        return
    link = url if url.startswith(("http://", "https://")) else absolute(url if url.startswith("/") else "/" + url)
    queue_for_member(member, NOTIFICATION, "notification",
                     lambda: _("[%(name)s] %(text)s", name=current_app.config["NAME"], text=text[:150]),
                     optional=True, dedupe_key=f"notification:{notification_id}", text=text, url=link,
                     notification_kind=kind)


def on_member_registered(*, member: Member, **_extra: Any) -> None:
    send_confirmation(member)


def on_member_erasing(*, member: Member, **_extra: Any) -> None:
    """Erasure: the queued and sent messages (they hold the address) and the mail settings go."""
    db.session.execute(delete(OutboxMail).where(OutboxMail.member_id == member.id))
    db.session.execute(delete(MailSettings).where(MailSettings.member_id == member.id))
    member.email_confirmed_at = None


def export_mail(member: Member) -> dict[str, Any]:
    settings = settings_of(member)
    return {
        "unsubscribed_at": _iso(settings.unsubscribed_at if settings else None),
        "digest_last_sent_at": _iso(settings.digest_sent_at if settings else None),
        "messages": [{"kind": m.kind, "subject": m.subject, "state": m.state, "created_at": _iso(m.created_at),
                      "sent_at": _iso(m.sent_at)}
                     for m in db.session.scalars(select(OutboxMail).where(OutboxMail.member_id == member.id)
                                                 .order_by(OutboxMail.id))],
    }


def _iso(value) -> str | None:
    return value.isoformat() if value else None
