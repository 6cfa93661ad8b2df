"""Gatherings travel between allies (FEP-1b12, like ideas), in the same transaction as the change.

Origin (OUR gathering): published → our party Group announces `Create` of the `Event`; changed,
cancelled, or any RSVP changed → `Update` with the counts (the origin is the one source of truth: every
ally then shows the same counts); removed by moderators → `Delete` (restored → `Undo(Delete)`, then
`Update`). One `Update` per gathering per transaction: later changes in the same transaction rewrite its
payload, so allies get the final counts.
An ally's person RSVPed: `Accept` when going (at once, or later when promoted from the waitlist or
approved; it carries the online link, `onlineUrl`, for them alone, and is sent again when the link
changes), `TentativeAccept` while on the waitlist, nothing while pending approval, `Reject` when an
organiser turns them down.
Ally side (a copy): our member's RSVP (pending) → `Join` to the origin; leaving → `Leave`. What the
origin answers (receive.py) changes the copy without sending anything back.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import event as sa_event
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from coopol.accounts.models import Member
from coopol.core.events import subscribe
from coopol.core.time import utcnow
from coopol.events.models import Event, Rsvp, RsvpStatus
from coopol.extensions import db
from coopol.federation.actors import group_id
from coopol.federation.content.objects import actor_id
from coopol.federation.content.publish import _send_from_group, announce, announce_to_followers
from coopol.federation.gatherings.objects import CONTEXT, _iso, event_ap_id, event_document, host_actor, online_link
from coopol.federation.groups.publish import _ally_of, answer_join
from coopol.federation.models import OutboxActivity
from coopol.federation.outbox import ally_inboxes, build_activity

FROM_ORIGIN = "coopol.gatherings.from_origin"  # session flag: applying what the origin (or a person) said
LEAVING = "coopol.gatherings.leaving"  # session flag: the id of the ally's person leaving through a Leave
_PENDING_UPDATES = "coopol.gatherings.updates"


def _shared(event: Event) -> bool:
    return event.is_local and event.is_listed and bool(ally_inboxes())


def announce_event(event: Event, kind: str = "Update") -> None:
    if not _shared(event):
        return
    pending = db.session.info.get(_PENDING_UPDATES, {}).get(event.id)
    if kind == "Update" and pending is not None and inspect(pending).persistent:
        # Already announced in this transaction: the same Announce carries the latest state.
        outer = dict(pending.payload)
        inner = dict(outer["object"])
        inner["object"] = {k: v for k, v in event_document(event).items() if k != "@context"}
        outer["object"] = inner
        pending.payload = outer
        db.session.flush()
        return
    document = event_document(event)
    inner = build_activity(kind, host_actor(event), {k: v for k, v in document.items() if k != "@context"},
                           to=document["to"], cc=document["cc"])
    inner["@context"] = CONTEXT
    announce(inner)
    if kind == "Update":
        row = db.session.scalar(select(OutboxActivity).where(OutboxActivity.type == "Announce",
                                                             OutboxActivity.actor == group_id())
                                .order_by(OutboxActivity.id.desc()).limit(1))
        if row is not None:
            db.session.info.setdefault(_PENDING_UPDATES, {})[event.id] = row


@sa_event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING_UPDATES, None)


# ---------------------------------------------------------------------------- domain events


def on_event_published(event: Event, **_: Any) -> None:
    if _shared(event):
        announce_event(event, "Create")
    announce_to_group_followers(event)


def announce_to_group_followers(event: Event) -> None:
    """A local group's own `Group` actor boosts the gatherings it hosts to ITS fediverse followers (one
    delivery per shared inbox; the Announce stays in the group's public outbox). Nothing else yet. The
    party Group's followers get every new gathering (content.publish.on_event_published)."""
    from coopol.federation.groups.actors import group_actor_id

    if event.is_local and event.is_listed and event.group is not None and event.group.is_local:
        announce_to_followers(event_document(event), group=group_actor_id(event.group))


def on_event_changed(event: Event, **_: Any) -> None:
    announce_event(event)


def on_event_updated(event: Event, changes: dict[str, Any] | None = None, **_: Any) -> None:
    announce_event(event)
    if event.is_local and {"online_url", "mode"} & set(changes or {}):
        resend_online_link(event)


