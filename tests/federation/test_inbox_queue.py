"""The asynchronous inbox (issue 16): a request that passes every check stores the raw activity once and
is answered 202 `queued`; the worker applies it through its handler, retries it when applying fails and
finally records it `failed` (never lost); repeats arriving at the same moment are stored once; two
workers never apply one item twice, and one actor's activities apply in the order they came."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from coopol.core.time import utcnow
from coopol.core.uow import unit_of_work
from coopol.extensions import db
from coopol.federation import activities
from coopol.federation.models import InboxItem
from tests.federation.conftest import group_signer, signed_post

KIND = "CoopolTestQueued"


@pytest.fixture
def allies(instance, ally):
    a, b = instance("a"), instance("b")
    ally(a, b)
    return a, b


@pytest.fixture
def recorder():
    """A handler for a test-only activity type: records each activity it applies (and fails on those
    whose `summary` says "fail")."""
    applied: list[str] = []
    guard = threading.Lock()

    def receive(activity, ctx):
        if activity.get("summary") == "fail":
            raise RuntimeError("the database of a dependency is down")
        with guard:
            applied.append(activity["id"])

    activities.register_handler(KIND, receive)
    yield applied
    activities._HANDLERS.pop((KIND, None))


def ping(sender, *, actor: str | None = None, summary: str = "") -> dict:
    return {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{sender.url}/activities/{uuid.uuid4()}",
            "type": KIND, "actor": actor or f"{sender.url}/g/ideas", "summary": summary,
            "object": f"{sender.url}/things/{uuid.uuid4()}"}


def send(a, b, activity):
    response = signed_post(f"{b.url}/inbox", activity, *group_signer(a), apply=False)
    assert response.status_code == 202, response.text
    return response.json()


def row(live, ap_id: str):
    def read():
        item = db.session.scalar(select(InboxItem).where(InboxItem.ap_id == ap_id))
        return None if item is None else (item.state, item.attempts, item.last_error)

    return live.query(read)


def make_due(live) -> None:
    def due():
        with unit_of_work():
            db.session.execute(update(InboxItem).where(InboxItem.state == "errored")
                               .values(next_attempt_at=utcnow() - timedelta(seconds=1)))

    live.query(due)


def store(live, activity, actor: str, host: str) -> int | None:
    """What the inbox does once every check passed (the request's one write)."""
    from coopol.federation.activities import InboxContext
    from coopol.federation.inbox import store_item

    def write():
        return store_item(activity, InboxContext(actor, host, None, None, "/inbox"))

    return live.query(write)


def test_an_accepted_activity_is_answered_queued_and_applied_by_the_worker(allies, recorder):
    from coopol.federation.delivery import run_worker

    a, b = allies
    activity = ping(a)
    assert send(a, b, activity) == {"status": "queued", "id": activity["id"]}
    assert row(b, activity["id"]) == ("received", 0, "") and recorder == []
    with b.app.app_context():  # `coopol worker --once`
        run_worker(once=True)
    assert row(b, activity["id"]) == ("processed", 1, "") and recorder == [activity["id"]]
    assert send(a, b, activity) == {"status": "duplicate", "id": activity["id"]}
    assert b.apply_inbox() == 0 and recorder == [activity["id"]]


def test_an_item_whose_applying_fails_is_retried_then_failed_never_lost(allies, recorder):
    from coopol.federation.inbox import MAX_PROCESSING_ATTEMPTS

    a, b = allies
    activity = ping(a, summary="fail")
    send(a, b, activity)
    b.apply_inbox()
    state, attempts, error = row(b, activity["id"])
    assert (state, attempts) == ("errored", 1) and "dependency is down" in error
    b.apply_inbox()
    assert row(b, activity["id"])[:2] == ("errored", 1)  # backing off: not due yet
    for attempt in range(2, MAX_PROCESSING_ATTEMPTS + 1):
        make_due(b)
        assert b.apply_inbox() == 1
        assert row(b, activity["id"])[:2] == ("errored" if attempt < MAX_PROCESSING_ATTEMPTS else "failed", attempt)
    state, attempts, error = row(b, activity["id"])
    assert (state, attempts) == ("failed", MAX_PROCESSING_ATTEMPTS) and "dependency is down" in error
    make_due(b)
    assert b.apply_inbox() == 0 and recorder == []  # kept, with its error, and tried no more


def test_an_item_whose_applying_crashes_outside_its_handler_counts_attempts_and_fails(allies, recorder,
                                                                                     monkeypatch):
    from coopol.federation import inbox
    from coopol.federation.inbox import MAX_PROCESSING_ATTEMPTS

    a, b = allies
    activity = ping(a)
    send(a, b, activity)

    def broken(actor):
        raise RuntimeError("the actor cache is broken")

    monkeypatch.setattr(inbox, "cached_actor", broken)  # fails before the handler is reached
    assert b.apply_inbox() == 1
    state, attempts, error = row(b, activity["id"])
    assert (state, attempts) == ("errored", 1) and "actor cache is broken" in error
    for _attempt in range(2, MAX_PROCESSING_ATTEMPTS + 1):
        make_due(b)
        b.apply_inbox()
    assert row(b, activity["id"])[:2] == ("failed", MAX_PROCESSING_ATTEMPTS) and recorder == []


def test_the_same_activity_arriving_twice_at_once_is_stored_once(allies, recorder):
    a, b = allies
    activity = ping(a)
    # Both requests passed their checks (neither saw the other's row): the INSERT keeps the first.
    assert store(b, activity, activity["actor"], a.host) is not None
    assert store(b, activity, activity["actor"], a.host) is None
    assert b.query(lambda: db.session.scalar(select(func.count()).select_from(InboxItem)
                                             .where(InboxItem.ap_id == activity["id"]))) == 1

    racing = ping(a)
    barrier = threading.Barrier(6)
    answers: list[dict] = []

    def post():
        barrier.wait()
        answers.append(send(a, b, racing))

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(answer["status"] for answer in answers) == ["duplicate"] * 5 + ["queued"]
    b.apply_inbox()
    assert sorted(recorder) == sorted([activity["id"], racing["id"]])  # each applied once


def test_two_workers_never_apply_one_item_twice(allies, recorder):
    from coopol.federation.inbox import apply_item, apply_queued, claim_items

    a, b = allies
    sent = [ping(a, actor=f"{a.url}/u/person{i % 5}") for i in range(30)]
    for activity in sent:
        store(b, activity, activity["actor"], a.host)

    def worker():
        with b.app.app_context():
            try:
                while apply_queued(limit=3):
                    pass
            finally:
                db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(recorder) == sorted(activity["id"] for activity in sent)  # each once

    # A worker whose lease ran out (it hung) finds its item taken over, and leaves it to the other.
    late = ping(a)
    store(b, late, late["actor"], a.host)
    with b.app.app_context():
        first, first_lease = claim_items()
        db.session.execute(update(InboxItem).where(InboxItem.id.in_(first)).values(next_attempt_at=utcnow()))
        db.session.commit()
        second, second_lease = claim_items()
        assert first == second
        assert apply_item(first[0], first_lease) is None
        assert apply_item(second[0], second_lease) == "processed"
        db.session.remove()
    assert recorder.count(late["id"]) == 1


def test_one_actors_activities_wait_while_another_worker_applies_an_earlier_one(allies, recorder):
    """A Create and its Update, a Like and its Undo: the second is not handed to a second worker while the
    first is with another (applied first, it would find nothing to update or undo)."""
    from coopol.federation.inbox import apply_item, claim_items

    a, b = allies
    person, other = f"{a.url}/u/alice", f"{a.url}/u/bob"
    create, update_, elsewhere = ping(a, actor=person), ping(a, actor=person), ping(a, actor=other)
    for activity in (create, update_, elsewhere):
        store(b, activity, activity["actor"], a.host)
    with b.app.app_context():
        mine, lease = claim_items(limit=1)  # worker 1 takes the Create
        theirs, their_lease = claim_items(limit=5)  # worker 2: bob's, not alice's Update
        ids = dict(db.session.execute(select(InboxItem.ap_id, InboxItem.id)).all())
        assert mine == [ids[create["id"]]] and theirs == [ids[elsewhere["id"]]]
        assert apply_item(mine[0], lease) == "processed"
        assert claim_items(limit=5)[0] == [ids[update_["id"]]]  # now the Update may go
        db.session.remove()


def test_an_item_from_a_host_no_longer_allied_when_applied_is_ignored(allies, recorder):
    a, b = allies
    activity = ping(a)
    send(a, b, activity)
    b.cli("allies", "revoke", a.host)
    b.apply_inbox()
    state, attempts, error = row(b, activity["id"])
    assert (state, attempts) == ("ignored", 1) and "not an ally" in error
    assert recorder == []


def test_inline_mode_applies_in_the_request(instance, ally, recorder):
    a, b = instance("a"), instance("b", FEDERATION_INBOX="inline")
    ally(a, b)
    activity = ping(a)
    assert send(a, b, activity) == {"status": "processed", "id": activity["id"]}
    assert recorder == [activity["id"]] and row(b, activity["id"]) == ("processed", 1, "")
    failing = ping(a, summary="fail")
    assert send(a, b, failing)["status"] == "errored"  # the worker retries it
    assert b.apply_inbox() == 0 and row(b, failing["id"])[:2] == ("errored", 1)
