"""Votes delivered out of order (a delivery worker killed mid-batch resends its leased rows after newer
ones): the receiver applies a person's votes in the order of their `published` times, so a `Like` that
arrives after its `Undo`, or after the `Dislike` that replaced it, changes nothing, and every tally
stays the origin's. Both ways in: relayed by the origin's Group (Announce) and sent to it directly."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.federation.models import Delivery, InboxItem, OutboxActivity
from tests.federation.content.conftest import settle
from tests.federation.content.test_travel_ideas import publish


def _kind(payload: dict) -> str:
    """The activity's type, or the relayed one's for an Announce."""
    inner = payload.get("object")
    return inner["type"] if payload["type"] == "Announce" and isinstance(inner, dict) else payload["type"]


def hold(party, kind: str) -> int:
    """Postpone every pending delivery of a `kind` vote (as a retry would), so newer ones overtake it."""
    party.build_votes()  # the worker's first step: the queued votes' activities and deliveries

    def postpone() -> int:
        held = [d for d in db.session.scalars(select(Delivery).join(Delivery.activity)
                                              .where(Delivery.state == "pending"))
                if _kind(d.activity.payload) == kind]
        for delivery in held:
            delivery.next_attempt_at = utcnow() + timedelta(days=1)
        db.session.commit()
        return len(held)

    return party.query(postpone)


def release(party) -> None:
    def due() -> None:
        for delivery in db.session.scalars(select(Delivery).where(Delivery.state == "pending")):
            delivery.next_attempt_at = utcnow() - timedelta(seconds=1)
        db.session.commit()

    party.query(due)


def tally(party, ap_id: str) -> tuple[int, int]:
    view = party.copy_of(ap_id)["tally"]
    return view["support"], view["oppose"]


def stale_items(party) -> list[str]:
    return party.query(lambda: list(db.session.scalars(
        select(InboxItem.last_error).where(InboxItem.state == "ignored",
                                           InboxItem.last_error.contains("out of order")))))


def test_a_relayed_like_arriving_after_its_undo_changes_nothing(parties):
    a, b = parties(2)
    a.member("alice")
    a.member("ann")
    idea = publish(a, "alice")
    settle(a, b)
    a.api("PUT", f"/ideas/{idea['id']}/vote", as_="ann", json={"value": "support"}, expect=200)
    a.api("DELETE", f"/ideas/{idea['id']}/vote", as_="ann", expect=200)
    a.build_votes()
    like, undo = a.query(lambda: [o.payload["object"] for o in db.session.scalars(
        select(OutboxActivity).where(OutboxActivity.type == "Announce").order_by(OutboxActivity.id))][-2:])
    assert (like["type"], undo["type"]) == ("Like", "Undo")
    assert like["published"] < undo["published"]  # the voter's times travel inside the Announce
    assert hold(a, "Like") == 1
    settle(a, b)  # the Undo arrives first: nothing to undo yet, its time is kept
    release(a)
    settle(a, b)  # then the Like it undid
    assert tally(a, idea["ap_id"]) == (0, 0)
    assert tally(b, idea["ap_id"]) == (0, 0)
    assert len(stale_items(b)) == 1  # acknowledged, recorded as ignored, not an error
    assert {state for _kind, state in a.live.deliveries()} == {"delivered"}

    # Later votes still count.
    a.api("PUT", f"/ideas/{idea['id']}/vote", as_="ann", json={"value": "oppose"}, expect=200)
    settle(a, b)
    assert tally(b, idea["ap_id"]) == tally(a, idea["ap_id"]) == (0, 1)


def test_a_direct_like_arriving_after_the_dislike_that_replaced_it_changes_nothing(parties):
    a, b = parties(2)
    a.member("alice")
    b.member("bob")
    idea = publish(a, "alice")
    settle(a, b)
    on_b = b.copy_of(idea["ap_id"])["id"]
    b.api("PUT", f"/ideas/{on_b}/vote", as_="bob", json={"value": "support"}, expect=200)
    b.api("PUT", f"/ideas/{on_b}/vote", as_="bob", json={"value": "oppose"}, expect=200)
    assert hold(b, "Like") == 1
    settle(a, b)  # A applies the Dislike, and announces it
    release(b)
    settle(a, b)  # then the older Like reaches A
    assert tally(b, idea["ap_id"]) == (0, 1)
    assert tally(a, idea["ap_id"]) == (0, 1)
    assert len(stale_items(a)) == 1


def test_a_relayed_comment_vote_arriving_after_its_undo_changes_nothing(parties):
    a, b = parties(2)
    a.member("alice")
    a.member("ann")
    idea = publish(a, "alice")
    comment = a.api("POST", f"/ideas/{idea['id']}/comments", as_="alice", expect=201,
                    json={"body": "Night shifts need them.", "stance": "for"}).get_json()
    settle(a, b)
    a.api("PUT", f"/comments/{comment['id']}/vote", as_="ann", json={"value": "up"}, expect=200)
    a.api("PUT", f"/comments/{comment['id']}/vote", as_="ann", json={"value": "up"}, expect=200)  # toggled off
    assert hold(a, "Like") == 1
    settle(a, b)
    release(a)
    settle(a, b)
    (seen,) = b.comments(b.copy_of(idea["ap_id"])["id"])
    assert (seen["up"], seen["down"]) == (0, 0)
