"""Delivery workers: claim due deliveries, sign, POST, record the outcomes.

A round works on a batch (20 deliveries by default) in three steps, and no transaction is open while a
request is in flight:

1. claim: the due rows get a lease (`claimed_until`) in a short transaction. On PostgreSQL they are
   selected `FOR UPDATE SKIP LOCKED`, so any number of workers share the queue; on SQLite the
   worker's transaction starts with `BEGIN IMMEDIATE`, which serialises claims. A worker that dies
   leaves rows whose lease simply runs out.
2. read: one transaction reads the whole batch — the deliveries, their activities' payloads, the
   allies' states and the signing keys (each actor's key once). A delivery to a host that is no
   longer allied is cancelled there (handshakes excepted, and Announces to a host of fediverse
   followers); one whose actor cannot sign fails.
3. send, then record: the POSTs run on the worker's threads; then ONE transaction records every
   outcome of the batch. A row that changed meanwhile (cancelled when the alliance ended, deleted
   with its activity) keeps its new state.

The trade-off of recording per batch rather than per delivery: if the worker dies (or the database is
unreachable) after some POSTs of a batch and before their outcomes are recorded, those deliveries are
sent again when their lease runs out. That was already true of the single delivery between its POST
and its record; it now spans a batch (as long as its POSTs take: milliseconds to a few seconds
with peers that answer, normally well within the lease). A repeat is harmless: every activity has
a stable id and allies store a received activity once (a repeat is a no-op), so at worst an ally
ignores a duplicate. Nothing is ever lost: a delivery leaves the queue only once its outcome is stored.

Outcomes: 2xx delivered; 4xx other than 401/408/429 failed for good; anything else (including a
network error) is retried after about n⁴ + 15 s with jitter, or after `Retry-After`, for 16 attempts.
A peer failing 5 times in a row trips its breaker: its deliveries wait, longer each time (≤ 1 h).

The same worker applies what the inbox received (inbox.py) at the start of each round.

An idle worker holds no lock and waits for a commit (see `Waker`): on PostgreSQL `enqueue_activity`
(and the inbox's `store_item`) NOTIFY in their transaction and the worker LISTENs, so it wakes when that
commits; on SQLite
it checks `PRAGMA data_version` every `FEDERATION_WORKER_POLL` seconds. It looks at the queue anyway
every `FEDERATION_WORKER_IDLE_MAX` seconds (retries and backfills coming due).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import DBAPIError

from coopol.core.time import utcnow
from coopol.core.uow import unit_of_work
from coopol.core.worker import add_worker_task, worker_tasks  # noqa: F401 - add_worker_task re-exported
from coopol.extensions import db
from coopol.federation.actors import signer_for
from coopol.federation.backoff import backoff_seconds, retry_scale
from coopol.federation.inbox import apply_queued
from coopol.federation.models import DELIVERY, Ally, Delivery, Follower, OutboxActivity
from coopol.federation.outbox import NOTIFY_CHANNEL
from coopol.federation.protocol import ACTIVITY_JSON, is_handshake
from coopol.federation.transport import TransportError, UnsafeURL, signed_request

log = logging.getLogger("coopol.federation.delivery")

MAX_ATTEMPTS = 16
BREAKER_THRESHOLD = 5
BREAKER_MAX_SECONDS = 3600
MAX_RETRY_AFTER_SECONDS = 86400
RETRYABLE_CLIENT_ERRORS = frozenset({401, 408, 429})
ACTIVE = ("pending", "retrying")
DATABASE_DOWN_SECONDS = 5.0


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            return None
    return max(0.0, min(seconds, MAX_RETRY_AFTER_SECONDS))


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    state: str
    status: int | None = None
    error: str = ""


@dataclass(frozen=True)
class Job:
    """Everything one POST needs, read in the batch's read transaction."""

    delivery_id: int
    inbox_url: str
    body: bytes
    key_id: str
    private_pem: str


