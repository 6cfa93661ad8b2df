"""Gatherings (events), RSVPs and the recorded changes that people going must be told about.

An event is local (`origin_host` None) or a copy of an ally's event (`ap_id`, `origin_host`, `origin_name`,
`url` set by federation, as for ideas). The origin instance is the one source of truth for RSVPs of its
events: on a copy, `reported_going_count` and `reported_waitlist_count` are the figures the origin reports.

The invariant, kept by rsvps.py and nowhere else: on a local event `going_count`, `waitlist_count` and
`pending_count` equal its RSVP rows in those statuses; every change of a row's status goes with an atomic
`UPDATE ... SET x_count = x_count ± 1` while the event's row is locked. With a capacity, `going_count`
never exceeds it. The moderation module sets `hidden_at`, `hidden_reason`, `removed_at` and `locked_at`.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    or_,
    select,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coopol.accounts.models import Member
from coopol.core.state import StateMachine
from coopol.core.time import UTCDateTime, utcnow
from coopol.extensions import db

TITLE_MIN, TITLE_MAX = 3, 200
DESCRIPTION_MAX = 20_000
PLACE_NAME_MAX, ADDRESS_MAX = 200, 500
URL_MAX = 2048
TIMEZONE_MAX = 64
CAPACITY_MAX = 1_000_000
REASON_MAX = 2_000
MINUTES_MAX = 20_000
TURNOUT_MAX = 10_000_000


class EventMode(enum.StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    HYBRID = "hybrid"


class EventState(enum.StrEnum):
    DRAFT = "draft"  # only its organisers see it
    SCHEDULED = "scheduled"
    POSTPONED = "postponed"  # the dates will change; RSVPs stay
    CANCELLED = "cancelled"  # final


EVENT_LIFECYCLE = StateMachine("event", {
    EventState.DRAFT: {EventState.SCHEDULED, EventState.CANCELLED},
    EventState.SCHEDULED: {EventState.POSTPONED, EventState.CANCELLED},
    EventState.POSTPONED: {EventState.SCHEDULED, EventState.CANCELLED},
}, labels="event_state")
# States in which people may RSVP (before the end).
RSVP_STATES = frozenset({EventState.SCHEDULED, EventState.POSTPONED})


class RsvpStatus(enum.StrEnum):
    GOING = "going"
    WAITLISTED = "waitlisted"  # in order of `queued_at`, id: moves up when a place frees
    PENDING = "pending"  # waits for an organiser's approval (or, on a copy, for the origin's answer)


class Event(db.Model):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_starts_at", "starts_at", "id"),
        Index("ix_events_ends_at", "ends_at", "id"),
        CheckConstraint("going_count >= 0 AND waitlist_count >= 0 AND pending_count >= 0",
                        name="counts_not_negative"),
        # A copy shows the origin's capacity; only our own gatherings keep it here.
        CheckConstraint("origin_host IS NOT NULL OR capacity IS NULL OR going_count <= capacity",
                        name="going_within_capacity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    # Stored in UTC; `timezone` (IANA, zoneinfo) is the zone the organiser gave, shown and used in iCalendar.
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    timezone: Mapped[str] = mapped_column(String(TIMEZONE_MAX))
    mode: Mapped[str] = mapped_column(String(16), default=EventMode.IN_PERSON.value)
    place_name: Mapped[str | None] = mapped_column(String(PLACE_NAME_MAX))
    place_address: Mapped[str | None] = mapped_column(String(ADDRESS_MAX))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    online_url: Mapped[str | None] = mapped_column(String(URL_MAX))  # shown to those going and organisers only
    capacity: Mapped[int | None] = mapped_column(Integer)  # None: no limit
    waitlist: Mapped[bool] = mapped_column(Boolean, default=True)  # when full: waitlist, or refuse
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    # The host: a member (organiser) alone, or for a group they organise. Erasure keeps the event and the
    # organiser row (shown as a deleted member).
    organiser_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"), index=True)
    scope: Mapped[str | None] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=EventState.DRAFT.value)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    # The report, after it ended, by an organiser.
    report_minutes: Mapped[str | None] = mapped_column(Text)
    report_minutes_html: Mapped[str | None] = mapped_column(Text)
    turnout: Mapped[int | None] = mapped_column(Integer)
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))

    # Counters: only rsvps.py changes them, by atomic SQL updates.
    going_count: Mapped[int] = mapped_column(Integer, default=0)
    waitlist_count: Mapped[int] = mapped_column(Integer, default=0)
    pending_count: Mapped[int] = mapped_column(Integer, default=0)
    # iCalendar SEQUENCE: rises with every change people must see (dates, place, state...).
    sequence: Mapped[int] = mapped_column(Integer, default=0)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Local: when its counts last changed (an RSVP); allies are shown max(updated_at, counts_at) as the
    # Event's `updated`. Copy: the origin's `updated` of the last Event applied, so an older one that is
    # delivered after a newer (two deliveries in flight) is ignored instead of bringing back stale counts.
    counts_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    origin_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Moderation (the same columns as on ideas and groups).
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Federation: a copy of an ally's event keeps its ActivityPub id, origin, page URL and the counts the
    # origin reports (participantCount and the waitlist).
    ap_id: Mapped[str | None] = mapped_column(String(URL_MAX), unique=True)
    origin_host: Mapped[str | None] = mapped_column(String(255), index=True)
    origin_name: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(URL_MAX))
    reported_going_count: Mapped[int | None] = mapped_column(Integer)
    reported_waitlist_count: Mapped[int | None] = mapped_column(Integer)

    organiser: Mapped[Member | None] = relationship(foreign_keys=[organiser_id], lazy="joined")
    group: Mapped[Any] = relationship("Group", foreign_keys=[group_id], lazy="joined")

    @property
    def is_local(self) -> bool:
        return self.origin_host is None

    @property
    def host(self) -> str | None:
        return self.origin_host

    @property
    def is_draft(self) -> bool:
        return self.state == EventState.DRAFT

    @property
    def is_cancelled(self) -> bool:
        return self.state == EventState.CANCELLED

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def is_listed(self) -> bool:
        return (self.removed_at is None and self.hidden_at is None and self.state != EventState.DRAFT
                and (self.group is None or self.group.is_listed))

    @classmethod
    def listed(cls):
        """The SQL condition of `is_listed`: lists, feeds and counts show these (not the gatherings of a
        group the moderators hid or removed)."""
        from coopol.groups.models import Group

        return (*cls.listed_in_group(), or_(cls.group_id.is_(None),
                                            cls.group_id.in_(select(Group.id).where(*Group.listed()))))

    @classmethod
    def listed_in_group(cls):
        """`listed()` without the group's own state: for the lists of one group its viewer may see."""
        return (cls.removed_at.is_(None), cls.hidden_at.is_(None), cls.state != EventState.DRAFT.value)

    @property
    def shown_going_count(self) -> int:
        """What every instance shows: ours for a local event, the origin's figure for a copy."""
        if not self.is_local and self.reported_going_count is not None:
            return self.reported_going_count
        return self.going_count

    @property
    def shown_waitlist_count(self) -> int:
        if not self.is_local and self.reported_waitlist_count is not None:
            return self.reported_waitlist_count
        return self.waitlist_count

    @property
    def remaining_capacity(self) -> int | None:
        if self.capacity is None:
            return None
        return max(0, self.capacity - self.shown_going_count)

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.state}>"


