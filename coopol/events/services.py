"""Gatherings: host, change, publish, cancel, report, find and list. RSVPs are in rsvps.py, copies of
allies' gatherings in copies.py.

Services take the acting member, flush and never commit (STYLE.md). Events published (coopol/core/events.py):
`event_published(event)`, `event_updated(event, changes)` (`changes` = `{field: [before, after]}`, JSON-able),
`event_cancelled(event, reason)`, `event_removed(event)` (moderation), `event_reported(event)` (the report
after it ended). Each change that people going must hear about is also stored as an `EventChange` row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import and_, func, or_, select

from coopol.accounts.models import Member
from coopol.core.errors import Conflict, NotFound, ValidationFailed
from coopol.core.events import publish
from coopol.core.schemas import MAX_ID
from coopol.core.scopes import scope_tree
from coopol.core.text import render_markdown
from coopol.core.time import utcnow
from coopol.events import guards, validation
from coopol.events.models import EVENT_LIFECYCLE, Event, EventChange, EventMode, EventState
from coopol.events.rsvps import promote_waitlist
from coopol.extensions import db
from coopol.groups import guards as group_guards
from coopol.groups.models import Group
from coopol.groups.services import find_group

EDITABLE = ("title", "description", "starts_at", "ends_at", "timezone", "mode", "place", "online_url",
            "capacity", "waitlist", "requires_approval", "scope", "language", "state")
# Changes that make calendar apps update their copy (SEQUENCE) and that people going are told about.
NOTEWORTHY = ("title", "starts_at", "ends_at", "timezone", "mode", "place", "online_url", "state")


def _group_hosted_by(actor: Member, slug: str | None, errors: validation.Errors) -> Group | None:
    if not slug:
        return None
    group = find_group(slug)
    if group is None or not group_guards.can_view(group, actor):
        errors.add("group", _("No group '%(slug)s'.", slug=slug[:64]))
        return None
    if not group_guards.is_organiser(group, actor):
        errors.add("group", _("Only the group's organisers may host a gathering for it."))
        return None
    if group.state != "visible":
        errors.add("group", _("This group is locked by the moderators."))
    return group


def _place_columns(place: dict[str, Any]) -> dict[str, Any]:
    return {"place_name": place["name"], "place_address": place["address"], "latitude": place["lat"],
            "longitude": place["lon"]}


def place_of(event: Event) -> dict[str, Any] | None:
    if event.place_name is None and event.place_address is None and event.latitude is None:
        return None
    return {"name": event.place_name, "address": event.place_address, "lat": event.latitude,
            "lon": event.longitude}


def create_event(actor: Member, *, title: str, description: str = "", starts_at: Any, ends_at: Any,
                 timezone: str, mode: str = EventMode.IN_PERSON.value, place: dict[str, Any] | None = None,
                 online_url: str | None = None, capacity: int | None = None, waitlist: bool = True,
                 requires_approval: bool = False, group: str | None = None, scope: str | None = None,
                 language: str | None = None, publish: bool = True) -> Event:
    """Any active member hosts a gathering, for themselves or for a group they organise. The host is not
    going until they RSVP like anyone else. `publish=False` keeps a draft only its organisers see."""
    guards.ensure_can_act(actor)
    errors = validation.Errors()
    title = validation.clean_title(title, errors)
    description = validation.clean_description(description, errors)
    zone = validation.clean_timezone(timezone, errors)
    start, end = validation.clean_dates(starts_at, ends_at, zone, errors)
    mode = validation.clean_mode(mode, errors)
    place_values = validation.clean_place(place, mode, errors)
    online_url = validation.clean_online_url(online_url, mode, errors)
    capacity = validation.clean_capacity(capacity, errors)
    host_group = _group_hosted_by(actor, group, errors)
    if scope is None and host_group is not None:
        scope = host_group.scope
    scope = validation.clean_scope(scope, errors)
    language = validation.clean_language(language, errors)
    errors.raise_if_any()
    now = utcnow()
    event = Event(title=title, description=description, description_html=render_markdown(description),
                  starts_at=start, ends_at=end, timezone=zone.key, mode=mode, online_url=online_url,
                  capacity=capacity, waitlist=bool(waitlist), requires_approval=bool(requires_approval),
                  organiser_id=actor.id, group_id=host_group.id if host_group else None, scope=scope,
                  language=language, state=EventState.DRAFT.value, created_at=now, updated_at=now,
                  going_count=0, waitlist_count=0, pending_count=0, sequence=0, **_place_columns(place_values))
    db.session.add(event)
    db.session.flush()
    if publish:
        _publish(event)
    return event


def _publish(event: Event) -> None:
    event.state = EVENT_LIFECYCLE.check(event.state, EventState.SCHEDULED)
    event.published_at = event.updated_at = utcnow()
    db.session.flush()
    publish("event_published", event=event)


def publish_event(actor: Member, event: Event) -> Event:
    """A draft becomes a scheduled gathering, listed and open for RSVPs."""
    guards.ensure_can_act(actor)
    guards.ensure_local(event)
    guards.ensure_organiser(event, actor)
    guards.ensure_editable(event)
    if event.state != EventState.DRAFT:
        raise Conflict(_("This gathering is already published."))
    _publish(event)
    return event


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _record(event: Event, actor: Member | None, kind: str, changes: dict[str, list[Any]]) -> EventChange:
    change = EventChange(event_id=event.id, kind=kind, sequence=event.sequence,
                         changes={k: [_jsonable(a), _jsonable(b)] for k, (a, b) in changes.items()},
                         actor_id=actor.id if actor is not None else None, created_at=utcnow())
    db.session.add(change)
    return change


def update_event(actor: Member, event: Event, **changes: Any) -> Event:
    """Organisers change a gathering (`state`: `scheduled` publishes a draft or reschedules a postponed
    one, `postponed` postpones it; cancelling is `cancel_event`). What changed is recorded for the people
    going and published as `event_updated(event, changes)`; a change of nothing changes nothing."""
    guards.ensure_can_act(actor)
    guards.ensure_local(event)
    guards.ensure_organiser(event, actor)
    guards.ensure_editable(event)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationFailed.fields({name: [_("This field cannot be changed.")] for name in unknown})
    guards.lock_event(event)
    errors = validation.Errors()
    values: dict[str, Any] = {}
    if "title" in changes:
        values["title"] = validation.clean_title(changes["title"], errors)
    if "description" in changes:
        values["description"] = validation.clean_description(changes["description"], errors)
    zone = validation.clean_timezone(changes.get("timezone", event.timezone), errors)
    if zone is not None and "timezone" in changes:
        values["timezone"] = zone.key
    if {"starts_at", "ends_at", "timezone"} & set(changes):
        # A time without an offset is read in the (new) zone; the other end keeps its instant.
        start, end = validation.clean_dates(changes.get("starts_at", event.starts_at),
                                            changes.get("ends_at", event.ends_at), zone, errors)
        values.update(starts_at=start, ends_at=end)
    mode = validation.clean_mode(changes.get("mode", event.mode), errors)
    if "mode" in changes:
        values["mode"] = mode
    if "place" in changes or "mode" in changes:
        place = changes["place"] if "place" in changes else place_of(event)
        values["place"] = validation.clean_place(place, mode, errors)
    if "online_url" in changes or "mode" in changes:
        values["online_url"] = validation.clean_online_url(changes.get("online_url", event.online_url), mode, errors)
    if "capacity" in changes:
        values["capacity"] = validation.clean_capacity(changes["capacity"], errors)
        if values["capacity"] is not None and values["capacity"] < event.going_count:
            errors.add("capacity", _("%(n)d people are already going: the capacity cannot be lower.",
                                     n=event.going_count))
    for flag in ("waitlist", "requires_approval"):
        if flag in changes:
            if not isinstance(changes[flag], bool):
                errors.add(flag, _("Use true or false."))
            values[flag] = bool(changes[flag])
    if "scope" in changes:
        values["scope"] = validation.clean_scope(changes["scope"], errors)
    if "language" in changes:
        values["language"] = validation.clean_language(changes["language"], errors)
    target_state = changes.get("state")
    if target_state is not None and target_state != event.state:
        if target_state == EventState.CANCELLED:
            errors.add("state", _("Cancel a gathering with its own action, which says why."))
        elif target_state not in [s.value for s in EventState] or not EVENT_LIFECYCLE.can(event.state, target_state):
            errors.add("state", _("Not possible from “%(state)s”.", state=event.state))
    errors.raise_if_any()

    before = _snapshot(event)
    for field, value in values.items():
        if field == "place":
            for column, v in _place_columns(value).items():
                setattr(event, column, v)
        else:
            setattr(event, field, value)
    if "description" in values:
        event.description_html = render_markdown(values["description"])
    publishing = target_state == EventState.SCHEDULED and event.state == EventState.DRAFT
    if target_state is not None and target_state != event.state and not publishing:
        event.state = EVENT_LIFECYCLE.check(event.state, target_state)
    after = _snapshot(event)
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if not changed and not publishing:
        return event
    event.updated_at = utcnow()
    if event.state != EventState.DRAFT and any(k in NOTEWORTHY for k in changed):
        event.sequence += 1
    db.session.flush()
    if publishing:
        _publish(event)
    elif event.state != EventState.DRAFT and changed:
        kind = "postponed" if changed.get("state", [None, None])[1] == EventState.POSTPONED else "updated"
        _record(event, actor, kind, changed)
        db.session.flush()
        told = {k: [_jsonable(a), _jsonable(b)] for k, (a, b) in changed.items()}
        publish("event_updated", event=event, changes=told)
    if "capacity" in changed or "waitlist" in changed:
        promote_waitlist(event)
    return event


def _snapshot(event: Event) -> dict[str, Any]:
    return {"title": event.title, "description": event.description, "starts_at": event.starts_at,
            "ends_at": event.ends_at, "timezone": event.timezone, "mode": event.mode, "place": place_of(event),
            "online_url": event.online_url, "capacity": event.capacity, "waitlist": event.waitlist,
            "requires_approval": event.requires_approval, "scope": event.scope, "language": event.language,
            "state": event.state}


def cancel_event(actor: Member, event: Event, reason: str = "") -> Event:
    """Organisers cancel a gathering (final); RSVPs stay so the people going can be told."""
    guards.ensure_can_act(actor)
    guards.ensure_local(event)
    guards.ensure_organiser(event, actor)
    if event.state == EventState.CANCELLED:
        return event
    guards.ensure_editable(event)
    errors = validation.Errors()
    reason = validation.clean_reason(reason, errors)
    errors.raise_if_any()
    previous = event.state
    event.state = EVENT_LIFECYCLE.check(event.state, EventState.CANCELLED)
    event.cancel_reason = reason or None
    event.cancelled_at = event.updated_at = utcnow()
    if previous != EventState.DRAFT:
        event.sequence += 1
        _record(event, actor, "cancelled", {"state": [previous, EventState.CANCELLED.value]})
    db.session.flush()
    if previous != EventState.DRAFT:
        publish("event_cancelled", event=event, reason=reason)
    return event


def file_report(actor: Member, event: Event, *, minutes: str, turnout: int | None = None) -> Event:
    """After it ended, an organiser says how it went (minutes in Markdown, how many came); again to correct."""
    guards.ensure_can_act(actor)
    guards.ensure_local(event)
    guards.ensure_organiser(event, actor)
    if event.state not in (EventState.SCHEDULED, EventState.POSTPONED) or event.removed_at is not None:
        raise Conflict(_("Only a gathering that took place has a report."))
    if event.ends_at > utcnow():
        raise Conflict(_("A report comes after the gathering ends."))
    errors = validation.Errors()
    minutes, turnout = validation.clean_report(minutes, turnout, errors)
    errors.raise_if_any()
    event.report_minutes = minutes
    event.report_minutes_html = render_markdown(minutes)
    event.turnout = turnout
    event.reported_at = event.updated_at = utcnow()
    event.reported_by_id = actor.id
    db.session.flush()
    publish("event_reported", event=event)
    return event


def remove_event(event: Event) -> Event:
    """Remove a gathering from every list (moderation's own action does this through its columns, then
    `on_content_removed` below says so); federation tells the allies on `event_removed`."""
    if event.removed_at is None:
        event.removed_at = utcnow()
    db.session.flush()
    publish("event_removed", event=event)
    return event


def on_content_removed(target_type: str, target: Any, **_: Any) -> None:
    """Moderation publishes `content_removed` for every kind of target: for a gathering, say it in our words."""
    if target_type == "event" and isinstance(target, Event):
        publish("event_removed", event=target)


def on_content_restored(target_type: str, target: Any, action: Any = None, **_: Any) -> None:
    """A removal reversed (restore, or an appeal upheld): `event_restored` (allies show it again)."""
    if target_type == "event" and isinstance(target, Event) and "removed_at" in (getattr(action, "changes", None)
                                                                                  or {}):
        publish("event_restored", event=target)


def find_event(event_id: Any) -> Event | None:
    if isinstance(event_id, bool) or not isinstance(event_id, int) or not 1 <= event_id <= MAX_ID:
        return None
    return db.session.get(Event, event_id)


def get_event(event_id: Any, viewer: Member | None) -> Event:
    """The gathering, if the viewer may see it; a 404 otherwise."""
    return guards.ensure_viewable(find_event(event_id), viewer, event_id)


def can_see_online_url(event: Event, viewer: Member | None) -> bool:
    """The meeting room's address: for the people going and the organisers only."""
    from coopol.events.rsvps import status_of

    if guards.is_organiser(event, viewer):
        return True
    return viewer is not None and getattr(viewer, "is_authenticated", False) and status_of(event, viewer) == "going"