@dataclass(frozen=True)
class Sent:
    """What came back from one POST (`final_error`: refused before sending, never to be retried)."""

    delivery_id: int
    status: int | None = None
    error: str = ""
    retry_after: str | None = None
    final_error: str | None = None


def claim_due(limit: int = 20, ids: list[int] | None = None) -> list[int]:
    """Lease up to `limit` due deliveries (or exactly `ids`, when due or not) to this worker."""
    now = utcnow()
    with unit_of_work():
        query = (select(Delivery.id)
                 .outerjoin(Ally, Ally.host == Delivery.host)
                 .where(Delivery.state.in_(ACTIVE),
                        or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now))
                 .order_by(Delivery.next_attempt_at, Delivery.id)
                 .limit(limit)
                 .with_for_update(skip_locked=True, of=Delivery))
        if ids is not None:
            query = query.where(Delivery.id.in_(ids))
        else:
            query = query.where(Delivery.next_attempt_at <= now,
                                or_(Ally.breaker_until.is_(None), Ally.breaker_until <= now))
        claimed = list(db.session.scalars(query))
        if claimed:
            lease = now + timedelta(seconds=current_app.config["FEDERATION_DELIVERY_LEASE"])
            db.session.execute(Delivery.__table__.update().where(Delivery.id.in_(claimed))
                               .values(claimed_until=lease))
    return claimed


def load_batch(delivery_ids: list[int]) -> tuple[list[Job], list[Outcome]]:
    """Read a claimed batch in one transaction: the POSTs to make, and the outcomes already known
    (gone or no longer active meanwhile; cancelled because the alliance ended; failed: cannot sign)."""
    jobs: list[Job] = []
    settled: list[Outcome] = []
    with unit_of_work():
        rows = db.session.execute(
            select(Delivery.id, Delivery.state, Delivery.inbox_url, Delivery.host, Delivery.activity_id,
                   OutboxActivity.actor, OutboxActivity.payload)
            .join(OutboxActivity, OutboxActivity.id == Delivery.activity_id)
            .where(Delivery.id.in_(delivery_ids))).all()
        by_id = {row.id: row for row in rows}
        hosts = {row.host for row in rows}
        allied = set(db.session.scalars(select(Ally.host).where(
            Ally.host.in_(hosts), Ally.outgoing == "accepted", Ally.incoming == "accepted"))) if hosts else set()
        # Fediverse followers (not allies) receive the Group's Announces only (followers.py).
        followed = set(db.session.scalars(select(Follower.host).where(
            Follower.host.in_(hosts - allied), Follower.state == "accepted").distinct())) if hosts - allied else set()
        bodies: dict[int, tuple[bytes, bool]] = {}
        signers: dict[str, tuple[str, str] | ValueError] = {}
        to_finish: dict[int, tuple[str, str]] = {}
        for delivery_id in delivery_ids:
            row = by_id.get(delivery_id)
            if row is None:
                settled.append(Outcome(delivery_id, "missing"))
                continue
            if row.state not in ACTIVE:
                settled.append(Outcome(delivery_id, row.state))
                continue
            if row.activity_id not in bodies:
                bodies[row.activity_id] = (json.dumps(row.payload, separators=(",", ":")).encode("utf-8"),
                                           is_handshake(row.payload))
            body, handshake = bodies[row.activity_id]
            if not handshake and row.host not in allied and not (
                    row.host in followed and row.payload.get("type") == "Announce"):
                to_finish[delivery_id] = ("cancelled", "the alliance with this host has ended")
                settled.append(Outcome(delivery_id, "cancelled"))
                continue
            if row.actor not in signers:
                try:
                    signers[row.actor] = signer_for(row.actor)
                except ValueError as error:
                    signers[row.actor] = error
            signer = signers[row.actor]
            if isinstance(signer, ValueError):
                to_finish[delivery_id] = ("failed", str(signer))
                settled.append(Outcome(delivery_id, "failed", error=str(signer)))
                continue
            jobs.append(Job(delivery_id, row.inbox_url, body, *signer))
        if to_finish:
            for delivery in db.session.scalars(select(Delivery).where(Delivery.id.in_(list(to_finish)))):
                _finish(delivery, to_finish[delivery.id][0], None, to_finish[delivery.id][1])
    return jobs, settled


