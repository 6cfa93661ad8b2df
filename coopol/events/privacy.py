"""Data export (the gatherings a member hosts, their RSVPs) and erasure (RSVPs go, freeing places for the
waitlist; gatherings stay, shown as hosted by a deleted member)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import delete, select

from coopol.accounts.models import Member
from coopol.accounts.services import register_exporter
from coopol.core.events import subscribe
from coopol.events.models import Event, EventState, Rsvp, RsvpAnswerClock
from coopol.events.rsvps import leave
from coopol.extensions import db


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def export_events(member: Member) -> dict[str, list[dict[str, Any]]]:
    hosted = db.session.scalars(select(Event).where(Event.organiser_id == member.id).order_by(Event.id))
    answered = db.session.execute(select(Rsvp, Event).join(Event, Event.id == Rsvp.event_id)
                                  .where(Rsvp.member_id == member.id).order_by(Rsvp.id))
    return {
        "hosted": [{"id": e.id, "title": e.title, "description": e.description, "starts_at": _iso(e.starts_at),
                    "ends_at": _iso(e.ends_at), "timezone": e.timezone, "mode": e.mode,
                    "place": {"name": e.place_name, "address": e.place_address, "lat": e.latitude,
                              "lon": e.longitude},
                    "online_url": e.online_url, "capacity": e.capacity, "scope": e.scope, "language": e.language,
                    "state": e.state, "group": e.group.slug if e.group else None,
                    "report": e.report_minutes, "turnout": e.turnout,
                    "created_at": _iso(e.created_at)} for e in hosted],
        "rsvps": [{"event_id": e.id, "title": e.title, "starts_at": _iso(e.starts_at), "status": r.status,
                   "public": r.public, "created_at": _iso(r.created_at)} for r, e in answered],
    }


def erase_event_data(member: Member, **_: Any) -> None:
    """RSVPs go (a place freed moves the waitlist up), with the answer clocks kept after them; drafts were
    never shared and go too; published gatherings stay with their organiser shown as deleted (the member row
    is anonymised, not removed)."""
    for rsvp in list(db.session.scalars(select(Rsvp).where(Rsvp.member_id == member.id))):
        leave(rsvp.event, member)
    db.session.execute(delete(RsvpAnswerClock).where(RsvpAnswerClock.member_id == member.id))
    for event in db.session.scalars(select(Event).where(Event.organiser_id == member.id,
                                                        Event.state == EventState.DRAFT.value)):
        db.session.delete(event)
    db.session.flush()


def init_privacy(app: Flask) -> None:
    register_exporter("events", export_events)
    subscribe(app, "member_erasing", erase_event_data)
