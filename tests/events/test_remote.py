"""What federation relies on: RSVPs of allies' members (remote Member rows) on our gatherings, decided
here; copies of allies' gatherings showing the origin's counts; our member's RSVP on a copy pending until
the origin answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coopol.core.errors import Conflict, PermissionDenied
from coopol.core.uow import unit_of_work


def _remote(handle: str):
    from coopol.accounts.models import Member
    from coopol.extensions import db

    member = Member(handle=f"{handle}@ally.example", host="ally.example", ap_id=f"https://ally.example/u/{handle}",
                    session_token="x", display_name=handle.title())
    db.session.add(member)
    db.session.flush()
    return member


def test_remote_members_rsvp_like_ours_and_the_origin_decides(app, member, create_event, check_counts):
    from coopol.events import rsvps
    from coopol.events.services import find_event

    alice = member("alice")
    event_id = create_event(alice, capacity=1, waitlist=False)["id"]
    with app.test_request_context(), unit_of_work():
        event = find_event(event_id)
        zoe, yann = _remote("zoe"), _remote("yann")
        assert rsvps.rsvp(event, zoe, ap_id="https://ally.example/join/1") == "going"
        assert rsvps.rsvp(event, zoe) == "going"  # a repeated Join changes nothing
        with pytest.raises(Conflict):  # full without waitlist: federation answers Reject
            rsvps.rsvp(event, yann)
        assert rsvps.leave(event, zoe) == "going"
        assert rsvps.leave(event, zoe) is None
        assert rsvps.rsvp(event, yann) == "going"
        yann.status = "banned"
        assert rsvps.leave(event, yann) == "going"  # leaving is always possible
        with pytest.raises(PermissionDenied):
            rsvps.rsvp(event, yann)
    check_counts()


def test_copy_shows_origin_counts_and_our_rsvp_waits_for_the_origin(app, member, check_counts):
    from coopol.accounts.services import get_member_by_handle
    from coopol.events import copies, rsvps
    from coopol.events.presenters import one_event_view

    member("bob")
    start = datetime.now(UTC) + timedelta(days=3)
    seen = []
    from coopol.core.events import subscribe

    subscribe(app, "rsvp_changed", lambda event, member, status, previous: seen.append((status, previous)))
    subscribe(app, "event_updated", lambda event, changes: seen.append(("updated", sorted(changes))))
    with app.test_request_context(), unit_of_work():
        copy = copies.save_copy(ap_id="https://ally.example/events/3", origin_host="ally.example",
                                origin_name="Allied Party", url="https://ally.example/events/3", title="Ally rally",
                                starts_at=start, ends_at=start + timedelta(hours=2), timezone="Europe/Rome",
                                capacity=50, mode="in_person", place_name="Piazza")
        copies.set_origin_counts(copy, going=23, waitlist=4)
        bob = get_member_by_handle("bob")
        assert rsvps.rsvp(copy, bob) == "pending"  # federation sends Join
        view = one_event_view(copy, bob)
        assert (view["going_count"], view["waitlist_count"], view["remaining_capacity"]) == (23, 4, 27)
        assert view["origin"] == {"host": "ally.example", "name": "Allied Party"}
        assert view["ap_id"] == "https://ally.example/events/3" and view["can_edit"] is False
        assert copies.apply_origin_rsvp(copy, bob, "going") == "pending"  # the origin's Accept
        assert rsvps.status_of(copy, bob) == "going"
        # The origin moves it: the copy follows and records it for Bob.
        again = copies.save_copy(ap_id="https://ally.example/events/3", origin_host="ally.example",
                                 title="Ally rally", starts_at=start + timedelta(days=1),
                                 ends_at=start + timedelta(days=1, hours=2), timezone="Europe/Rome")
        assert again.id == copy.id and again.sequence == 1
    assert seen == [("pending", None), ("going", "pending"), ("updated", ["ends_at", "starts_at"])]
    check_counts()


def test_organisers_cannot_edit_copies(app, member):
    from coopol.accounts.services import get_member_by_handle
    from coopol.events import copies, services

    member("bob")
    start = datetime.now(UTC) + timedelta(days=3)
    with app.test_request_context(), unit_of_work():
        bob = get_member_by_handle("bob")
        copy = copies.save_copy(ap_id="https://ally.example/events/4", origin_host="ally.example", title="Theirs",
                                starts_at=start, ends_at=start + timedelta(hours=1), timezone="UTC",
                                organiser=bob)
        with pytest.raises(PermissionDenied):
            services.update_event(bob, copy, title="Mine now")


def test_a_copy_created_meanwhile_by_another_delivery_is_brought_up_to_date(app, monkeypatch):
    """Two inbox items about one gathering race: both see no copy, the other commits first. The loser must
    update that row (unique ap_id), not fail with an IntegrityError and leave the copy stale."""
    from sqlalchemy import func, select

    from coopol.events import copies
    from coopol.events.models import Event
    from coopol.extensions import db

    start = datetime.now(UTC) + timedelta(days=3)
    fields = dict(ap_id="https://ally.example/events/9", origin_host="ally.example", title="First title",
                  starts_at=start, ends_at=start + timedelta(hours=1), timezone="UTC")
    with app.test_request_context(), unit_of_work():
        copies.save_copy(**fields)
    looks, find = [], copies.find_copy

    def find_late(ap_id):  # the first look misses the copy, as a concurrent delivery's look would
        looks.append(ap_id)
        return find(ap_id) if len(looks) > 1 else None

    monkeypatch.setattr(copies, "find_copy", find_late)
    with app.test_request_context(), unit_of_work():
        again = copies.save_copy(**{**fields, "title": "Second title"})
        assert again.title == "Second title"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event)) == 1
        assert db.session.scalar(select(Event.title)) == "Second title"


def test_an_answer_from_before_the_member_left_a_copy_does_not_bring_the_rsvp_back(app, member):
    """Bob leaves an ally's gathering here; the origin's Accept sent before it learnt of it arrives after:
    it changes nothing. A newer answer (he joined again) applies. His erasure takes the kept clock too."""
    from sqlalchemy import select

    from coopol.accounts.services import erase_member, get_member_by_handle
    from coopol.core.time import utcnow
    from coopol.events import copies, rsvps
    from coopol.events.models import RsvpAnswerClock
    from coopol.extensions import db

    member("bob")
    start = datetime.now(UTC) + timedelta(days=3)
    with app.test_request_context(), unit_of_work():
        copy = copies.save_copy(ap_id="https://ally.example/events/9", origin_host="ally.example",
                                url="https://ally.example/events/9", title="Ally rally", starts_at=start,
                                ends_at=start + timedelta(hours=2), timezone="Europe/Rome")
        bob = get_member_by_handle("bob")
        assert rsvps.rsvp(copy, bob) == "pending"
        sent = utcnow() - timedelta(seconds=1)  # the origin's Accept, on its way
        assert rsvps.leave(copy, bob) == "pending"
        assert copies.apply_origin_rsvp(copy, bob, "going", answered=sent) is None
        assert rsvps.status_of(copy, bob) is None
        assert rsvps.rsvp(copy, bob) == "pending"  # he joins again; the answer to that one applies
        assert copies.apply_origin_rsvp(copy, bob, "going", answered=utcnow()) == "pending"
        assert rsvps.status_of(copy, bob) == "going"
        copy_id, bob_id = copy.id, bob.id
    with app.test_request_context(), unit_of_work():
        erase_member(get_member_by_handle("bob"))
    with app.app_context():
        assert db.session.scalars(select(RsvpAnswerClock).where(RsvpAnswerClock.event_id == copy_id,
                                                                RsvpAnswerClock.member_id == bob_id)).all() == []
