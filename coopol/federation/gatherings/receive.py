"""Inbox side of gatherings (a hook of `content.receive._dispatch`, like groups):

- announced by an ally's party Group: `Create`/`Update` of one of its `Event`s → our copy
  (`coopol.events.copies.save_copy`) with the origin's counts (`set_origin_counts`); `Delete` → the copy
  goes (`delete_copy`), `Undo(Delete)` → it comes back (`restore_copy`);
- a person of an ally sends `Join` for one of OUR gatherings → `rsvps.rsvp` with that person: the
  answer is sent by publish.py from `rsvp_changed` (Accept, TentativeAccept, or nothing while pending);
  refused (full without waitlist, cancelled, over, banned) → `Reject`. Asked again → the same answer
  again. `Leave` / `Undo(Join)` → `rsvps.leave` (a place freed goes to the waitlist's first);
- the origin answers our member: `Accept` → going, `TentativeAccept` → waitlisted, `Reject` → no RSVP
  (`copies.apply_origin_rsvp`), without sending anything back. An `Accept` carrying `onlineUrl` (sent
  to that member alone) gives them the online link, kept on their RSVP and shown to them only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.errors import DomainError
from coopol.events.models import Event
from coopol.extensions import db
from coopol.federation.content.objects import _datetime
from coopol.federation.content.people import member_for_actor
from coopol.federation.content.receive import Ignored, Sender
from coopol.federation.gatherings.objects import event_ap_id, parse_event
from coopol.federation.gatherings.publish import FROM_ORIGIN, LEAVING, answer_rsvp
from coopol.federation.groups.receive import _undone_join_target, joined_by_us
from coopol.federation.protocol import id_of, type_of
from coopol.federation.urls import UnsafeURL, host_of


def _host(url: str | None) -> str | None:
    try:
        return host_of(url or "")
    except UnsafeURL:
        return None


@contextmanager
def _quietly() -> Iterator[None]:
    """What we apply here was decided elsewhere (or is answered here): publish.py sends nothing back."""
    db.session.info[FROM_ORIGIN] = True
    try:
        yield
    finally:
        db.session.info.pop(FROM_ORIGIN, None)


def local_event(url: str | None) -> Event | None:
    from flask import current_app

    base = current_app.config["URL"] + "/events/"
    if not url or not url.startswith(base) or not url[len(base):].isdigit() or len(url) - len(base) > 10:
        return None
    event = db.session.get(Event, int(url[len(base):]))
    return event if event is not None and event.is_local else None


# ----------------------------------------------------------------------------- ally's events


def store_event(document: dict[str, Any], sender: Sender) -> Event:
    from coopol.events.copies import find_copy, save_copy, set_origin_counts
    from coopol.groups.copies import find_copy as find_group_copy

    data = parse_event(document)
    if _host(data.id) != sender.host:
        raise Ignored(f"{data.id} is not a gathering of {sender.host}")
    group = find_group_copy(data.host) if data.host else None
    organiser = None
    if group is None and data.host and _host(data.host) == sender.host and data.host != sender.ally_group:
        group = _fetched_group(data.host, sender)
        if group is None:
            organiser = member_for_actor(data.host)
    existing = find_copy(data.id)
    if existing is not None and existing.is_local:
        raise Ignored("our own gathering")
    if existing is not None and data.updated is not None and existing.origin_updated_at is not None \
            and data.updated < existing.origin_updated_at:
        raise Ignored("older than the state of the gathering already shown here")  # deliveries crossed
    with _quietly():
        event = save_copy(ap_id=data.id, origin_host=sender.host, origin_name=sender.origin_name[:200], url=data.url,
                          organiser=organiser, group_id=group.id if group is not None and not group.is_local else None,
                          **data.fields)
        set_origin_counts(event, going=data.going, waitlist=data.waitlist, updated=data.updated)
    return event


def _fetched_group(url: str, sender: Sender) -> Any:
    """The ally's group hosting a gathering that reached us before the group did (deliveries cross):
    fetched from the ally and stored as if announced. None when `url` is not a group (a person hosts)."""
    from coopol.federation.fetch import FetchError, fetch_document
    from coopol.federation.groups.receive import store_group
    from coopol.federation.protocol import ProtocolError

    try:
        document = fetch_document(url, allow_host=sender.host)
    except (FetchError, UnsafeURL, ProtocolError):
        return None
    if type_of(document) != "Group" or id_of(document) != url:
        return None
    return store_group(document, Sender(url, sender.ctx, announced=True))


def _on_document(activity: dict[str, Any], sender: Sender) -> bool:
    if not sender.announced:
        raise Ignored("an ally's gatherings reach us through its party Group")
    store_event(activity["object"], sender)
    return True


def _origin_copy(target: str | None, sender: Sender, what: str) -> Event | None:
    """Our copy of the ally's gathering `target`, when the sender is that gathering's origin Group (None: not
    a gathering we hold; someone else: Ignored)."""
    from coopol.events.copies import find_copy

    copy = find_copy(target) if target else None
    if copy is not None and (copy.is_local or copy.origin_host != sender.host or sender.actor != sender.ally_group):
        raise Ignored(f"a gathering is {what} by its origin's Group")
    return copy


def _on_delete(activity: dict[str, Any], sender: Sender) -> bool:
    from coopol.events.copies import delete_copy

    copy = _origin_copy(id_of(activity.get("object")), sender, "removed")
    if copy is None:
        return False
    with _quietly():
        delete_copy(copy)
    return True


def _on_undo_delete(activity: dict[str, Any], sender: Sender) -> bool:
    from coopol.events.copies import restore_copy

    inner = activity.get("object")
    copy = _origin_copy(id_of(inner.get("object")) if isinstance(inner, dict) else None, sender, "restored")
    if copy is None:
        return False
    with _quietly():
        if not restore_copy(copy):
            raise Ignored("the gathering is not removed here")
    return True


# ----------------------------------------------------------------------------------- RSVPs


def _person(sender: Sender, activity: dict[str, Any]) -> None:
    if sender.announced or _host(sender.actor) != sender.host or id_of(activity.get("actor")) != sender.actor:
        raise Ignored("a person answers in their own name")


def _on_join(activity: dict[str, Any], sender: Sender) -> bool:
    from coopol.events.rsvps import rsvp, rsvp_of

    event = local_event(id_of(activity.get("object")))
    if event is None:
        return False
    _person(sender, activity)
    member = member_for_actor(sender.actor)
    join = {"id": activity.get("id"), "type": "Join", "actor": sender.actor, "object": event_ap_id(event)}
    existing = rsvp_of(event, member)
    if existing is not None:
        answer_rsvp(event, member, existing.status, join=join)  # asked again: the same answer again
        return True
    try:
        with db.session.begin_nested():
            rsvp(event, member, ap_id=activity.get("id"))
    except DomainError as error:
        answer_rsvp(event, member, None, join=join, summary=error.message)
    return True


def _on_leave(activity: dict[str, Any], sender: Sender, target: str | None) -> bool:
    from coopol.events.rsvps import leave

    event = local_event(target)
    if event is None:
        return False
    _person(sender, activity)
    member = db.session.scalar(select(Member).where(Member.ap_id == sender.actor))
    if member is None:
        raise Ignored("never answered")
    db.session.info[LEAVING] = member.id  # their own leaving needs no answer (the promoted ones get theirs)
    try:
        leave(event, member)
    finally:
        db.session.info.pop(LEAVING, None)
    return True


ANSWERS = {"Accept": "going", "TentativeAccept": "waitlisted", "Reject": None}


def _on_answer(activity: dict[str, Any], sender: Sender) -> bool:
    from coopol.events.copies import apply_origin_rsvp, find_copy

    found = joined_by_us(activity)
    if found is None:
        return False
    member, target = found
    copy = find_copy(target)
    if copy is None or copy.is_local:
        return False
    if sender.announced or copy.origin_host != sender.host or sender.actor != sender.ally_group:
        raise Ignored("the origin's Group answers for its gatherings")
    with _quietly():
        apply_origin_rsvp(copy, member, ANSWERS[type_of(activity)], online_url=_online_link(activity),
                          answered=_datetime(activity.get("published")))
    return True


def _online_link(activity: dict[str, Any]) -> Any:
    """The link an `Accept` carries for its one addressee (`onlineUrl`; null: none any more), else KEEP."""
    from coopol.events.copies import KEEP

    for key in ("onlineUrl", "coopol:onlineUrl"):
        if key in activity:
            value = activity[key]
            return id_of(value) if isinstance(value, dict) else value
    return KEEP


def dispatch(activity: dict[str, Any], sender: Sender) -> bool:
    kind, inner = type_of(activity), type_of(activity.get("object"))
    if kind in ("Create", "Update") and inner == "Event":
        return _on_document(activity, sender)
    if kind == "Delete":
        return _on_delete(activity, sender)
    if kind == "Undo" and inner == "Delete":
        return _on_undo_delete(activity, sender)
    return False


def join_target(activity: dict[str, Any], sender: Sender) -> bool:
    """`groups.receive.JOIN_TARGETS`: Join, Leave, Undo(Join) and the answers, for gatherings."""
    kind = type_of(activity)
    if kind == "Join":
        return _on_join(activity, sender)
    if kind == "Leave":
        return _on_leave(activity, sender, id_of(activity.get("object")))
    if kind == "Undo":
        return _on_leave(activity, sender, _undone_join_target(activity.get("object")))
    if kind in ANSWERS:
        return _on_answer(activity, sender)
    return False
