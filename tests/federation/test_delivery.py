"""The outbox and the delivery worker against scripted peers: outcomes, retries, Retry-After, the breaker."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from sqlalchemy import select, update

from coopol.core.errors import IllegalTransition
from coopol.core.time import utcnow
from coopol.core.uow import unit_of_work
from coopol.extensions import db
from coopol.federation.delivery import (
    MAX_ATTEMPTS,
    backoff_seconds,
    claim_due,
    parse_retry_after,
)
from coopol.federation.models import DELIVERY, Ally, Delivery, OutboxActivity


def queue(live, targets=None, kind="Create") -> int:
    """Queue one activity of our Group to `targets` (default: every ally); returns the activity row id."""
    from coopol.federation.actors import group_id
    from coopol.federation.outbox import ally_inboxes, build_activity, enqueue_activity

    def run():
        with unit_of_work():
            activity = build_activity(kind, group_id(), {"id": f"{live.url}/notes/1", "type": "Note"},
                                      to=["https://www.w3.org/ns/activitystreams#Public"])
            return enqueue_activity(activity, ally_inboxes() if targets is None else targets).id

    return live.query(run)


def delivery(live) -> Delivery:
    def read():
        row = db.session.scalars(select(Delivery).order_by(Delivery.id.desc())).first()
        db.session.expunge(row)
        return row

    return live.query(read)


def make_due(live) -> None:
    def run():
        with unit_of_work():
            db.session.execute(update(Delivery).values(next_attempt_at=utcnow(), claimed_until=None))
            db.session.execute(update(Ally).values(breaker_until=None))

    live.query(run)


@pytest.fixture
def sender_and_peer(instance, peer):
    a, remote = instance("a"), peer()
    remote.ally_of(a)
    return a, remote


def test_a_2xx_answer_is_delivered_and_marks_the_peer_healthy(sender_and_peer):
    a, remote = sender_and_peer
    remote.answer("/inbox", 202)
    queue(a)
    assert a.drain() == 1
    row = delivery(a)
    assert (row.state, row.attempts, row.last_status) == ("delivered", 1, 202)
    assert a.ally_row(remote.host).last_success_at is not None
    sent = remote.received[-1]
    assert sent["method"] == "POST" and sent["path"] == "/inbox"
    assert sent["headers"]["Content-Type"] == "application/activity+json"
    assert sent["headers"]["Digest"].startswith("SHA-256=")
    assert 'headers="(request-target) host date digest"' in sent["headers"]["Signature"]


def test_a_server_error_is_retried_later_with_backoff(sender_and_peer):
    a, remote = sender_and_peer
    remote.answer("/inbox", 500, b"boom")
    queue(a)
    before = utcnow()
    a.drain()
    row = delivery(a)
    assert (row.state, row.attempts, row.last_status) == ("retrying", 1, 500)
    assert "HTTP 500: boom" in row.last_error
    wait = (row.next_attempt_at - before).total_seconds()
    assert 16 <= wait <= 1 + 15 + 20 + 5  # 1⁴ + 15 s + up to 20 s of jitter
    assert a.ally_row(remote.host).consecutive_failures == 1
    a.drain()  # not due yet: nothing is sent
    assert len(remote.received) == 1
    remote.answer("/inbox", 200)
    make_due(a)
    a.drain()
    assert delivery(a).state == "delivered" and delivery(a).attempts == 2
    assert a.ally_row(remote.host).consecutive_failures == 0


def test_retry_after_is_honoured(sender_and_peer):
    a, remote = sender_and_peer
    remote.answer("/inbox", 429, headers={"Retry-After": "600"})
    queue(a)
    before = utcnow()
    a.drain()
    row = delivery(a)
    assert row.state == "retrying" and row.last_status == 429
    assert 599 <= (row.next_attempt_at - before).total_seconds() <= 605
    assert a.ally_row(remote.host).consecutive_failures == 0  # throttling is not an outage


@pytest.mark.parametrize("status, state", [(400, "failed"), (403, "failed"), (404, "failed"), (410, "failed"),
                                           (401, "retrying"), (408, "retrying"), (429, "retrying"),
                                           (502, "retrying"), (503, "retrying")])
def test_client_errors_are_final_except_401_408_429(sender_and_peer, status, state):
    a, remote = sender_and_peer
    remote.answer("/inbox", status)
    queue(a)
    a.drain()
    assert delivery(a).state == state


def test_a_peer_that_is_down_is_retried(instance, peer):
    a, remote = instance("a"), peer()
    remote.ally_of(a)
    remote.served.stop()
    queue(a)
    a.drain()
    row = delivery(a)
    assert row.state == "retrying" and row.last_status is None and "ConnectionError" in row.last_error


def test_a_slow_peer_times_out_and_is_retried(instance, peer):
    a, remote = instance("a", FEDERATION_TIMEOUT=0.5), peer()
    remote.ally_of(a)
    remote.hold = True  # never answers within the timeout
    queue(a)
    a.drain()
    remote.release.set()
    row = delivery(a)
    assert row.state == "retrying" and "timed out" in row.last_error


def test_gives_up_after_16_attempts(sender_and_peer):
    a, remote = sender_and_peer
    remote.answer("/inbox", 500)
    queue(a)

    def almost_exhausted():
        with unit_of_work():
            db.session.execute(update(Delivery).values(attempts=MAX_ATTEMPTS - 1))

    a.query(almost_exhausted)
    a.drain()
    row = delivery(a)
    assert (row.state, row.attempts) == ("failed", MAX_ATTEMPTS) and "gave up" in row.last_error


def test_breaker_pauses_a_failing_peer_but_not_the_others(instance, peer):
    a, bad, good = instance("a"), peer(), peer()
    bad.ally_of(a)
    good.ally_of(a)
    bad.answer("/inbox", 503)
    good.answer("/inbox", 202)
    queue(a, [f"{bad.url}/inbox"])
    for _ in range(5):
        make_due(a)
        a.drain()
    ally = a.ally_row(bad.host)
    assert ally.consecutive_failures == 5 and ally.breaker_until > utcnow()
    queue(a, [f"{bad.url}/inbox", f"{good.url}/inbox"])

    def make_due_keeping_the_breaker():
        with unit_of_work():
            db.session.execute(update(Delivery).values(next_attempt_at=utcnow()))

    a.query(make_due_keeping_the_breaker)
    sent_to_bad = len(bad.received)
    a.drain()
    assert len(bad.received) == sent_to_bad  # paused
    assert len(good.received) == 1
    listed = a.cli("allies", "list").output
    assert "paused until" in listed and f"{bad.host}\tallied" in listed


def test_a_claimed_delivery_is_not_claimed_twice(sender_and_peer):
    a, _remote = sender_and_peer
    queue(a)
    first = a.query(lambda: claim_due(10))
    second = a.query(lambda: claim_due(10))
    assert len(first) == 1 and second == []


def test_deliveries_to_a_host_no_longer_allied_are_cancelled(sender_and_peer):
    a, remote = sender_and_peer
    queue(a)

    def end_alliance():
        with unit_of_work():
            db.session.execute(update(Ally).values(incoming="revoked", outgoing="revoked"))

    a.query(end_alliance)
    a.drain()
    assert delivery(a).state == "cancelled" and remote.received == []


def test_one_delivery_per_inbox_shared_inboxes_deduplicated(sender_and_peer):
    a, remote = sender_and_peer
    activity_id = queue(a, [f"{remote.url}/inbox", f"{remote.url}/inbox", f"{remote.url}/g/ideas/inbox"])
    targets = a.query(lambda: sorted(db.session.scalars(
        select(Delivery.inbox_url).where(Delivery.activity_id == activity_id))))
    assert targets == [f"{remote.url}/g/ideas/inbox", f"{remote.url}/inbox"]
    from coopol.federation.outbox import ally_inboxes

    assert a.query(ally_inboxes) == [
        f"{remote.url}/inbox"]


def test_outbox_rows_roll_back_with_the_change_that_caused_them(sender_and_peer):
    a, _remote = sender_and_peer
    with pytest.raises(RuntimeError):
        def failing_change():
            from coopol.federation.actors import group_id
            from coopol.federation.outbox import ally_inboxes, build_activity, enqueue_activity

            with unit_of_work():
                enqueue_activity(build_activity("Create", group_id(), {"id": "x"}), ally_inboxes())
                raise RuntimeError("the change failed")

        a.query(failing_change)
    assert a.count(OutboxActivity) == 0 and a.count(Delivery) == 0


def test_public_activities_appear_in_the_group_outbox(sender_and_peer):
    a, remote = sender_and_peer
    queue(a)
    client = a.app.test_client()
    outbox = client.get("/g/ideas/outbox", headers={"Accept": "application/activity+json"}).json
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 1  # paged: items are on its pages
    page = client.get(outbox["first"].removeprefix(a.url), headers={"Accept": "application/activity+json"}).json
    assert page["type"] == "OrderedCollectionPage" and page["partOf"] == outbox["id"]
    assert page["orderedItems"][0]["type"] == "Create" and "next" not in page
    activity_id = page["orderedItems"][0]["id"]
    fetched = client.get(activity_id.removeprefix(a.url), headers={"Accept": "application/activity+json"})
    assert fetched.status_code == 200 and fetched.json["id"] == activity_id


def test_delivery_states_are_declared():
    assert DELIVERY.check("pending", "delivered") == "delivered"
    with pytest.raises(IllegalTransition):
        DELIVERY.check("delivered", "retrying")
    with pytest.raises(IllegalTransition):
        DELIVERY.check("failed", "pending")


def test_backoff_grows_as_n_to_the_fourth_plus_15_seconds_with_jitter():
    rng = random.Random(5)
    for attempts in (1, 2, 5, 10, 15):
        delay = backoff_seconds(attempts, rng)
        assert attempts ** 4 + 15 <= delay <= attempts ** 4 + 15 + 10 * (attempts + 1)
    total_days = sum(n ** 4 + 15 for n in range(1, MAX_ATTEMPTS)) / 86400
    assert 1.5 < total_days < 3  # about two days before giving up


def test_the_retry_scale_shortens_every_wait_and_leaves_the_order(sender_and_peer):
    a, remote = sender_and_peer
    a.app.config["FEDERATION_RETRY_SCALE"] = 0.1
    remote.answer("/inbox", 500, b"boom")
    queue(a)
    before = utcnow()
    a.drain()
    row = delivery(a)
    assert row.state == "retrying" and row.attempts == 1
    wait = (row.next_attempt_at - before).total_seconds()
    assert 1.6 <= wait <= 3.6 + 1  # (1⁴ + 15 s + up to 20 s of jitter) × 0.1
    with a.app.app_context():
        assert backoff_seconds(3, random.Random(1)) < 3 ** 4 + 15


def test_retry_after_accepts_seconds_and_http_dates():
    now = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(format_datetime(now + timedelta(minutes=5), usegmt=True), now) == 300
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("99999999", now) == 86400


def test_worker_once_drains_what_is_due_and_exits(sender_and_peer):
    a, remote = sender_and_peer
    remote.answer("/inbox", 202)
    queue(a)
    queue(a)
    result = a.cli("worker", "--once", "--verbose")
    assert "after 2 delivery attempt(s)" in result.output and result.output.count("delivered 202") == 2
    assert [state for _, state in a.deliveries()] == ["delivered", "delivered"]


def test_on_postgresql_rows_locked_by_another_worker_are_skipped_not_waited_for(sender_and_peer):
    from sqlalchemy import text

    a, _remote = sender_and_peer
    if a.query(lambda: db.engine.dialect.name) != "postgresql":
        pytest.skip("FOR UPDATE SKIP LOCKED is the PostgreSQL claim; SQLite serialises claims with BEGIN IMMEDIATE")
    queue(a)
    queue(a)
    engine = a.query(lambda: db.engine)
    with engine.connect() as other_worker:
        transaction = other_worker.begin()
        locked = other_worker.execute(text(
            "SELECT id FROM federation_deliveries ORDER BY id LIMIT 1 FOR UPDATE")).scalar_one()
        claimed = a.query(lambda: claim_due(10))
        transaction.rollback()
    all_ids = a.query(lambda: list(db.session.scalars(select(Delivery.id).order_by(Delivery.id))))
    assert claimed == [i for i in all_ids if i != locked]
