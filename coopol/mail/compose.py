"""Writing a message for one member: in their language, plain text and HTML, with an unsubscribe link for
mail they may refuse (notifications, digests; not the password reset or the address confirmation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.extensions import db
from coopol.mail.models import MailSettings, OutboxMail
from coopol.mail.outbox import enqueue_mail
from coopol.mail.tokens import unsubscribe_token

# Paths of this package's pages, built by hand: the worker writes digests with no request to build URLs from.
UNSUBSCRIBE_PATH = "/mail/unsubscribe/"
RESET_PATH = "/password-reset/"
CONFIRM_PATH = "/mail/confirm/"


def mail_enabled() -> bool:
    """Without `smtp_url` the instance sends no e-mail, so nothing is queued (no stale reset links later)."""
    return bool(current_app.config["SMTP_URL"])


def absolute(path: str) -> str:
    return current_app.config["URL"] + path


def language_of(member: Member) -> str:
    """The language a member reads: their saved one when the interface speaks it, else the instance's
    (the rule of coopol/moderation/notifications.py, which this package may not import)."""
    languages = current_app.config["UI_LANGUAGES"]
    return member.locale if member.locale in languages else current_app.config["LANGUAGE"]


def is_unsubscribed(member: Member) -> bool:
    return db.session.scalar(select(MailSettings.unsubscribed_at).where(
        MailSettings.member_id == member.id)) is not None


def can_receive(member: Member | None) -> bool:
    return bool(member is not None and member.is_local and not member.is_erased and member.email)


def queue_for_member(member: Member, kind: str, template: str, subject: Callable[[], str], *,
                     optional: bool, dedupe_key: str | None = None, **context: Any) -> OutboxMail | None:
    """Render `mail/<template>.txt` and `.html` in the member's language and queue them. `optional` mail
    (the member may refuse it) carries the one-click unsubscribe and is not sent to who unsubscribed."""
    if not mail_enabled() or not can_receive(member) or (optional and is_unsubscribed(member)):
        return None
    unsubscribe_url = absolute(UNSUBSCRIBE_PATH + unsubscribe_token(member)) if optional else None
    with force_locale(language_of(member)):
        values = {"member": member, "instance_name": current_app.config["NAME"],
                  "instance_url": current_app.config["URL"], "unsubscribe_url": unsubscribe_url,
                  "lang": language_of(member), **context}
        title = str(subject())
        text_body = render_template(f"mail/{template}.txt", subject=title, **values)
        html_body = render_template(f"mail/{template}.html", subject=title, **values)
    return enqueue_mail(member, member.email, kind, title, text_body, html_body,
                        unsubscribe_url=unsubscribe_url, dedupe_key=dedupe_key)
