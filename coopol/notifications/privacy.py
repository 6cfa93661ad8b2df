"""Data export (follows, blocks, notifications, preferences) and erasure (all of them go; `follow_removed` is
published with `erasure=True` for each remote member followed: federation then sends no `Undo(Follow)`, which the
erased member's key could not sign, since the `Delete` of their Person ends the follow there)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import delete, or_, select

from coopol.accounts.models import Member
from coopol.accounts.services import register_exporter
from coopol.core.events import publish, subscribe
from coopol.extensions import db
from coopol.notifications.follows import list_following
from coopol.notifications.models import Block, Follow, FollowKind, Notification, Preferences
from coopol.notifications.preferences import get_preferences


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def export_notifications(member: Member) -> list[dict[str, Any]]:
    rows = db.session.scalars(select(Notification).where(Notification.member_id == member.id)
                              .order_by(Notification.id))
    return [{"kind": n.kind, "message": n.message, "link": n.link, "count": n.count,
             "created_at": _iso(n.created_at), "read_at": _iso(n.read_at)} for n in rows]


def export_follows(member: Member) -> dict[str, Any]:
    followers = db.session.scalars(select(Member.handle).join(Follow, Follow.member_id == Member.id).where(
        Follow.kind == FollowKind.MEMBER, Follow.target == str(member.id)))
    return {"following": list_following(member), "followers": list(followers)}


def export_blocks(member: Member) -> list[dict[str, Any]]:
    rows = db.session.execute(select(Member.handle, Block.created_at).join(Block, Block.blocked_id == Member.id)
                              .where(Block.member_id == member.id).order_by(Block.id))
    return [{"handle": handle, "created_at": _iso(created_at)} for handle, created_at in rows]


def erase_follows_and_notifications(member: Member, **_rest: Any) -> None:
    for row in db.session.scalars(select(Follow).where(Follow.member_id == member.id,
                                                       Follow.kind == FollowKind.MEMBER)):
        followed = db.session.get(Member, int(row.target))
        if followed is not None and not followed.is_local:
            publish("follow_removed", follow=row, member=member, followed=followed, erasure=True)
    db.session.execute(delete(Block).where(or_(Block.member_id == member.id, Block.blocked_id == member.id)))
    db.session.execute(delete(Follow).where(or_(
        Follow.member_id == member.id, (Follow.kind == FollowKind.MEMBER) & (Follow.target == str(member.id)))))
    db.session.execute(delete(Notification).where(Notification.member_id == member.id))
    db.session.execute(delete(Preferences).where(Preferences.member_id == member.id))
    db.session.flush()


def init_privacy(app: Flask) -> None:
    register_exporter("notifications", export_notifications)
    register_exporter("follows", export_follows)
    register_exporter("blocks", export_blocks)
    register_exporter("preferences", get_preferences)
    subscribe(app, "member_erasing", erase_follows_and_notifications)