def resend_online_link(event: Event) -> None:
    """The link changed (or the mode): each ally's person going gets it again, in an `Accept` of their
    Join addressed to them alone (null when there is no link any more)."""
    rows = db.session.scalars(select(Rsvp).join(Member, Member.id == Rsvp.member_id)
                              .where(Rsvp.event_id == event.id, Rsvp.status == RsvpStatus.GOING.value,
                                     Member.host.is_not(None))
                              .order_by(Rsvp.id))
    for row in rows:
        answer_rsvp(event, row.member, RsvpStatus.GOING.value)


def on_event_removed(event: Event, **_: Any) -> None:
    if event.is_local and ally_inboxes():
        _send_from_group("Delete", {"id": event_ap_id(event), "type": "Tombstone", "formerType": "Event"},
                         summary="removed by a moderator")


def on_event_restored(event: Event, **_: Any) -> None:
    """A removal reversed: `Undo(Delete)` of the gathering, then its current state (it may have changed)."""
    if event.is_local and ally_inboxes():
        _send_from_group("Undo", {"type": "Delete", "actor": group_id(), "object": event_ap_id(event)})
        announce_event(event)


def _join_of(event: Event, member: Member) -> dict[str, Any]:
    ap_id = db.session.scalar(select(Rsvp.ap_id).where(Rsvp.event_id == event.id, Rsvp.member_id == member.id))
    join = {"type": "Join", "actor": member.ap_id, "object": event_ap_id(event)}
    if ap_id:
        join["id"] = ap_id
    return join


def answer_rsvp(event: Event, member: Member, status: str | None, *, join: dict[str, Any] | None = None,
                summary: str | None = None) -> None:
    """The origin's answer to an ally's person: Accept (going), TentativeAccept (waitlist), Reject (None)."""
    if status == RsvpStatus.PENDING:
        return
    target = event_ap_id(event)
    join = join or _join_of(event, member)
    kinds = {RsvpStatus.GOING.value: "Accept", RsvpStatus.WAITLISTED.value: "TentativeAccept"}
    kind = kinds.get(status or "", "Reject")
    # `published`: the ally keeps the newest answer when two cross in flight (TentativeAccept, then Accept).
    published = _iso(utcnow())
    if kind == "Reject":
        answer_join(group_id(), member, target, False, join=join, summary=summary, published=published)
    elif kind == "Accept":  # with the online link, for this person only (never in the public Event)
        answer_join(group_id(), member, target, True, join=join, onlineUrl=online_link(event),
                    published=published, **{"@context": CONTEXT})
    else:
        ally = _ally_of(member.host)
        if ally is None:
            return
        from coopol.federation.outbox import enqueue_activity

        enqueue_activity(build_activity("TentativeAccept", group_id(), join, to=[member.ap_id],
                                        summary="on the waitlist", published=published), [ally.delivery_inbox])


def on_rsvp_changed(event: Event, member: Member, status: str | None, previous: str | None = None,
                    **_: Any) -> None:
    if event.is_local:
        leaving = status is None and db.session.info.get(LEAVING) == member.id
        if not member.is_local and not leaving:
            answer_rsvp(event, member, status)  # going, waitlisted, promoted, approved or turned down
        announce_event(event)
        return
    if not member.is_local or db.session.info.get(FROM_ORIGIN):
        return
    ally = _ally_of(event.origin_host)
    if ally is None or not event.ap_id:
        return
    from coopol.federation.outbox import enqueue_activity

    if previous is None and status is not None:
        kind = "Join"
    elif status is None:
        kind = "Leave"
    else:
        return
    activity = build_activity(kind, actor_id(member), event.ap_id, to=[event.ap_id])
    row = enqueue_activity(activity, [ally.delivery_inbox])
    if kind == "Join":
        rsvp = db.session.scalar(select(Rsvp).where(Rsvp.event_id == event.id, Rsvp.member_id == member.id))
        if rsvp is not None:
            rsvp.ap_id = row.ap_id
            db.session.flush()


EVENTS = {
    "event_published": on_event_published,
    "event_updated": on_event_updated,
    "event_cancelled": on_event_changed,
    "event_reported": on_event_changed,
    "event_removed": on_event_removed,
    "event_restored": on_event_restored,
    "rsvp_changed": on_rsvp_changed,
}


def subscribe_all(app: Flask) -> None:
    for name, handler in EVENTS.items():
        subscribe(app, name, handler)
