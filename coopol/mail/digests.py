"""Daily or weekly digests (opt-in) of what a member follows.

This package does not know follows or preferences: the notifications package tells it, through
`register_digest_choice(app, fn(member) -> 'off' | 'daily' | 'weekly')` and
`register_digest_source(app, fn(member, since) -> [{title, url, kind}]`. A worker task looks at a bounded
batch of members not looked at for `MAIL_DIGEST_CHECK_SECONDS`; a member whose period has passed since their
last digest gets one (if anything happened) and that time is recorded, so a digest goes once per period.
The outbox key (member and last digest time) keeps two workers looking at once from sending it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy import or_, select

from coopol.accounts.models import Member
from coopol.core.time import utcnow
from coopol.core.uow import unit_of_work
from coopol.extensions import db
from coopol.mail.compose import mail_enabled, queue_for_member
from coopol.mail.models import MailSettings
from coopol.mail.services import DIGEST, settings_of

SOURCES, CHOICE = "coopol.mail.digest_sources", "coopol.mail.digest_choice"
PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
MAX_ITEMS = 50

DigestSource = Callable[[Member, datetime], list[dict[str, Any]]]


def register_digest_source(app: Flask, source: DigestSource) -> None:
    app.extensions.setdefault(SOURCES, []).append(source)


def register_digest_choice(app: Flask, choice: Callable[[Member], str]) -> None:
    app.extensions[CHOICE] = choice


def digest_items(member: Member, since: datetime) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for source in current_app.extensions.get(SOURCES, ()):
        items.extend(source(member, since))
    base = current_app.config["URL"]
    return [{**item, "url": base + item["url"] if str(item.get("url", "")).startswith("/") else item.get("url", "")}
            for item in items[:MAX_ITEMS]]


def send_due_digests(now: datetime | None = None, limit: int | None = None) -> int:
    """One round; returns how many members were looked at (0: none due)."""
    choose = current_app.extensions.get(CHOICE)
    if choose is None or not mail_enabled():
        return 0
    now = now or utcnow()
    check = timedelta(seconds=current_app.config["MAIL_DIGEST_CHECK_SECONDS"])
    with unit_of_work():
        members = list(db.session.scalars(
            select(Member).outerjoin(MailSettings, MailSettings.member_id == Member.id)
            .where(Member.host.is_(None), Member.erased_at.is_(None), Member.email.is_not(None),
                   or_(MailSettings.digest_checked_at.is_(None), MailSettings.digest_checked_at <= now - check))
            .order_by(Member.id).limit(limit or current_app.config["MAIL_BATCH"] * 5)))
        for member in members:
            settings = settings_of(member, create=True)
            settings.digest_checked_at = now
            period = PERIODS.get(choose(member))
            if period is None or settings.unsubscribed_at is not None:
                continue
            last = settings.digest_sent_at
            if last is not None and now - last < period - check:  # an hour early beats a day late
                continue
            items = digest_items(member, last or now - period)
            if items:
                queue_for_member(member, DIGEST, "digest",
                                 lambda: _("[%(name)s] What happened in what you follow",
                                           name=current_app.config["NAME"]),
                                 optional=True, items=items, since=lambda when=last or now - period:
                                 format_date(when, format="long"),
                                 dedupe_key=f"digest:{member.id}:{last.isoformat()[:19] if last else 'first'}")
            settings.digest_sent_at = now
    return len(members)
