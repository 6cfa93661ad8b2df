"""The worker's batches (read in one transaction, outcomes recorded in one), its wake-up on commit, and
the outbox's statements per enqueued activity."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import delete, event, select, update

from coopol.core.uow import unit_of_work
from coopol.extensions import db
from coopol.federation.delivery import Waker, claim_due, deliver_batch, run_worker
from coopol.federation.models import Ally, Delivery, OutboxActivity
from tests.federation.test_delivery import queue


def delivery_ids(live, activity_id: int) -> list[int]:
    return live.query(lambda: list(db.session.scalars(
        select(Delivery.id).where(Delivery.activity_id == activity_id).order_by(Delivery.id))))


def states(live) -> dict[int, str]:
    return dict(live.query(lambda: db.session.execute(select(Delivery.id, Delivery.state)).all()))


@pytest.fixture
def two_peers(instance, peer):
    a, one, two = instance("a"), peer(), peer()
    for remote in (one, two):
        remote.ally_of(a)
        remote.answer("/inbox", 202)
    return a, one, two


def test_a_delivery_whose_activity_was_deleted_after_the_claim_is_skipped(two_peers):
    a, one, two = two_peers
    gone = queue(a, [f"{one.url}/inbox"])
    kept = queue(a, [f"{two.url}/inbox"])
    claimed = a.query(lambda: claim_due(10))
    assert len(claimed) == 2

    def delete_activity():
        with unit_of_work():
            db.session.execute(delete(OutboxActivity).where(OutboxActivity.id == gone))

    a.query(delete_activity)
    outcomes = a.query(lambda: deliver_batch(claimed))
    assert [(o.delivery_id, o.state) for o in outcomes] == [(claimed[0], "missing"), (claimed[1], "delivered")]
    assert one.received == [] and len(two.received) == 1
    assert states(a) == {delivery_ids(a, kept)[0]: "delivered"}


def test_a_delivery_cancelled_while_its_post_is_in_flight_stays_cancelled(two_peers):
    """Outcomes are recorded after the whole batch was sent: a row that changed meanwhile keeps its state."""
    a, slow, fast = two_peers
    slow.hold = True
    queue(a)  # one activity, one delivery to each peer
    worker = threading.Thread(target=a.drain)
    worker.start()
    deadline = time.monotonic() + 10
    while not slow.received and time.monotonic() < deadline:
        time.sleep(0.02)
    assert slow.received, "the worker never reached the slow peer"

    def end_alliance_with_slow():
        with unit_of_work():
            db.session.execute(update(Ally).where(Ally.host == slow.host).values(incoming="revoked"))
            db.session.execute(update(Delivery).where(Delivery.host == slow.host)
                               .values(state="cancelled", claimed_until=None))

    a.query(end_alliance_with_slow)
    slow.release.set()
    worker.join(20)
    by_host = dict(a.query(lambda: db.session.execute(select(Delivery.host, Delivery.state)).all()))
    assert by_host == {slow.host: "cancelled", fast.host: "delivered"}
    assert a.ally_row(fast.host).last_success_at is not None
    assert a.ally_row(slow.host).last_success_at is None


def test_one_delivery_that_cannot_be_signed_does_not_hold_up_its_batch(two_peers):
    a, one, _two = two_peers
    good = queue(a, [f"{one.url}/inbox"])

    def queue_unsignable():
        from coopol.federation.outbox import build_activity, enqueue_activity

        with unit_of_work():
            activity = build_activity("Create", "https://elsewhere.example/u/x", {"id": "x", "type": "Note"})
            return enqueue_activity(activity, [f"{one.url}/inbox"]).id

    bad = a.query(queue_unsignable)
    assert a.drain() == 2
    assert states(a) == {delivery_ids(a, good)[0]: "delivered", delivery_ids(a, bad)[0]: "failed"}
    assert len(one.received) == 1


def test_outcomes_of_a_batch_update_each_ally_once_in_order(instance, peer):
    """The breaker counts every failure of a batch, as if they had been recorded one by one."""
    a, down = instance("a"), peer()
    down.ally_of(a)
    down.answer("/inbox", 503)
    for _ in range(6):
        queue(a, [f"{down.url}/inbox"])
    assert a.drain() == 6
    ally = a.ally_row(down.host)
    assert ally.consecutive_failures == 6 and ally.breaker_until is not None
    assert set(states(a).values()) == {"retrying"}


# ---------------------------------------------------------------------------------- wake-up


def test_an_idle_worker_is_woken_by_the_commit_that_enqueues(instance, peer):
    """With a 30 s idle wait, only the wake-up (PostgreSQL NOTIFY, SQLite data_version) delivers in time."""
    a, remote = instance("a", FEDERATION_WORKER_IDLE_MAX=30.0, FEDERATION_WORKER_POLL=0.05), peer()
    remote.ally_of(a)
    remote.answer("/inbox", 202)
    if a.query(lambda: db.engine.dialect.name) == "sqlite" and ":memory:" in a.query(lambda: str(db.engine.url)):
        pytest.skip("an in-memory SQLite database cannot be watched from another connection")
    stop = threading.Event()

    def work():
        with a.app.app_context():
            try:
                run_worker(stop=stop, concurrency=1)
            finally:
                db.session.remove()

    worker = threading.Thread(target=work)
    worker.start()
    try:
        time.sleep(0.8)  # the worker has found nothing to do and waits
        queued = time.monotonic()
        queue(a)
        while not remote.received and time.monotonic() - queued < 10:
            time.sleep(0.01)
        took = time.monotonic() - queued
        assert remote.received, "the idle worker was not woken"
        assert took < 3, f"woken after {took:.2f} s"
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive()


def test_a_rolled_back_enqueue_does_not_wake_the_worker_a_committed_one_does(sender):
    a = sender
    stop = threading.Event()

    def check(commit: bool) -> bool:
        from coopol.federation.actors import group_id
        from coopol.federation.outbox import ally_inboxes, build_activity, enqueue_activity

        waker = Waker(stop, poll=0.05, idle_max=1.0)
        try:
            waker.arm()
            enqueue_activity(build_activity("Create", group_id(), {"id": "x", "type": "Note"}), ally_inboxes())
            if commit:
                db.session.commit()
            else:
                db.session.rollback()
            started = time.monotonic()
            woken = waker.wait()
            assert woken or time.monotonic() - started >= 0.9
            return woken
        finally:
            waker.close()

    if a.query(lambda: db.engine.dialect.name) == "sqlite" and ":memory:" in a.query(lambda: str(db.engine.url)):
        pytest.skip("an in-memory SQLite database cannot be watched from another connection")
    assert a.query(lambda: check(commit=False)) is False
    assert a.query(lambda: check(commit=True)) is True


# ---------------------------------------------------------------------------------- outbox


@pytest.fixture
def sender(instance, peer):
    a = instance("a")
    for _ in range(3):
        peer().ally_of(a)
    return a


def test_enqueue_reads_the_allies_once_and_inserts_the_deliveries_at_once(sender):
    from coopol.federation.actors import group_id
    from coopol.federation.outbox import ally_inboxes, build_activity, enqueue_activity

    def run():
        statements: list[str] = []

        def seen(conn, cursor, statement, parameters, context, executemany):
            statements.append(statement.split()[0].upper() + " " + _table(statement))

        engine = db.engine
        event.listen(engine, "before_cursor_execute", seen)
        try:
            with unit_of_work():
                assert len(ally_inboxes()) == 3  # "anyone to tell?"
                activity = build_activity("Announce", group_id(), {"id": "x", "type": "Like"})
                row = enqueue_activity(activity, ally_inboxes())
                assert len(row.deliveries) == 3  # loaded when read
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        return statements

    statements = sender.query(run)
    assert statements.count("SELECT federation_allies") == 1
    assert statements.count("INSERT federation_outbox") == 1
    assert statements.count("INSERT federation_deliveries") == 1
    assert not any("member_keys" in statement for statement in statements)


def _table(statement: str) -> str:
    words = statement.replace("\n", " ").split()
    for keyword in ("INTO", "FROM", "UPDATE"):
        if keyword in words:
            return words[words.index(keyword) + 1].strip('"')
    return ""


def test_the_cached_ally_inboxes_follow_changes_made_in_the_same_transaction(sender):
    from coopol.federation.outbox import ally_inboxes

    def run():
        with unit_of_work():
            assert len(ally_inboxes()) == 3
            first = db.session.scalars(select(Ally).order_by(Ally.host)).first()
            first.incoming = "revoked"  # not flushed yet
            assert len(ally_inboxes()) == 2
            db.session.execute(update(Ally).values(outgoing="revoked"))  # a bulk UPDATE
            assert ally_inboxes() == []
            db.session.rollback()
        with unit_of_work():
            assert len(ally_inboxes()) == 3  # a new transaction reads again

    sender.query(run)
