"""Organisers removing a member from their group act in the open: each removal, with its reason, is a
line of the public moderation log (groups publish `group_member_removed`; moderation only listens)."""

from __future__ import annotations

from typing import Any

from flask import Flask

from coopol.core.events import subscribe
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.moderation.models import ModlogEntry, TargetType

ACTION = "group_member_removed"


def log_member_removed(group: Any, actor: Any, member: Any, reason: str, **_: Any) -> None:
    db.session.add(ModlogEntry(action=ACTION, moderator_id=actor.id, target_type=TargetType.GROUP.value,
                               target_id=group.id, reason=f"@{member.handle}: {reason}", created_at=utcnow()))
    db.session.flush()


def init_group_log(app: Flask) -> None:
    subscribe(app, "group_member_removed", log_member_removed)