class Rsvp(db.Model):
    """One person's answer to one event; remote members are members too, so one row per person holds
    across allies. No row: not going."""

    __tablename__ = "event_rsvps"
    __table_args__ = (UniqueConstraint("event_id", "member_id", name="uq_event_rsvps_event_member"),
                      Index("ix_event_rsvps_queue", "event_id", "status", "queued_at", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    public: Mapped[bool] = mapped_column(Boolean, default=False)  # shown in the public attendee list
    # The waitlist's order: when the person joined it (or asked, for approval).
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ap_id: Mapped[str | None] = mapped_column(String(URL_MAX))  # the Join activity of an ally's member
    # On a copy: the online link the origin sent this member (privately, with its Accept) while going;
    # the copy's own `online_url` stays empty. Unused on our own gatherings.
    online_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    # On a copy: the origin's time (`published`) of the last answer applied; an older answer delivered
    # after a newer one (a TentativeAccept overtaking the Accept of a promotion) changes nothing.
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    event: Mapped[Event] = relationship()
    member: Mapped[Member] = relationship(lazy="joined", innerjoin=True)


class RsvpAnswerClock(db.Model):
    """On a copy: the origin's time of the last answer for a person whose RSVP is gone (a `Reject`, or they
    left), so that an older answer delivered afterwards (a retried `TentativeAccept`) does not bring the
    RSVP back. While the RSVP exists, its own `answered_at` is the clock."""

    __tablename__ = "event_rsvp_answer_clocks"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True,
                                           index=True)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EventChange(db.Model):
    """What changed in an event, recorded when it changed, so that the people going can be told
    (by notifications, later): `changes` is `{field: [before, after]}` in JSON-able values. `told_at`
    is for the module that tells them."""

    __tablename__ = "event_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # updated | postponed | rescheduled | cancelled
    sequence: Mapped[int] = mapped_column(Integer)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    told_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    event: Mapped[Event] = relationship()