def post(job: Job) -> Sent:
    """Sign and POST one delivery (no database access: runs on the worker's threads)."""
    try:
        result = signed_request("POST", job.inbox_url, key_id=job.key_id, private_key_pem=job.private_pem,
                                body=job.body, headers={"Content-Type": ACTIVITY_JSON, "Accept": ACTIVITY_JSON},
                                max_body=64 * 1024)
    except UnsafeURL as exc:
        return Sent(job.delivery_id, final_error=f"refused by the address policy: {exc}")
    except TransportError as exc:
        return Sent(job.delivery_id, error=str(exc))
    status = result.status
    error = "" if 200 <= status < 300 else f"HTTP {status}: {result.body[:300].decode('utf-8', 'replace')}"
    return Sent(job.delivery_id, status, error, result.header("retry-after"))


def _finish(delivery: Delivery, state: str, status: int | None, error: str) -> None:
    DELIVERY.check(delivery.state, state)
    delivery.state = state
    delivery.last_status = status
    delivery.last_error = error[:2000]
    delivery.claimed_until = None
    if state == "delivered":
        delivery.delivered_at = utcnow()


def record_outcomes(results: Iterable[Sent]) -> list[Outcome]:
    """Store what the POSTs of a batch came to, in one transaction, in order (the breaker counts)."""
    results = list(results)
    if not results:
        return []
    now = utcnow()
    with unit_of_work():
        deliveries = {row.id: row for row in db.session.scalars(
            select(Delivery).where(Delivery.id.in_([sent.delivery_id for sent in results])))}
        hosts = {row.host for row in deliveries.values()}
        allies = {ally.host: ally for ally in db.session.scalars(select(Ally).where(Ally.host.in_(hosts)))} \
            if hosts else {}
        return [_apply(deliveries.get(sent.delivery_id), sent, allies, now) for sent in results]


def _apply(delivery: Delivery | None, sent: Sent, allies: dict[str, Ally], now: datetime) -> Outcome:
    status, error = sent.status, sent.error
    if delivery is None or delivery.state not in ACTIVE:  # cancelled meanwhile (alliance revoked), or gone
        return Outcome(sent.delivery_id, delivery.state if delivery else "missing", status, error)
    ally = allies.get(delivery.host)
    delivery.attempts += 1
    if sent.final_error is not None:
        _finish(delivery, "failed", None, sent.final_error)
        return Outcome(delivery.id, "failed", None, sent.final_error)
    if status is not None and 200 <= status < 300:
        _finish(delivery, "delivered", status, "")
        if ally is not None:
            ally.last_success_at = now
            ally.consecutive_failures = 0
            ally.breaker_until = None
        return Outcome(delivery.id, "delivered", status)
    if status is not None and 400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS:
        _finish(delivery, "failed", status, error)
        if ally is not None:
            ally.last_failure_at, ally.last_error = now, error[:2000]
        return Outcome(delivery.id, "failed", status, error)
    # Retryable: the peer is down, slow, overloaded, or asks us to wait.
    if ally is not None:
        ally.last_failure_at, ally.last_error = now, error[:2000]
        if status != 429:
            ally.consecutive_failures += 1
            if ally.consecutive_failures >= BREAKER_THRESHOLD:
                pause = min(60 * 2 ** (ally.consecutive_failures - BREAKER_THRESHOLD), BREAKER_MAX_SECONDS) \
                    * retry_scale()
                ally.breaker_until = now + timedelta(seconds=pause)
    if delivery.attempts >= MAX_ATTEMPTS:
        _finish(delivery, "failed", status, f"gave up after {delivery.attempts} attempts: {error}")
        return Outcome(delivery.id, "failed", status, error)
    delay = parse_retry_after(sent.retry_after, now)
    if delay is None:
        delay = backoff_seconds(delivery.attempts)
    _finish(delivery, "retrying", status, error)
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    return Outcome(delivery.id, "retrying", status, error)


