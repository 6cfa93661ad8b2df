"""Gatherings as the API, the pages and the calendars show them (plain dicts, dumped by schemas.py).

`event_views(events, viewer)` loads the viewer's RSVPs for a whole page at once; pages use the same dicts."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.accounts.services import member_view
from coopol.core.scopes import scope_tree
from coopol.events import guards
from coopol.events.models import Event, Rsvp, RsvpStatus
from coopol.events.services import place_of
from coopol.extensions import db


def event_url(event: Event) -> str:
    """Our page for it (a copy also has its origin's `url`)."""
    return f"{current_app.config['URL'].rstrip('/')}/events/{event.id}"


def event_ap_id(event: Event) -> str:
    """The stable identity of a gathering everywhere (ActivityPub id, iCalendar UID)."""
    return event.ap_id or event_url(event)


def _rsvps(events: list[Event], viewer: Member | None) -> dict[int, Rsvp]:
    if viewer is None or not getattr(viewer, "is_authenticated", False) or not events:
        return {}
    rows = db.session.scalars(select(Rsvp).where(Rsvp.member_id == viewer.id,
                                                 Rsvp.event_id.in_([e.id for e in events])))
    return {r.event_id: r for r in rows}


def _organiser(event: Event) -> dict[str, Any] | None:
    if event.organiser is None:
        return None
    view = member_view(event.organiser)
    view["deleted"] = event.organiser.is_erased
    return view


def _group(event: Event) -> dict[str, Any] | None:
    group = event.group
    if group is None:
        return None
    return {"slug": group.slug, "name": group.name,
            "url": f"{current_app.config['URL'].rstrip('/')}/groups/{group.slug}"}


def event_views(events: list[Event], viewer: Member | None) -> list[dict[str, Any]]:
    mine = _rsvps(events, viewer)
    host, name = current_app.config["SERVER_HOST"], current_app.config["NAME"]
    views = []
    for event in events:
        rsvp = mine.get(event.id)
        organiser = guards.is_organiser(event, viewer)
        sees_url = organiser or (rsvp is not None and rsvp.status == RsvpStatus.GOING)
        online_url = guards.online_url_for(event, rsvp) if sees_url else None
        url = event_url(event)
        views.append({
            "id": event.id, "ap_id": event_ap_id(event), "url": url, "origin_url": event.url or url,
            "title": event.title, "description": event.description, "description_html": event.description_html,
            "starts_at": event.starts_at, "ends_at": event.ends_at, "timezone": event.timezone,
            "mode": event.mode, "place": place_of(event),
            "online_url": online_url,
            "has_online_url": online_url is not None or guards.has_online_url(event),
            "capacity": event.capacity, "waitlist": event.waitlist, "requires_approval": event.requires_approval,
            "going_count": event.shown_going_count, "waitlist_count": event.shown_waitlist_count,
            "pending_count": event.pending_count if organiser else None,
            "remaining_capacity": event.remaining_capacity,
            "state": event.state, "cancel_reason": event.cancel_reason,
            "scope": event.scope, "scope_name": scope_tree().name(event.scope) if event.scope else None,
            "language": event.language, "organiser": _organiser(event), "group": _group(event),
            "origin": {"host": event.origin_host or host, "name": event.origin_name or name},
            "report": ({"minutes": event.report_minutes, "minutes_html": event.report_minutes_html,
                        "turnout": event.turnout, "reported_at": event.reported_at}
                       if event.reported_at is not None else None),
            "sequence": event.sequence, "created_at": event.created_at, "updated_at": event.updated_at,
            "moderation": {"hidden": event.hidden_at is not None, "locked": event.locked_at is not None,
                           "removed": event.removed_at is not None},
            "my_rsvp": {"status": rsvp.status, "public": rsvp.public} if rsvp else None,
            "can_edit": organiser and event.is_local,
        })
    return views


def one_event_view(event: Event, viewer: Member | None) -> dict[str, Any]:
    return event_views([event], viewer)[0]


def attendee_view(rsvp: Rsvp) -> dict[str, Any]:
    return {"member": member_view(rsvp.member), "status": rsvp.status, "public": rsvp.public,
            "created_at": rsvp.created_at}
