"""The one writer of notifications: every kind goes through `notify`.

A notice is written in its reader's language (stored as text, written once, for its reader), skipped
when the reader chose "off" for its kind, and coalesced: a notice with the same `group_key` as an unread
one less than `NOTIFY_COALESCE_SECONDS` old (one hour) raises that row's count and rewrites its text,
so 40 replies in an hour to one comment are one notice that says 40. Each stored or coalesced notice is
published as `notification_created` (with the reader's channel) for the mail package.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from coopol.accounts.models import Member
from coopol.core.errors import NotFound
from coopol.core.events import publish
from coopol.core.schemas import parse_id
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.notifications.models import Block, Notification
from coopol.notifications.preferences import channel_for

COALESCE_SECONDS = 3600
Text = Callable[[int], str]  # the notice's words for `count` occurrences, called in the reader's language


def language_of(member: Member) -> str:
    """The language a member reads: their saved one when the interface speaks it, else the instance's."""
    languages = current_app.config["UI_LANGUAGES"]
    return member.locale if member.locale in languages else current_app.config["LANGUAGE"]


def is_blocked(recipient: Member, actor: Member | None) -> bool:
    """Has `recipient` blocked `actor`? Checked here, the one place every notice passes (replies, mentions,
    follows, answers, gatherings...), so a blocked member's doing never reaches the one who blocked them.
    One lookup on the (member, blocked) unique index."""
    if actor is None or recipient is None or actor.id is None or recipient.id is None:
        return False
    return db.session.scalar(select(Block.id).where(Block.member_id == recipient.id,
                                                    Block.blocked_id == actor.id).limit(1)) is not None


def notify(recipient: Member | None, kind: str, text: Text | str, *, actor: Member | None = None,
           target_type: str | None = None, target_id: int | None = None, link: str | None = None,
           group_key: str | None = None, action_id: int | None = None, once: bool = False) -> Notification | None:
    """Tell a local member something. Remote and erased members have no inbox here; nobody is told of
    their own doing. With `once`, a notice with this `group_key` is never repeated (mentions, thresholds)."""
    if recipient is None or not recipient.is_local or recipient.is_erased:
        return None
    if actor is not None and actor.id == recipient.id:
        return None
    if is_blocked(recipient, actor):
        return None
    channel = channel_for(recipient, kind)
    if channel == "off":
        return None
    now = utcnow()
    existing = None
    if group_key is not None:
        query = select(Notification).where(Notification.member_id == recipient.id,
                                           Notification.group_key == group_key)
        if not once:
            window = timedelta(seconds=int(current_app.config.get("NOTIFY_COALESCE_SECONDS", COALESCE_SECONDS)))
            query = query.where(Notification.read_at.is_(None), Notification.created_at >= now - window)
        existing = db.session.scalars(query.order_by(Notification.id.desc()).limit(1)).first()
        if existing is not None and once:
            return None
    count = existing.count + 1 if existing is not None else 1
    with force_locale(language_of(recipient)):
        message = str(text(count)) if callable(text) else str(text)
    if existing is not None:
        existing.count = count
        existing.message = message
        existing.updated_at = now
        if actor is not None:
            existing.actor_id = actor.id
        notification = existing
    else:
        notification = Notification(member_id=recipient.id, kind=kind, message=message, link=link,
                                    action_id=action_id, actor_id=actor.id if actor else None,
                                    target_type=target_type, target_id=target_id, count=1,
                                    group_key=group_key, created_at=now, updated_at=now)
        db.session.add(notification)
    db.session.flush()
    url = link if not link or "://" in link else current_app.config["URL"].rstrip("/") + link
    publish("notification_created", member_id=recipient.id, kind=kind, notification_id=notification.id,
            text=message, url=url or "", channel=channel)
    return notification


def list_notifications(member: Member, *, cursor: str | None = None, limit: int = 20, unread: bool = False
                       ) -> tuple[list[Notification], str | None]:
    query = select(Notification).where(Notification.member_id == member.id)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    if parse_id(cursor) is not None:
        query = query.where(Notification.id < parse_id(cursor))
    rows = list(db.session.scalars(query.order_by(Notification.id.desc()).limit(limit + 1)))
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def unread_count(member: Member) -> int:
    """One count on the (member_id, read_at) index: cheap enough for every page's header."""
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