def online_url_of(event: Event, viewer: Member | None) -> str | None:
    """The meeting room's address as `viewer` may see it (None when they may not): on an ally's copy,
    the link its origin sent them with their place (see guards.online_url_for)."""
    from coopol.events.rsvps import rsvp_of

    if event.is_local and guards.is_organiser(event, viewer):
        return event.online_url
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return None
    row = rsvp_of(event, viewer)
    return guards.online_url_for(event, row) if row is not None and row.status == "going" else None


@dataclass
class EventPage:
    events: list[Event]
    next_cursor: str | None


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_CURSOR = re.compile(r"-?[0-9]{1,20}\.[0-9]{1,10}", re.ASCII)


def _cursor(event: Event) -> str:
    # Exact integer microseconds: a float timestamp loses them far from 1970, and the next page then
    # skips (or repeats) gatherings that start at the same instant.
    return f"{(event.starts_at - _EPOCH) // _MICROSECOND}.{event.id}"


def _parse_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        if not _CURSOR.fullmatch(cursor):  # ASCII digits only (no fullwidth or superscript ones)
            raise ValueError
        micros, _sep, ident = cursor.partition(".")
        moment = _EPOCH + int(micros) * _MICROSECOND
        if not 1 <= int(ident) <= MAX_ID:
            raise ValueError
        return moment, int(ident)
    except (ValueError, OverflowError, OSError):
        raise ValidationFailed.field("cursor", _("This cursor is not valid.")) from None


