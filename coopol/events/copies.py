"""Copies of allies' gatherings: what the origin instance says is what the copy shows. Federation calls
these (domain code, no protocol): it parses an ally's `Event` into plain values first.

The origin is the one source of truth for RSVPs: a copy's counts are those the origin reports
(`set_origin_counts`), and our member's RSVP on a copy stays `pending` (rsvps.rsvp) until the origin's
`Accept`/`Reject` arrives (`apply_origin_rsvp`). No local transition rule applies to a copy's state.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from coopol.accounts.models import Member
from coopol.core.errors import PermissionDenied
from coopol.core.events import publish
from coopol.core.text import render_markdown
from coopol.core.time import utcnow
from coopol.events import guards
from coopol.events.models import URL_MAX, Event, EventState, Rsvp, RsvpStatus
from coopol.events.rsvps import _move_counts, answered_since, remember_answer, rsvp_of
from coopol.extensions import db

COPIED = ("title", "description", "starts_at", "ends_at", "timezone", "mode", "place_name", "place_address",
          "latitude", "longitude", "online_url", "capacity", "waitlist", "requires_approval", "scope",
          "language", "state", "cancel_reason", "report_minutes", "turnout")
NOTEWORTHY = ("title", "starts_at", "ends_at", "timezone", "mode", "place_name", "place_address", "online_url",
              "state")


def find_copy(ap_id: str) -> Event | None:
    return db.session.scalar(select(Event).where(Event.ap_id == ap_id))


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def save_copy(*, ap_id: str, origin_host: str, origin_name: str | None = None, url: str | None = None,
              organiser: Member | None = None, group_id: int | None = None, sequence: int | None = None,
              **fields: Any) -> Event:
    """Create or update the copy of an ally's gathering from already validated values (`COPIED` names;
    starts_at/ends_at aware datetimes). A new copy publishes `event_published`; a change publishes
    `event_updated` (with `event.is_local` False) and is recorded for our members going."""
    unknown = set(fields) - set(COPIED)
    if unknown:
        raise ValueError(f"Unknown fields for an event copy: {sorted(unknown)}")
    event = find_copy(ap_id)
    now = utcnow()
    if event is None:
        values = {"description": "", "mode": "in_person", "waitlist": True, "requires_approval": False,
                  "language": "und", "state": EventState.SCHEDULED.value, **fields}
        event = Event(ap_id=ap_id, origin_host=origin_host.lower(), origin_name=origin_name, url=url,
                      organiser_id=organiser.id if organiser else None, group_id=group_id,
                      going_count=0, waitlist_count=0, pending_count=0, sequence=sequence or 0,
                      created_at=now, updated_at=now, published_at=now, **values)
        event.description_html = render_markdown(event.description)
        event.report_minutes_html = render_markdown(event.report_minutes) if event.report_minutes else None
        try:
            # Two deliveries about one gathering at once (its Announce and a count Update, say): the unique
            # ap_id decides; the one that loses brings the winner's row up to date instead of erroring.
            with db.session.begin_nested():
                db.session.add(event)
                db.session.flush()
        except IntegrityError:
            event = find_copy(ap_id)
            if event is None:
                raise
        else:
            publish("event_published", event=event)
            return event
    if event.is_local:
        raise PermissionDenied(_("Only copies of allies' gatherings follow their origin."))
    guards.lock_event(event)
    changed = {}
    for name, value in fields.items():
        if getattr(event, name) != value:
            changed[name] = [_jsonable(getattr(event, name)), _jsonable(value)]
            setattr(event, name, value)
    for name, value in (("origin_name", origin_name), ("url", url), ("group_id", group_id)):
        if value is not None:
            setattr(event, name, value)
    if not changed:
        return event
    if "description" in changed:
        event.description_html = render_markdown(event.description)
    if "report_minutes" in changed:
        event.report_minutes_html = render_markdown(event.report_minutes) if event.report_minutes else None
        event.reported_at = now
    if "state" in changed and event.state == EventState.CANCELLED:
        event.cancelled_at = now
    event.updated_at = now
    if sequence is not None:
        event.sequence = max(event.sequence, sequence)
    elif any(k in NOTEWORTHY for k in changed):
        event.sequence += 1
    from coopol.events.services import _record

    if any(k in NOTEWORTHY for k in changed):
        kind = "cancelled" if changed.get("state", [None, None])[1] == EventState.CANCELLED else "updated"
        _record(event, None, kind, {k: tuple(v) for k, v in changed.items()})
    db.session.flush()
    if changed.get("state", [None, None])[1] == EventState.CANCELLED:
        publish("event_cancelled", event=event, reason=event.cancel_reason or "")
    else:
        publish("event_updated", event=event, changes=changed)
    return event


def set_origin_counts(event: Event, *, going: int | None, waitlist: int | None = None,
                      updated: datetime | None = None) -> Event:
    """The counts the origin reports (participantCount, its waitlist), shown on the copy everywhere;
    `updated` is the origin's time of that state (the caller ignores what is older than
    `event.origin_updated_at`)."""
    if event.is_local:
        raise PermissionDenied(_("Only copies of allies' gatherings follow their origin."))
    if updated is not None:
        event.origin_updated_at = max(updated, event.origin_updated_at or updated)
    if going is not None:
        event.reported_going_count = max(0, int(going))
    if waitlist is not None:
        event.reported_waitlist_count = max(0, int(waitlist))
    db.session.flush()
    return event


KEEP = object()  # apply_origin_rsvp: the origin said nothing about the online link


def clean_sent_online_url(value: Any) -> str | None:
    """An online link an ally's origin sent (http or https, at most URL_MAX characters), else None."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if not url or len(url) > URL_MAX or parts.scheme not in ("http", "https") or not host \
            or any(ch.isspace() for ch in url):
        return None
    return url


