"""RSVPs: going, waitlisted (in order), pending approval; the one writer of RSVP rows and event counters.

Every change locks the event's row first, then reads the person's RSVP and the counters, then writes the
row and moves the counters with atomic SQL: counts always equal the rows, and with a capacity exactly
`capacity` people at most are going, whatever the concurrency (concurrent RSVPs for the last place: one
gets it, the others the waitlist). When a place frees (someone leaves, the capacity rises) the waitlist
moves up in order (`queued_at`, then id).

These services take any Member row: an ally's member (`is_local` False) RSVPs to our gatherings through
federation, which turns the status answered into `Accept` (going, waitlisted) or `Reject` (a 409: full
with no waitlist, cancelled, over; a 403: banned). On a copy of an ally's gathering our member's RSVP is
`pending` until the origin answers (copies.py `apply_origin_rsvp`).
Event published for every change of a person's status, waitlist promotions included:
`rsvp_changed(event, member, status, previous)`, statuses `going | waitlisted | pending | None`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from coopol.accounts.models import Member
from coopol.core.errors import Conflict, NotFound, ValidationFailed
from coopol.core.events import publish
from coopol.core.schemas import parse_id
from coopol.core.time import utcnow
from coopol.events import guards
from coopol.events.models import RSVP_STATES, Event, Rsvp, RsvpAnswerClock, RsvpStatus
from coopol.extensions import db

_COUNTER = {RsvpStatus.GOING: "going_count", RsvpStatus.WAITLISTED: "waitlist_count",
            RsvpStatus.PENDING: "pending_count"}


def rsvp_of(event: Event, member: Member | None) -> Rsvp | None:
    if member is None or getattr(member, "id", None) is None:
        return None
    return db.session.scalars(select(Rsvp).where(Rsvp.event_id == event.id, Rsvp.member_id == member.id)
                              .execution_options(populate_existing=True)).one_or_none()


def status_of(event: Event, member: Member | None) -> str | None:
    found = rsvp_of(event, member)
    return found.status if found else None


def _move_counts(event: Event, previous: str | None, status: str | None) -> None:
    if previous == status:
        return
    values = {}
    if previous is not None:
        column = _COUNTER[RsvpStatus(previous)]
        values[column] = getattr(Event, column) - 1
    if status is not None:
        column = _COUNTER[RsvpStatus(status)]
        values[column] = getattr(Event, column) + 1
    if event.is_local:
        values["counts_at"] = utcnow()
    db.session.execute(update(Event).where(Event.id == event.id).values(**values)
                       .execution_options(synchronize_session=False))
    db.session.expire(event, ["going_count", "waitlist_count", "pending_count", "counts_at"])


def _has_place(event: Event) -> bool:
    return event.capacity is None or event.going_count < event.capacity


def _status_for_newcomer(event: Event, member: Member) -> str:
    """Where a new RSVP goes (the event row locked)."""
    if not event.is_local:
        return RsvpStatus.PENDING.value  # the origin decides
    if event.requires_approval and not guards.is_organiser(event, member):
        return RsvpStatus.PENDING.value
    return _status_with_place(event)


def _status_with_place(event: Event) -> str:
    if _has_place(event):
        return RsvpStatus.GOING.value
    if event.waitlist:
        return RsvpStatus.WAITLISTED.value
    raise Conflict(_("This gathering is full."))


def rsvp(event: Event, member: Member, *, public: bool | None = None, ap_id: str | None = None) -> str:
    """`member` goes (or joins the waitlist, or asks for approval); the status they end up with.

    A second RSVP changes nothing (it may change `public`, whether they are shown in the attendee list).
    409 for a draft, cancelled or past gathering, or a full one without waitlist."""
    guards.ensure_person_may_rsvp(member)
    guards.lock_event(event)
    existing = rsvp_of(event, member)
    if existing is not None:
        if public is not None and public != existing.public:
            existing.public = public
            existing.updated_at = utcnow()
            db.session.flush()
        return existing.status
    guards.ensure_open_for_rsvp(event)
    status = _status_for_newcomer(event, member)
    now = utcnow()
    row = Rsvp(event_id=event.id, member_id=member.id, status=status, public=bool(public), queued_at=now,
               created_at=now, updated_at=now, ap_id=ap_id)
    try:
        # Two RSVPs of one person at once on SQLite's serialised writers cannot meet here, but on
        # PostgreSQL the event lock already orders them: the unique row is the last line of defence.
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        existing = rsvp_of(event, member)
        if existing is None:
            raise
        return existing.status
    _move_counts(event, None, status)
    publish("rsvp_changed", event=event, member=member, status=status, previous=None)
    return status


def leave(event: Event, member: Member) -> str | None:
    """`member` is not going any more (or leaves the waitlist, or withdraws a request); the status they
    had (None: nothing to do). A place freed goes to the first on the waitlist."""
    guards.lock_event(event)  # anyone may leave, even a suspended member
    existing = rsvp_of(event, member)
    if existing is None:
        return None
    previous = existing.status
    if not event.is_local:  # an answer of the origin sent before it learns they left changes nothing
        remember_answer(event, member, utcnow())
    db.session.delete(existing)
    db.session.flush()
    _move_counts(event, previous, None)
    publish("rsvp_changed", event=event, member=member, status=None, previous=previous)
    if previous == RsvpStatus.GOING:
        promote_waitlist(event)
    return previous


def remember_answer(event: Event, member: Member, at: datetime | None) -> None:
    """Keep the time of the last answer about `member` on the copy `event` once their RSVP is gone (the
    newer of the kept one and `at`); the event row is locked by the caller."""
    if at is None:
        return
    clock = db.session.get(RsvpAnswerClock, (event.id, member.id))
    if clock is None:
        db.session.add(RsvpAnswerClock(event_id=event.id, member_id=member.id, answered_at=at))
    elif clock.answered_at < at:
        clock.answered_at = at


def answered_since(event: Event, member: Member, at: datetime | None) -> bool:
    """Whether an answer newer than `at` was applied for `member` on the copy `event` before their RSVP went."""
    if at is None:
        return False
    kept = db.session.scalar(select(RsvpAnswerClock.answered_at).where(RsvpAnswerClock.event_id == event.id,
                                                                       RsvpAnswerClock.member_id == member.id))
    return kept is not None and at < kept


def promote_waitlist(event: Event) -> list[Rsvp]:
    """Move people up from the waitlist, in order, while there are places (the event row locked)."""
    if not event.is_local or event.state not in RSVP_STATES or event.ends_at <= utcnow():
        return []  # nobody gets a place at a cancelled or past gathering
    promoted = []
    while _has_place(event):
        first = db.session.scalars(select(Rsvp).where(Rsvp.event_id == event.id,
                                                      Rsvp.status == RsvpStatus.WAITLISTED.value)
                                   .order_by(Rsvp.queued_at, Rsvp.id).limit(1)).first()
        if first is None:
            break
        first.status = RsvpStatus.GOING.value
        first.updated_at = utcnow()
        db.session.flush()
        _move_counts(event, RsvpStatus.WAITLISTED.value, RsvpStatus.GOING.value)
        publish("rsvp_changed", event=event, member=first.member, status=RsvpStatus.GOING.value,
                previous=RsvpStatus.WAITLISTED.value)
        promoted.append(first)
    return promoted


def _pending_rsvp(event: Event, member: Member) -> Rsvp:
    row = rsvp_of(event, member)
    if row is None:
        raise NotFound(_("@%(handle)s did not answer this gathering.", handle=member.handle))
    if row.status != RsvpStatus.PENDING:
        raise Conflict(_("@%(handle)s is not waiting for approval.", handle=member.handle))
    return row


def approve_rsvp(actor: Member, event: Event, member: Member) -> str:
    """An organiser lets a pending person in: going if there is a place, else the waitlist."""
    guards.ensure_can_act(actor)
    guards.ensure_local(event)
    guards.ensure_organiser(event, actor)
    guards.lock_event(event)
    row = _pending_rsvp(event, member)
    guards.ensure_open_for_rsvp(event)
    status = _status_with_place(event)
    row.status = status
    row.queued_at = row.updated_at = utcnow()
    db.session.flush()
    _move_counts(event, RsvpStatus.PENDING.value, status)
    publish("rsvp_changed", event=event, member=member, status=status, previous=RsvpStatus.PENDING.value)
    return status


def reject_rsvp(actor: Member, event: Event, member: Member) -> None:
    """An organiser turns a pending request down (the person may ask again)."""
    guards.ensure_can_act(actor)
    guards.ensure_local(event)
    guards.ensure_organiser(event, actor)
    guards.lock_event(event)
    row = _pending_rsvp(event, member)
    db.session.delete(row)
    db.session.flush()
    _move_counts(event, RsvpStatus.PENDING.value, None)
    publish("rsvp_changed", event=event, member=member, status=None, previous=RsvpStatus.PENDING.value)


@dataclass
class AttendeePage:
    rsvps: list[Rsvp]
    next_cursor: str | None
    complete: bool  # True: every RSVP (organisers, moderators); False: only those who opted in


def list_attendees(event: Event, viewer: Member | None, *, status: str | None = None,
                   cursor: str | None = None, limit: int = 50) -> AttendeePage:
    """Organisers (and moderators) see everyone; anyone else only the people going who opted in
    (`public`), never the waitlist or requests. In order of arrival, keyset-paged by id."""
    complete = guards.is_organiser(event, viewer) or guards.is_moderator(viewer)
    stmt = select(Rsvp).where(Rsvp.event_id == event.id)
    if status:
        if status not in [s.value for s in RsvpStatus]:
            raise ValidationFailed.field("status", _("Use one of: %(choices)s.",
                                                     choices=", ".join(s.value for s in RsvpStatus)))
        stmt = stmt.where(Rsvp.status == status)
    if not complete:
        stmt = stmt.where(Rsvp.public.is_(True), Rsvp.status == RsvpStatus.GOING.value)
    if cursor:
        last_id = parse_id(cursor)
        if last_id is None:
            raise ValidationFailed.field("cursor", _("This cursor is not valid."))
        stmt = stmt.where(Rsvp.id > last_id)
    rows = list(db.session.scalars(stmt.order_by(Rsvp.id).limit(limit + 1)))
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return AttendeePage(rows[:limit], next_cursor, complete)