def _origin_filter(origin: str):
    from flask import current_app

    local = origin == "local" or origin.lower() == current_app.config["SERVER_HOST"]
    return Event.origin_host.is_(None) if local else Event.origin_host == origin.lower()


def listing(*, from_: datetime | None = None, to: datetime | None = None, scope: str | None = None,
            group: Group | None = None, origin: str | None = None, past: bool = False):
    """The SELECT of listed gatherings with these filters (unordered): lists and calendar feeds share it."""
    # One group's list (its viewer may see the group, the callers check): also when moderators hid it.
    stmt = select(Event).where(*(Event.listed() if group is None else Event.listed_in_group()))
    now = utcnow()
    stmt = stmt.where(Event.ends_at < now) if past else stmt.where(Event.ends_at >= now)
    if from_ is not None:
        stmt = stmt.where(Event.ends_at >= from_)
    if to is not None:
        stmt = stmt.where(Event.starts_at < to)
    if scope:
        if scope not in scope_tree():
            raise ValidationFailed.field("scope", _("Unknown scope '%(code)s'.", code=scope[:64]))
        stmt = stmt.where(Event.scope.in_(scope_tree().descendants(scope)))
    if group is not None:
        stmt = stmt.where(Event.group_id == group.id)
    if origin:
        stmt = stmt.where(_origin_filter(origin))
    return stmt