def deliver_batch(delivery_ids: list[int], pool: Executor | None = None) -> list[Outcome]:
    """Attempt claimed deliveries once: read them, POST them (on `pool`'s threads, if given), record."""
    if not delivery_ids:
        return []
    jobs, outcomes = load_batch(delivery_ids)
    if pool is None or len(jobs) < 2:
        results = [post(job) for job in jobs]
    else:
        results = list(pool.map(_with_app_context(current_app._get_current_object(), post), jobs))
    outcomes += record_outcomes(results)
    order = {delivery_id: i for i, delivery_id in enumerate(delivery_ids)}
    return sorted(outcomes, key=lambda outcome: order.get(outcome.delivery_id, 0))


def deliver_now(delivery_ids: list[int]) -> list[Outcome]:
    """Try the given deliveries once, right away (CLI commands); failures stay queued for the worker."""
    return deliver_batch(claim_due(len(delivery_ids), ids=delivery_ids))


def _with_app_context(app: Flask, fn: Callable[[Job], Sent]) -> Callable[[Job], Sent]:
    def run(job: Job) -> Sent:
        with app.app_context():
            try:
                return fn(job)
            except Exception as error:  # noqa: BLE001 - one bad delivery must not stop the batch
                log.exception("delivery %s crashed", job.delivery_id)
                return Sent(job.delivery_id, error=f"{type(error).__name__}: {error}")

    return run


def _run_tasks(app: Flask) -> int:
    done = 0
    for task in worker_tasks(app):
        try:
            done += task()
        except DBAPIError:
            raise
        except Exception:  # noqa: BLE001 - one failing task must not stop the deliveries
            log.exception("worker task %s crashed", getattr(task, "__name__", task))
        finally:
            db.session.remove()
    return done


class Waker:
    """How an idle worker waits for work, without holding any lock meanwhile.

    PostgreSQL: LISTEN on a connection of its own; the NOTIFY that `enqueue_activity` (or the inbox's
    `store_item`) issues in its transaction arrives when that transaction commits. SQLite (a file): every
    `poll` seconds, `PRAGMA data_version` on a connection of its own (no transaction, no lock) tells whether anyone
    committed since the worker last looked. Either way it looks at the queue anyway after `idle_max`
    seconds (retries and backfills coming due); without such a connection it just sleeps `poll`."""

    def __init__(self, stop: threading.Event, poll: float, idle_max: float) -> None:
        self.stop, self.poll, self.idle_max = stop, poll, idle_max
        self.connection: Any = None
        self.seen: int | None = None
        url = db.engine.url
        self.kind = db.engine.dialect.name
        if self.kind == "sqlite" and (url.database in (None, "", ":memory:") or "mode=memory" in str(url)):
            self.kind = ""  # a private in-memory database: nobody else can commit to it
        self._connect()

    def _connect(self) -> None:
        if self.kind not in ("postgresql", "sqlite") or self.connection is not None:
            return
        try:
            proxied = db.engine.raw_connection()
            proxied.detach()  # ours alone: never handed back to the pool (with a LISTEN on it)
            connection = proxied.dbapi_connection
            if self.kind == "postgresql":
                connection.autocommit = True
                connection.execute(f"LISTEN {NOTIFY_CHANNEL}")
            self.connection = connection
        except Exception:  # noqa: BLE001 - the database is down: sleep and poll until it is back
            log.warning("cannot watch the database for new deliveries; polling every %s s", self.poll,
                        exc_info=True)
            self.close()

    def _data_version(self) -> int:
        return self.connection.execute("PRAGMA data_version").fetchone()[0]

    def arm(self) -> None:
        """Before looking at the queue: what is committed from now on will wake the next wait."""
        self._connect()
        if self.kind == "sqlite" and self.connection is not None:
            try:
                self.seen = self._data_version()
            except Exception:  # noqa: BLE001
                log.warning("lost the watching connection; polling meanwhile", exc_info=True)
                self.close()

    def wait(self) -> bool:
        """Wait until woken (True) or `idle_max` (or `poll`, when not watching) has passed (False)."""
        if self.connection is None:
            self.stop.wait(self.poll)
            return False
        deadline = time.monotonic() + self.idle_max
        try:
            while not self.stop.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if self.kind == "postgresql":
                    # In steps, so that a stop request is noticed within half a second.
                    # list(): the generator holds the connection's lock until it is exhausted.
                    if list(self.connection.notifies(timeout=min(remaining, 0.5), stop_after=1)):
                        list(self.connection.notifies(timeout=0.001))  # one look serves all those queued
                        return True
                else:
                    self.stop.wait(min(remaining, self.poll))
                    if self._data_version() != self.seen:
                        return True
        except Exception:  # noqa: BLE001 - the connection broke: poll meanwhile, reconnect next time
            log.warning("lost the watching connection; polling meanwhile", exc_info=True)
            self.close()
            self.stop.wait(self.poll)
        return False

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except Exception:  # noqa: BLE001,S110 - it is being thrown away
                pass