def apply_origin_rsvp(event: Event, member: Member, status: str | None, *, ap_id: str | None = None,
                      online_url: Any = KEEP, answered: datetime | None = None) -> str | None:
    """The origin's answer for one person on a copy: `going`, `waitlisted`, `pending`, or None (Reject,
    or they left there). Publishes `rsvp_changed` when it changes something; the previous status.

    `online_url`: the link the origin sent this member with its answer (None: no link, or it was
    withdrawn; `KEEP`: it said nothing). Kept on their RSVP while going, for them only; any other
    status forgets it. `answered`: the origin's time of this answer; one older than the last applied
    changes nothing (answers crossed in flight)."""
    if event.is_local:
        raise PermissionDenied(_("Only copies of allies' gatherings follow their origin."))
    if status is not None:
        status = RsvpStatus(status).value
    guards.lock_event(event)
    row = rsvp_of(event, member)
    previous = row.status if row else None
    if row is not None and answered is not None and row.answered_at is not None and answered < row.answered_at:
        return previous
    if row is None and answered_since(event, member, answered):
        return None  # older than the answer (or the leaving) that ended their RSVP
    if row is not None and answered is not None:
        row.answered_at = answered
    link = None if status != RsvpStatus.GOING else (
        row.online_url if online_url is KEEP and row is not None else
        None if online_url is KEEP else clean_sent_online_url(online_url))
    if previous == status:
        if row is not None and row.online_url != link:
            row.online_url, row.updated_at = link, utcnow()  # the origin changed the link
            db.session.flush()
        return previous
    now = utcnow()
    if status is None:
        remember_answer(event, member, answered or row.answered_at)
        db.session.delete(row)
    elif row is None:
        db.session.add(Rsvp(event_id=event.id, member_id=member.id, status=status, public=False, queued_at=now,
                            created_at=now, updated_at=now, ap_id=ap_id, online_url=link, answered_at=answered))
    else:
        row.status, row.updated_at, row.online_url = status, now, link
    db.session.flush()
    _move_counts(event, previous, status)
    publish("rsvp_changed", event=event, member=member, status=status, previous=previous)
    return previous


def delete_copy(event: Event) -> None:
    """The origin deleted it (or its moderators removed it): the copy goes from every list."""
    if event.is_local:
        raise PermissionDenied(_("Only copies of allies' gatherings follow their origin."))
    event.removed_at = event.removed_at or utcnow()
    db.session.flush()
    publish("event_removed", event=event)


def restore_copy(event: Event) -> bool:
    """The origin reversed its removal (`Undo(Delete)`): the copy is listed again. False if it was not removed."""
    if event.is_local:
        raise PermissionDenied(_("Only copies of allies' gatherings follow their origin."))
    if event.removed_at is None:
        return False
    event.removed_at = None
    db.session.flush()
    return True