def list_events(viewer: Member | None = None, *, from_: datetime | None = None, to: datetime | None = None,
                scope: str | None = None, group: str | None = None, origin: str | None = None,
                past: bool = False, cursor: str | None = None, limit: int = 20) -> EventPage:
    """Listed gatherings, keyset-paged: upcoming (not ended yet) soonest first, or `past` ones latest
    first (with their reports). `scope` includes every scope below it; `from`/`to` bound the dates."""
    host_group = None
    if group:
        host_group = find_group(group)
        if host_group is None or not group_guards.can_view(host_group, viewer):
            raise NotFound(_("No group '%(slug)s'.", slug=group[:64]))
    stmt = listing(from_=from_, to=to, scope=scope, group=host_group, origin=origin, past=past)
    if cursor:
        moment, last_id = _parse_cursor(cursor)
        if past:
            stmt = stmt.where(or_(Event.starts_at < moment, and_(Event.starts_at == moment, Event.id < last_id)))
        else:
            stmt = stmt.where(or_(Event.starts_at > moment, and_(Event.starts_at == moment, Event.id > last_id)))
    order = (Event.starts_at.desc(), Event.id.desc()) if past else (Event.starts_at, Event.id)
    rows = list(db.session.scalars(stmt.order_by(*order).limit(limit + 1)))
    next_cursor = _cursor(rows[limit - 1]) if len(rows) > limit else None
    return EventPage(rows[:limit], next_cursor)


