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
