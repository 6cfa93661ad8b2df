"""The RSVP state machine (coopol/events/rsvps.py) under random sequences of RSVPs, leaves, approvals,
rejections, capacity changes, postponement and cancellation, each in its own transaction:

- the counters equal the RSVP rows, and with a capacity no more than `capacity` people are going;
- nobody waits while a place is free at a gathering that takes answers;
- the waitlist moves up in order: whoever joined it first gets the first place freed.
Runs on the services directly (no HTTP) with a small number of examples, in a few seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

PEOPLE = ("ann", "ben", "cat", "dan", "eve")
OPS = st.one_of(
    st.tuples(st.just("rsvp"), st.sampled_from(PEOPLE)),  # three times as likely: lines form
    st.tuples(st.just("rsvp"), st.sampled_from(PEOPLE)),
    st.tuples(st.just("rsvp"), st.sampled_from(PEOPLE)),
    st.tuples(st.just("leave"), st.sampled_from(PEOPLE)),
    st.tuples(st.just("leave"), st.sampled_from(PEOPLE)),
    st.tuples(st.just("approve"), st.sampled_from(PEOPLE)),
    st.tuples(st.just("reject"), st.sampled_from(PEOPLE)),
    st.tuples(st.just("capacity"), st.one_of(st.none(), st.integers(1, 4))),
    st.tuples(st.just("approval"), st.booleans()),
    st.tuples(st.just("waitlist"), st.booleans()),
    st.tuples(st.just("postpone"), st.booleans()),
    st.tuples(st.just("cancel"), st.none()),
)


def _check(event, previous_queue: list[int], rows) -> list[int]:
    from coopol.events.models import RSVP_STATES

    by_status = {status: [r for r in rows if r.status == status] for status in ("going", "waitlisted", "pending")}
    assert (event.going_count, event.waitlist_count, event.pending_count) == tuple(
        len(by_status[s]) for s in ("going", "waitlisted", "pending"))
    if event.capacity is not None:
        assert event.going_count <= event.capacity
    if event.state in RSVP_STATES and by_status["waitlisted"]:
        assert event.capacity is not None and event.going_count == event.capacity
    queue = [r.member_id for r in sorted(by_status["waitlisted"], key=lambda r: (r.queued_at, r.id))]
    # Whoever still waits keeps their place in the line (a newcomer only joins at its end) ...
    kept = [m for m in previous_queue if m in queue]
    assert kept == queue[:len(kept)]
    # ... and those who moved up were the first in it.
    going = {r.member_id for r in by_status["going"]}
    promoted = [m for m in previous_queue if m in going]
    assert promoted == previous_queue[:len(promoted)]
    return queue


def test_rsvp_sequences_keep_counts_capacity_and_order(app, create_member):
    from coopol.accounts.services import get_member_by_handle
    from coopol.core.errors import DomainError
    from coopol.events import rsvps, services
    from coopol.events.models import Event, Rsvp
    from coopol.extensions import db

    create_member("host")
    for handle in PEOPLE:
        create_member(handle)

    @settings(max_examples=80, deadline=None)
    @given(capacity=st.one_of(st.none(), st.integers(1, 3)), approval=st.booleans(),
           ops=st.lists(OPS, min_size=1, max_size=16))
    @example(capacity=1, approval=False, ops=[("rsvp", "ann"), ("rsvp", "ben"), ("rsvp", "cat"), ("leave", "ann")])
    @example(capacity=1, approval=True, ops=[("rsvp", "ann"), ("rsvp", "ben"), ("rsvp", "cat"), ("approve", "ann"),
                                             ("approve", "cat"), ("approve", "ben"), ("capacity", 2),
                                             ("leave", "ann")])
    def run(capacity, approval, ops):
        with app.test_request_context():
            host = get_member_by_handle("host")
            start = datetime.now(UTC) + timedelta(days=3)
            event = services.create_event(host, title="Property walk", starts_at=start,
                                           ends_at=start + timedelta(hours=2), timezone="UTC",
                                           place={"name": "Park"}, capacity=capacity,
                                           requires_approval=approval)
            db.session.commit()
            event_id = event.id
            queue: list[int] = []
            for op, arg in ops:
                event = db.session.get(Event, event_id)
                try:
                    if op == "rsvp":
                        rsvps.rsvp(event, get_member_by_handle(arg))
                    elif op == "leave":
                        rsvps.leave(event, get_member_by_handle(arg))
                    elif op == "approve":
                        rsvps.approve_rsvp(host, event, get_member_by_handle(arg))
                    elif op == "reject":
                        rsvps.reject_rsvp(host, event, get_member_by_handle(arg))
                    elif op == "capacity":
                        services.update_event(host, event, capacity=arg)
                    elif op == "approval":
                        services.update_event(host, event, requires_approval=arg)
                    elif op == "waitlist":
                        services.update_event(host, event, waitlist=arg)
                    elif op == "postpone":
                        services.update_event(host, event, state="postponed" if arg else "scheduled")
                    elif op == "cancel":
                        services.cancel_event(host, event, "weather")
                    db.session.commit()
                except DomainError:  # a 4xx: nothing written
                    db.session.rollback()
                db.session.expire_all()
                event = db.session.get(Event, event_id)
                rows = list(db.session.scalars(select(Rsvp).where(Rsvp.event_id == event_id)))
                queue = _check(event, queue, rows)
            # Leave the database as we found it.
            db.session.delete(db.session.get(Event, event_id))
            db.session.commit()
            assert db.session.scalar(select(func.count()).select_from(Rsvp)) == 0

    run()