def run_worker(*, once: bool = False, batch: int = 20, concurrency: int = 4, poll_seconds: float | None = None,
               stop: threading.Event | None = None, report: Callable[[Outcome], None] | None = None) -> int:
    """Deliver until stopped (or, with `once`, until nothing is due); returns the attempts made.

    Each round first applies the activities the inbox received, in order of arrival, and retries those
    whose applying errored (see `inbox.apply_queued`), then delivers, then runs the tasks added with
    `add_worker_task` (backfills). Idle, it waits for a commit (see `Waker`): an inbox item stored wakes
    it as a delivery queued does. `poll_seconds` overrides `FEDERATION_WORKER_POLL`."""
    app = current_app._get_current_object()
    poll = float(app.config["FEDERATION_WORKER_POLL"] if poll_seconds is None else poll_seconds)
    stop = stop or threading.Event()
    attempts = 0
    waker = None if once else Waker(stop, poll, float(app.config["FEDERATION_WORKER_IDLE_MAX"]))
    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="coopol-delivery") as pool:
            while not stop.is_set():
                if waker is not None:
                    waker.arm()
                try:
                    # Received activities first: what they cause (an Announce to every ally) then goes out
                    # in this same round.
                    applied = apply_queued(batch)
                    claimed = claim_due(batch)
                    for outcome in _deliver_safely(claimed, pool):
                        attempts += 1
                        if report:
                            report(outcome)
                    applied += _run_tasks(app)
                except DBAPIError:
                    if once:
                        raise
                    # The database restarts or fails over: keep the worker, try again shortly.
                    log.exception("database unavailable; the worker retries in %s s", DATABASE_DOWN_SECONDS)
                    db.session.remove()
                    stop.wait(DATABASE_DOWN_SECONDS)
                    continue
                finally:
                    db.session.remove()
                if not claimed and not applied:
                    if once:
                        break
                    waker.wait()
    finally:
        if waker is not None:
            waker.close()
    return attempts


def _deliver_safely(claimed: list[int], pool: Executor) -> list[Outcome]:
    """A batch; if it crashes (a bug, a bad row), each delivery is tried alone, so that one bad row
    does not hold up the others (it stays claimed until its lease runs out, and is tried again)."""
    try:
        return deliver_batch(claimed, pool)
    except DBAPIError:
        raise
    except Exception:  # noqa: BLE001 - one bad delivery must not stop the worker
        log.exception("a batch of deliveries crashed; trying them one by one: %s", claimed)
        db.session.remove()
    outcomes = []
    for delivery_id in claimed:
        try:
            outcomes.extend(deliver_batch([delivery_id]))
        except DBAPIError:
            raise
        except Exception as error:  # noqa: BLE001
            log.exception("delivery %s crashed", delivery_id)
            outcomes.append(Outcome(delivery_id, "error", error=str(error)))
        finally:
            db.session.remove()
    return outcomes