def count_upcoming_events() -> int:
    return db.session.scalar(select(func.count()).select_from(Event).where(
        *Event.listed(), Event.state != EventState.CANCELLED.value, Event.ends_at >= utcnow())) or 0


def upcoming_counts(group_ids: list[int]) -> dict[int, int]:
    """For the group space's `upcoming_event_count`: {group_id: n} for one page of groups."""
    rows = db.session.execute(select(Event.group_id, func.count()).where(
        Event.group_id.in_(group_ids), *Event.listed_in_group(), Event.state != EventState.CANCELLED.value,
        Event.ends_at >= utcnow()).group_by(Event.group_id))
    return dict(rows.all())


def upcoming_for_group(group: Group, *, limit: int = 5) -> list[Event]:
    return list(db.session.scalars(listing(group=group).where(Event.state != EventState.CANCELLED.value)
                                   .order_by(Event.starts_at, Event.id).limit(limit)))


def organisers_of(event: Event) -> list[Member]:
    """The host and, for a group's gathering, the group's organisers."""
    from coopol.groups.models import Membership, MembershipState, Role

    people: dict[int, Member] = {}
    if event.organiser is not None and guards.is_organiser(event, event.organiser):
        people[event.organiser.id] = event.organiser
    if event.group_id is not None:
        for membership in db.session.scalars(select(Membership).where(
                Membership.group_id == event.group_id, Membership.role == Role.ORGANISER.value,
                Membership.state == MembershipState.ACTIVE.value)):
            people.setdefault(membership.member_id, membership.member)
    return list(people.values())


def changes_of(event: Event) -> list[EventChange]:
    return list(db.session.scalars(select(EventChange).where(EventChange.event_id == event.id)
                                   .order_by(EventChange.id)))
