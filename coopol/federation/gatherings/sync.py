"""A new ally learns our groups and upcoming gatherings at once: when an alliance forms, our party Group
sends it an `Announce` of the `Update` of each listed local group, then of each upcoming listed
gathering (in the transaction that formed the alliance; the worker delivers them a little later,
`FEDERATION_SPACE_SYNC_DELAY`, 60 s, as bans.py does: the ally takes activities from us only once our
Accept of its Follow has reached it). Allies store them
as they store any announced group or gathering (idempotent), so a demo seeded before its alliances, or
a party joining late, shows the same listings as everyone else."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select

from coopol.core.time import utcnow
from coopol.events.models import Event
from coopol.extensions import db
from coopol.federation.actors import group_id
from coopol.federation.gatherings.objects import CONTEXT as EVENT_CONTEXT
from coopol.federation.gatherings.objects import event_document, host_actor
from coopol.federation.groups.actors import group_actor_document, group_actor_id
from coopol.federation.outbox import build_activity, enqueue_activity
from coopol.federation.protocol import PUBLIC
from coopol.groups.models import Group

SYNC_MAX = 500  # of each kind: the rest travels with its next change


def _announce_to(inbox: str, inner: dict[str, Any]) -> None:
    inner = {k: v for k, v in inner.items() if k != "@context"}
    inner.setdefault("audience", group_id())
    row = enqueue_activity(build_activity("Announce", group_id(), inner, to=[PUBLIC],
                                          cc=[f"{group_id()}/followers"], audience=group_id()), [inbox])
    due = utcnow() + timedelta(seconds=float(current_app.config.get("FEDERATION_SPACE_SYNC_DELAY", 60)))
    for delivery in row.deliveries:
        delivery.next_attempt_at = due


def on_alliance_formed(ally: Any, **_: Any) -> None:
    inbox = ally.delivery_inbox
    groups = db.session.scalars(select(Group).where(Group.origin_host.is_(None), *Group.listed())
                                .order_by(Group.id).limit(SYNC_MAX))
    for group in groups:
        document = {k: v for k, v in group_actor_document(group).items() if k != "publicKey"}
        _announce_to(inbox, build_activity("Update", group_actor_id(group), document, to=[PUBLIC], cc=[group_id()]))
    events = db.session.scalars(select(Event).where(Event.origin_host.is_(None), *Event.listed(),
                                                    Event.ends_at > utcnow())
                                .order_by(Event.starts_at, Event.id).limit(SYNC_MAX))
    for event in events:
        document = event_document(event)
        inner = build_activity("Update", host_actor(event), {k: v for k, v in document.items() if k != "@context"},
                               to=document["to"], cc=document["cc"])
        inner["@context"] = EVENT_CONTEXT
        _announce_to(inbox, inner)
