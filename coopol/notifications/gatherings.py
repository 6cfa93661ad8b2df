"""Gatherings: a new one in my groups or territory, a change, a cancellation, a place off the waiting
list, and a reminder the day before (a worker task; `event_reminders` records each one sent, so a
gathering is reminded once however many workers run)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app
from flask_babel import format_datetime, ngettext
from flask_babel import gettext as _
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.events import subscribe
from coopol.core.time import utcnow
from coopol.core.uow import unit_of_work
from coopol.core.worker import add_worker_task
from coopol.events.guards import can_view
from coopol.events.models import Event, EventState, Rsvp, RsvpStatus
from coopol.extensions import db
from coopol.notifications.feed import record_activity, register_feed_loader, scope_topics
from coopol.notifications.follows import followers_of
from coopol.notifications.models import EventReminder, FollowKind
from coopol.notifications.store import notify

REMINDER_BATCH = 20


def _link(event: Event) -> str:
    return f"/events/{event.id}"  # our page, an ally's copy too: the reader answers here


def _when(event: Event) -> str:
    """The start as the organiser gave it, in the gathering's own zone and saying which (as its page does):
    the reader's clock may be elsewhere, and the instance's default zone is nobody's."""
    local = event.starts_at.astimezone(ZoneInfo(event.timezone))
    return f"{format_datetime(local, 'short', rebase=False)} ({event.timezone})"


def _people_going(event: Event, statuses=(RsvpStatus.GOING, RsvpStatus.WAITLISTED, RsvpStatus.PENDING)
                  ) -> list[Member]:
    return list(db.session.scalars(select(Member).join(Rsvp, Rsvp.member_id == Member.id).where(
        Rsvp.event_id == event.id, Rsvp.status.in_([s.value for s in statuses]), Member.host.is_(None))))


def on_event_published(event: Event, **_rest: Any) -> None:
    topics = [*scope_topics(event.scope)]
    if event.group_id:
        topics.append(("group", str(event.group_id)))
    if event.organiser_id:
        topics.append(("member", str(event.organiser_id)))
    record_activity("event", event.organiser, "event", event.id, topics)
    recipients: dict[int, Member] = {}
    if event.group_id:
        recipients.update((m.id, m) for m in followers_of(FollowKind.GROUP, str(event.group_id)))
    for _kind, code in scope_topics(event.scope):
        recipients.update((m.id, m) for m in followers_of(FollowKind.SCOPE, code))
    for member in recipients.values():
        notify(member, "event_new",
               lambda n: _("New gathering: “%(title)s”, %(when)s.", title=event.title,
                           when=_when(event)),
               actor=event.organiser, target_type="event", target_id=event.id, link=_link(event))


def on_event_updated(event: Event, changes: dict[str, Any], **_rest: Any) -> None:
    for member in _people_going(event):
        notify(member, "event_changed",
               lambda n: ngettext("The gathering “%(title)s” changed.",
                                  "The gathering “%(title)s” changed %(num)d times.", n, title=event.title),
               actor=event.organiser, target_type="event", target_id=event.id, link=_link(event),
               group_key=f"event_changed:{event.id}")


def on_event_cancelled(event: Event, reason: str, **_rest: Any) -> None:
    for member in _people_going(event):
        notify(member, "event_cancelled",
               lambda n: (_("The gathering “%(title)s” is cancelled: %(reason)s", title=event.title, reason=reason)
                          if reason else _("The gathering “%(title)s” is cancelled.", title=event.title)),
               actor=event.organiser, target_type="event", target_id=event.id, link=_link(event))


def on_rsvp_changed(event: Event, member: Member, status: str | None, previous: str | None, **_rest: Any) -> None:
    if previous == RsvpStatus.WAITLISTED and status == RsvpStatus.GOING:
        notify(member, "event_promoted",
               lambda n: _("A place freed up: you are going to “%(title)s”.", title=event.title),
               target_type="event", target_id=event.id, link=_link(event))


def send_reminders(now=None, limit: int = REMINDER_BATCH) -> int:
    """The worker's turn: remind those going to gatherings starting within a day, once per gathering."""
    now = now or utcnow()
    horizon = now + timedelta(seconds=int(current_app.config.get("EVENT_REMINDER_SECONDS", 86400)))
    with unit_of_work():
        reminded = select(EventReminder.event_id)
        due = list(db.session.scalars(select(Event).where(
            Event.state == EventState.SCHEDULED, Event.starts_at > now, Event.starts_at <= horizon,
            Event.removed_at.is_(None), Event.id.not_in(reminded)).order_by(Event.starts_at, Event.id).limit(limit)
            .with_for_update(skip_locked=True, of=Event)))
        for event in due:
            db.session.add(EventReminder(event_id=event.id, sent_at=now))
            for member in _people_going(event, (RsvpStatus.GOING,)):
                notify(member, "event_reminder",
                       lambda n, event=event: _("Reminder: “%(title)s” starts %(when)s.", title=event.title,
                                                when=_when(event)),
                       target_type="event", target_id=event.id, link=_link(event))
        db.session.flush()
    return len(due)


def _load_events(ids: list[int], viewer: Any) -> dict[int, dict | None]:
    events = db.session.scalars(select(Event).where(Event.id.in_(ids))) if ids else []
    base = current_app.config["URL"]  # our page, an ally's copy too: the reader answers here
    return {e.id: ({"type": "event", "id": e.id, "title": e.title, "state": e.state, "starts_at": e.starts_at,
                    "url": base + f"/events/{e.id}"} if can_view(e, viewer) else None) for e in events}


def init_gatherings(app: Flask) -> None:
    subscribe(app, "event_published", on_event_published)
    subscribe(app, "event_updated", on_event_updated)
    subscribe(app, "event_cancelled", on_event_cancelled)
    subscribe(app, "rsvp_changed", on_rsvp_changed)
    register_feed_loader(app, "event", _load_events)
    add_worker_task(app, send_reminders)
