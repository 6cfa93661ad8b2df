"""The transactional outbox: an activity and its deliveries are rows written in the caller's
transaction, so they commit (or roll back) with the change that caused them. Workers deliver them.

Issue 6 and later only build activities and call :func:`enqueue_activity` (usually with
:func:`ally_inboxes`); nothing here touches the network.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.federation.actors import base_url
from coopol.federation.models import Ally, Delivery, OutboxActivity
from coopol.federation.protocol import AS_CONTEXT, PUBLIC, id_of, type_of
from coopol.federation.urls import host_of


def new_activity_id() -> str:
    return f"{base_url()}/activities/{uuid.uuid4()}"


def build_activity(kind: str, actor: str, obj: Any, **extra: Any) -> dict[str, Any]:
    """An activity with a fresh id and the ActivityStreams context (every activity carries it)."""
    activity: dict[str, Any] = {"@context": AS_CONTEXT, "id": new_activity_id(), "type": kind,
                                "actor": actor, "object": obj}
    activity.update(extra)
    return activity


def _addressed_publicly(activity: dict[str, Any]) -> bool:
    audience = []
    for field in ("to", "cc"):
        value = activity.get(field)
        audience.extend(value if isinstance(value, list) else [value])
    return PUBLIC in audience


def enqueue_activity(activity: dict[str, Any], targets: Iterable[str]) -> OutboxActivity:
    """Store `activity` and one delivery per distinct target inbox URL (flushes, never commits).

    `activity` needs `id`, `type` and `actor` (one of our actors: it signs the deliveries)."""
    activity.setdefault("@context", AS_CONTEXT)
    row = OutboxActivity(ap_id=activity["id"], type=type_of(activity) or "", actor=id_of(activity["actor"]) or "",
                         payload=activity, public=_addressed_publicly(activity))
    db.session.add(row)
    now = utcnow()
    seen: set[str] = set()
    for inbox in targets:
        if not inbox or inbox in seen:
            continue
        seen.add(inbox)
        row.deliveries.append(Delivery(inbox_url=inbox, host=host_of(inbox), state="pending", next_attempt_at=now))
    db.session.flush()
    return row


def ally_inboxes() -> list[str]:
    """The inbox of every allied instance, shared inboxes first (one delivery per instance)."""
    allies = db.session.scalars(select(Ally).order_by(Ally.host))
    return [ally.delivery_inbox for ally in allies if ally.is_allied]


def public_activities(limit: int = 20) -> tuple[int, list[dict[str, Any]]]:
    """(total, latest first) of the public activities of our Group, for its outbox collection."""
    from sqlalchemy import func

    from coopol.federation.actors import group_id

    where = (OutboxActivity.public.is_(True), OutboxActivity.actor == group_id())
    total = db.session.scalar(select(func.count(OutboxActivity.id)).where(*where)) or 0
    rows = db.session.scalars(select(OutboxActivity).where(*where)
                              .order_by(OutboxActivity.id.desc()).limit(limit))
    return total, [row.payload for row in rows]
