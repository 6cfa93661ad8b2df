"""Gatherings API (`/api/v1`): thin handlers over services.py and rsvps.py, documented by flask-smorest."""

from __future__ import annotations

from flask_login import login_required

from coopol.accounts.auth import viewer as _viewer
from coopol.accounts.services import get_member_by_reference
from coopol.core.schemas import Blueprint
from coopol.events import presenters, rsvps, schemas, services

blp = Blueprint("events_api", __name__, url_prefix="/api/v1", description="Gatherings and RSVPs")


def _event(event_id: int):
    return services.get_event(event_id, _viewer())


def _view(event):
    return presenters.one_event_view(event, _viewer())


def _rsvp_answer(event, status):
    return {"status": status, "going_count": event.shown_going_count, "waitlist_count": event.shown_waitlist_count}


@blp.post("/events")
@login_required
@blp.arguments(schemas.EventCreateSchema)
@blp.response(201, schemas.EventSchema)
@blp.errors(401, 403, 422)
def create_event(data):
    """Host a gathering, for yourself or for a group you organise (`publish: false` keeps a draft)."""
    return _view(services.create_event(_viewer(), **data))


@blp.get("/events")
@blp.arguments(schemas.EventListQuerySchema, location="query")
@blp.response(200, schemas.EventListSchema)
@blp.errors(404, 422)
def list_events(args):
    """Upcoming gatherings, soonest first (`past=true`: past ones, latest first, with their reports);
    `scope` includes the scopes below it."""
    page = services.list_events(_viewer(), **args)
    return {"items": presenters.event_views(page.events, _viewer()), "next_cursor": page.next_cursor}


@blp.get("/events/<int:event_id>")
@blp.response(200, schemas.EventSchema)
@blp.errors(404)
def get_event(event_id: int):
    return _view(_event(event_id))


@blp.patch("/events/<int:event_id>")
@login_required
@blp.arguments(schemas.EventUpdateSchema)
@blp.response(200, schemas.EventSchema)
@blp.errors(401, 403, 404, 409, 422)
def update_event(data, event_id: int):
    """Organisers change a gathering; the people going are told what changed."""
    return _view(services.update_event(_viewer(), _event(event_id), **data))


@blp.post("/events/<int:event_id>/cancel")
@login_required
@blp.arguments(schemas.EventCancelSchema)
@blp.response(200, schemas.EventSchema)
@blp.errors(401, 403, 404, 409, 422)
def cancel_event(data, event_id: int):
    """Organisers cancel a gathering (final)."""
    return _view(services.cancel_event(_viewer(), _event(event_id), data["reason"]))


@blp.post("/events/<int:event_id>/report")
@login_required
@blp.arguments(schemas.EventReportSchema)
@blp.response(200, schemas.EventSchema)
@blp.errors(401, 403, 404, 409, 422)
def file_report(data, event_id: int):
    """After it ended, organisers say how it went."""
    return _view(services.file_report(_viewer(), _event(event_id), **data))


@blp.put("/events/<int:event_id>/rsvp")
@login_required
@blp.arguments(schemas.EventRsvpSchema)
@blp.response(200, schemas.EventRsvpStatusSchema)
@blp.errors(401, 403, 404, 409, 422)
def rsvp(data, event_id: int):
    """Going: a place, the waitlist when full, or a request when organisers approve; again changes nothing."""
    event = _event(event_id)
    return _rsvp_answer(event, rsvps.rsvp(event, _viewer(), public=data.get("public")))


@blp.delete("/events/<int:event_id>/rsvp")
@login_required
@blp.response(200, schemas.EventRsvpStatusSchema)
@blp.errors(401, 403, 404)
def leave(event_id: int):
    """Not going any more (the first on the waitlist takes the place)."""
    event = _event(event_id)
    rsvps.leave(event, _viewer())
    return _rsvp_answer(event, None)


@blp.get("/events/<int:event_id>/attendees")
@blp.arguments(schemas.EventAttendeeQuerySchema, location="query")
@blp.response(200, schemas.EventAttendeeListSchema)
@blp.errors(404, 422)
def list_attendees(args, event_id: int):
    """Organisers see everyone (with `status` to filter); others the people going who opted in."""
    page = rsvps.list_attendees(_event(event_id), _viewer(), **args)
    return {"items": [presenters.attendee_view(r) for r in page.rsvps], "next_cursor": page.next_cursor,
            "complete": page.complete}


@blp.post("/events/<int:event_id>/attendees/<handle>/approve")
@login_required
@blp.response(200, schemas.EventRsvpStatusSchema)
@blp.errors(401, 403, 404, 409)
def approve_rsvp(event_id: int, handle: str):
    """Organisers approve a pending RSVP: going, or the waitlist when full."""
    event = _event(event_id)
    return _rsvp_answer(event, rsvps.approve_rsvp(_viewer(), event, get_member_by_reference(handle)))


@blp.post("/events/<int:event_id>/attendees/<handle>/reject")
@login_required
@blp.response(200, schemas.EventRsvpStatusSchema)
@blp.errors(401, 403, 404, 409)
def reject_rsvp(event_id: int, handle: str):
    event = _event(event_id)
    rsvps.reject_rsvp(_viewer(), event, get_member_by_reference(handle))
    return _rsvp_answer(event, None)
