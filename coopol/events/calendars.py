"""iCalendar (RFC 5545) files that calendar apps import and subscribe to, made with `icalendar`:
one per gathering (`/events/{id}.ics`), and feeds per instance or territory (`/events.ics?scope=&group=`)
and per group (`/groups/{slug}/events.ics`).

Times are written in the gathering's own zone (`DTSTART;TZID=Europe/Paris`) with the matching VTIMEZONE,
so a calendar shows the local time wherever its reader is. The UID is the gathering's ActivityPub id
(stable across allies and changes); SEQUENCE is the gathering's `sequence`, which rises with every
change people must see; a cancelled gathering stays in the feed with STATUS:CANCELLED so that
subscribed calendars remove it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, request

from coopol.accounts.auth import viewer as _viewer
from coopol.core.errors import DomainError
from coopol.core.time import utcnow
from coopol.events import guards, services
from coopol.events.models import Event, EventMode, EventState
from coopol.events.presenters import event_ap_id, event_url
from coopol.extensions import db
from coopol.groups import guards as group_guards
from coopol.groups.services import find_group

bp = Blueprint("events_calendars", __name__, template_folder="templates")
FEED_MAX = 500
FEED_PAST = timedelta(days=30)  # recently ended gatherings stay in feeds, as calendars expect


def _location(event: Event) -> str | None:
    parts = [p for p in (event.place_name, event.place_address) if p]
    return ", ".join(parts) if parts else None


def vevent(event: Event, *, online_url: str | None = None) -> Any:
    from icalendar import Event as VEvent  # 5 MB: imported by the first calendar asked for, not at start-up

    zone = ZoneInfo(event.timezone)
    item = VEvent()
    item.add("uid", event_ap_id(event))
    item.add("dtstamp", event.updated_at or utcnow())
    item.add("dtstart", event.starts_at.astimezone(zone))
    item.add("dtend", event.ends_at.astimezone(zone))
    item.add("summary", event.title)
    if event.description:
        item.add("description", event.description)
    item.add("sequence", event.sequence)
    item.add("last-modified", event.updated_at)
    item.add("created", event.created_at)
    item.add("url", event.url or event_url(event))
    item.add("status", {EventState.CANCELLED: "CANCELLED", EventState.POSTPONED: "TENTATIVE"}.get(
        event.state, "CONFIRMED"))
    location = _location(event)
    if event.mode != EventMode.IN_PERSON and online_url:
        location = f"{location} / {online_url}" if location else online_url
    if location:
        item.add("location", location)
    if event.latitude is not None and event.longitude is not None:
        item.add("geo", (event.latitude, event.longitude))
    if event.organiser is not None and not event.organiser.is_erased:
        item.add("organizer", event_url(event), parameters={"CN": event.organiser.name})
    return item


def calendar(events: list[Event], name: str, *, viewer=None) -> bytes:
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", "-//Coopol//Gatherings//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("method", "PUBLISH")
    for event in events:
        cal.add_component(vevent(event, online_url=services.online_url_of(event, viewer)
                                 if viewer is not None else None))
    if events:
        # VTIMEZONE transitions around the gatherings' own dates (icalendar's default stops in 2038: a
        # summer gathering in 2040 would then be shown an hour off), and not much more.
        first = min(e.starts_at for e in events) - timedelta(days=366)
        last = max(e.ends_at for e in events) + timedelta(days=366)
        cal.add_missing_timezones(first_date=first.date(), last_date=last.date())
    return cal.to_ical()


def _answer(body: bytes, filename: str) -> Response:
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.charset = "utf-8"
    return response


def _feed(group=None, scope: str | None = None) -> list[Event]:
    """Upcoming gatherings and those of the last month (cancelled ones too: STATUS:CANCELLED)."""
    upcoming = services.listing(group=group, scope=scope, past=False)
    recent = services.listing(group=group, scope=scope, past=True).where(Event.ends_at >= utcnow() - FEED_PAST)
    rows = list(db.session.scalars(upcoming.order_by(Event.starts_at, Event.id).limit(FEED_MAX)))
    rows += list(db.session.scalars(recent.order_by(Event.starts_at.desc(), Event.id.desc()).limit(FEED_MAX)))
    return sorted(rows, key=lambda e: (e.starts_at, e.id))[:FEED_MAX]


@bp.get("/events/<int:event_id>.ics")
def event_ics(event_id: int):
    event = services.find_event(event_id)
    if event is None or not guards.can_view(event, _viewer()):
        abort(404)
    viewer = _viewer()
    response = _answer(calendar([event], event.title, viewer=viewer), f"event-{event.id}.ics")
    if viewer is not None:
        # Per person (the meeting room's address for those going): no shared cache may keep it.
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.add("Cookie")
        response.vary.add("Authorization")
    return response


@bp.get("/events.ics")
def events_ics():
    scope = request.args.get("scope") or None
    slug = request.args.get("group") or None
    group = None
    if slug:
        group = find_group(slug)
        if group is None or not group_guards.can_view(group, _viewer()):
            abort(404)
    try:
        events = _feed(group=group, scope=scope)
    except DomainError:  # an unknown scope
        abort(404)
    return _answer(calendar(events, current_app.config["NAME"]), "events.ics")


@bp.get("/groups/<slug>/events.ics")
def group_events_ics(slug: str):
    group = find_group(slug)
    if group is None or not group_guards.can_view(group, _viewer()):
        abort(404)
    return _answer(calendar(_feed(group=group), group.name), f"{group.slug}.ics")
