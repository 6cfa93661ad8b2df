"""The transactional outbox: an activity and its deliveries are rows written in the caller's
transaction, so they commit (or roll back) with the change that caused them. Workers deliver them.

Issue 6 and later only build activities and call :func:`enqueue_activity` (usually with
:func:`ally_inboxes`); nothing here touches the network.

Per activity: one INSERT of the activity, one (multi-row) INSERT of its deliveries, and on PostgreSQL
one `NOTIFY` per transaction, which wakes the idle delivery workers when the transaction commits.
`ally_inboxes` is read once per transaction (a vote asks twice: is anyone listening, then whom to
send to); the cached list is dropped when the transaction ends and whenever the session writes to
the allies (a flush, or any statement that is not a SELECT).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import event, insert, select, text
from sqlalchemy.orm import ORMExecuteState, Session

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


NOTIFY_CHANNEL = "coopol_deliveries"
_NOTIFIED = "coopol.federation.notified"
_ALLY_INBOXES = "coopol.federation.ally_inboxes"


def enqueue_activity(activity: dict[str, Any], targets: Iterable[str]) -> OutboxActivity:
    """Store `activity` and one delivery per distinct target inbox URL (flushes, never commits).

    `activity` needs `id`, `type` and `actor` (one of our actors: it signs the deliveries, and its key
    is only read when they are sent). `.deliveries` of the returned row loads them when read."""
    activity.setdefault("@context", AS_CONTEXT)
    row = OutboxActivity(ap_id=activity["id"], type=type_of(activity) or "", actor=id_of(activity["actor"]) or "",
                         payload=activity, public=_addressed_publicly(activity))
    db.session.add(row)
    db.session.flush()
    now = utcnow()
    inboxes = list(dict.fromkeys(inbox for inbox in targets if inbox))
    if inboxes:
        db.session.execute(insert(Delivery), [
            {"activity_id": row.id, "inbox_url": inbox, "host": host_of(inbox), "state": "pending",
             "attempts": 0, "next_attempt_at": now, "last_error": "", "created_at": now} for inbox in inboxes])
        notify_workers()
    return row


def notify_workers() -> None:
    """PostgreSQL: wake the idle workers when this transaction commits (once per transaction; a NOTIFY is
    discarded with a rolled-back transaction or savepoint): deliveries to send, or inbox items to apply."""
    session = db.session()
    if session.info.get(_NOTIFIED) or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
    session.info[_NOTIFIED] = True


def ally_inboxes() -> list[str]:
    """The inbox of every allied instance, shared inboxes first (one delivery per instance)."""
    session = db.session()
    cached = session.info.get(_ALLY_INBOXES)
    if cached is not None and not _allies_pending(session):
        return list(cached)
    rows = session.execute(select(Ally.shared_inbox, Ally.group_inbox)
                           .where(Ally.outgoing == "accepted", Ally.incoming == "accepted")
                           .order_by(Ally.host)).all()
    inboxes = [shared or group for shared, group in rows]
    session.info[_ALLY_INBOXES] = inboxes
    return list(inboxes)


def _allies_pending(session: Session) -> bool:
    """Changes to allies not flushed yet (a cache hit runs no query, hence no autoflush)."""
    return any(isinstance(obj, Ally) for group in (session.new, session.dirty, session.deleted) for obj in group)


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session: Session, transaction: Any) -> None:
    session.info.pop(_ALLY_INBOXES, None)
    session.info.pop(_NOTIFIED, None)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, context: Any) -> None:
    if _ALLY_INBOXES in session.info and _allies_pending(session):
        session.info.pop(_ALLY_INBOXES, None)


@event.listens_for(Session, "do_orm_execute")
def _executing(state: ORMExecuteState) -> None:
    if state.is_select or _ALLY_INBOXES not in state.session.info:
        return
    table = getattr(state.statement, "table", None)  # INSERT, UPDATE, DELETE name theirs; raw SQL does not
    if table is None or getattr(table, "name", None) == Ally.__tablename__:
        state.session.info.pop(_ALLY_INBOXES, None)


def public_activities(limit: int = 20, before: int | None = None, actor: str | None = None, oldest: bool = False
                      ) -> tuple[int, list[tuple[int, dict[str, Any]]]]:
    """(total, latest first, as (row id, activity)) of the public activities of our Group (or of `actor`,
    another of our Group actors), for its paged outbox; `before` is the row id a page starts below."""
    from sqlalchemy import func

    from coopol.federation.actors import group_id

    where = (OutboxActivity.public.is_(True), OutboxActivity.actor == (actor or group_id()))
    total = db.session.scalar(select(func.count(OutboxActivity.id)).where(*where)) or 0
    query = select(OutboxActivity).where(*where)
    if before is not None:
        query = query.where(OutboxActivity.id < before)
    if limit <= 0:
        return total, []
    if oldest:
        rows = list(db.session.scalars(query.order_by(OutboxActivity.id).limit(limit)))[::-1]
    else:
        rows = list(db.session.scalars(query.order_by(OutboxActivity.id.desc()).limit(limit)))
    return total, [(row.id, row.payload) for row in rows]
