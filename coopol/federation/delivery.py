"""Delivery workers: claim due deliveries, sign, POST, record the outcome.

Claiming marks rows with a lease (`claimed_until`) in a short transaction: on PostgreSQL the rows are
selected `FOR UPDATE SKIP LOCKED`, so any number of workers share the queue; on SQLite the worker's
transaction starts with `BEGIN IMMEDIATE`, which serialises claims. No transaction is open while a
request is in flight, and a worker that dies leaves rows whose lease simply runs out.

Outcomes: 2xx delivered; 4xx other than 401/408/429 failed for good; anything else (including a
network error) is retried after about n⁴ + 15 s with jitter, or after `Retry-After`, for 16 attempts.
A peer failing 5 times in a row trips its breaker: its deliveries wait, longer each time (≤ 1 h).
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from flask import Flask, current_app
from sqlalchemy import or_, select
from sqlalchemy.exc import DBAPIError

from coopol.core.time import utcnow
from coopol.core.uow import unit_of_work
from coopol.extensions import db
from coopol.federation.actors import signer_for
from coopol.federation.models import DELIVERY, Ally, Delivery
from coopol.federation.protocol import ACTIVITY_JSON, is_handshake
from coopol.federation.transport import TransportError, UnsafeURL, signed_request

log = logging.getLogger("coopol.federation.delivery")

MAX_ATTEMPTS = 16
BREAKER_THRESHOLD = 5
BREAKER_MAX_SECONDS = 3600
MAX_RETRY_AFTER_SECONDS = 86400
RETRYABLE_CLIENT_ERRORS = frozenset({401, 408, 429})
ACTIVE = ("pending", "retrying")


def backoff_seconds(attempts: int, rng: random.Random | None = None) -> float:
    """Delay after the `attempts`-th failed attempt: n⁴ + 15 s plus up to 10·(n+1) s of jitter."""
    jitter = (rng or random).randint(0, 10) * (attempts + 1)
    return attempts ** 4 + 15 + jitter


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
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
        for delivery in db.session.scalars(select(Delivery).where(Delivery.id.in_(claimed))):
            delivery.claimed_until = now + timedelta(seconds=current_app.config["FEDERATION_DELIVERY_LEASE"])
    return claimed


def _prepare(delivery_id: int) -> tuple[Delivery, bytes, str, str] | Outcome:
    """Read what to send; a delivery to a host that is no longer allied is cancelled instead."""
    with unit_of_work():
        delivery = db.session.get(Delivery, delivery_id)
        if delivery is None or delivery.state not in ACTIVE:
            return Outcome(delivery_id, delivery.state if delivery else "missing")
        activity = delivery.activity
        ally = db.session.scalar(select(Ally).where(Ally.host == delivery.host))
        if not is_handshake(activity.payload) and not (ally and ally.is_allied):
            _finish(delivery, "cancelled", None, "the alliance with this host has ended")
            return Outcome(delivery_id, "cancelled")
        try:
            key_id, private_pem = signer_for(activity.actor)
        except ValueError as error:
            _finish(delivery, "failed", None, str(error))
            return Outcome(delivery_id, "failed", error=str(error))
        body = json.dumps(activity.payload, separators=(",", ":")).encode("utf-8")
        db.session.expunge(delivery)
        return delivery, body, key_id, private_pem


def _finish(delivery: Delivery, state: str, status: int | None, error: str) -> None:
    DELIVERY.check(delivery.state, state)
    delivery.state = state
    delivery.last_status = status
    delivery.last_error = error[:2000]
    delivery.claimed_until = None
    if state == "delivered":
        delivery.delivered_at = utcnow()


def attempt_delivery(delivery_id: int) -> Outcome:
    """One attempt: sign and POST (no transaction open meanwhile), then record the outcome."""
    prepared = _prepare(delivery_id)
    if isinstance(prepared, Outcome):
        return prepared
    delivery, body, key_id, private_pem = prepared
    status: int | None = None
    retry_after: str | None = None
    try:
        result = signed_request("POST", delivery.inbox_url, key_id=key_id, private_key_pem=private_pem, body=body,
                                headers={"Content-Type": ACTIVITY_JSON, "Accept": ACTIVITY_JSON},
                                max_body=64 * 1024)
        status, retry_after = result.status, result.header("retry-after")
        error = "" if 200 <= status < 300 else f"HTTP {status}: {result.body[:300].decode('utf-8', 'replace')}"
    except UnsafeURL as exc:
        return _record(delivery_id, final_error=f"refused by the address policy: {exc}")
    except TransportError as exc:
        error = str(exc)
    return _record(delivery_id, status=status, error=error, retry_after=retry_after)


def _record(delivery_id: int, *, status: int | None = None, error: str = "", retry_after: str | None = None,
            final_error: str | None = None) -> Outcome:
    now = utcnow()
    with unit_of_work():
        delivery = db.session.get(Delivery, delivery_id)
        if delivery is None or delivery.state not in ACTIVE:  # cancelled meanwhile (alliance revoked)
            return Outcome(delivery_id, delivery.state if delivery else "missing", status, error)
        ally = db.session.scalar(select(Ally).where(Ally.host == delivery.host))
        delivery.attempts += 1
        if final_error is not None:
            _finish(delivery, "failed", None, final_error)
            return Outcome(delivery_id, "failed", None, final_error)
        if status is not None and 200 <= status < 300:
            _finish(delivery, "delivered", status, "")
            if ally is not None:
                ally.last_success_at = now
                ally.consecutive_failures = 0
                ally.breaker_until = None
            return Outcome(delivery_id, "delivered", status)
        if status is not None and 400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS:
            _finish(delivery, "failed", status, error)
            if ally is not None:
                ally.last_failure_at, ally.last_error = now, error[:2000]
            return Outcome(delivery_id, "failed", status, error)
        # Retryable: the peer is down, slow, overloaded, or asks us to wait.
        if ally is not None:
            ally.last_failure_at, ally.last_error = now, error[:2000]
            if status != 429:
                ally.consecutive_failures += 1
                if ally.consecutive_failures >= BREAKER_THRESHOLD:
                    pause = min(60 * 2 ** (ally.consecutive_failures - BREAKER_THRESHOLD), BREAKER_MAX_SECONDS)
                    ally.breaker_until = now + timedelta(seconds=pause)
        if delivery.attempts >= MAX_ATTEMPTS:
            _finish(delivery, "failed", status, f"gave up after {delivery.attempts} attempts: {error}")
            return Outcome(delivery_id, "failed", status, error)
        delay = parse_retry_after(retry_after, now)
        if delay is None:
            delay = backoff_seconds(delivery.attempts)
        _finish(delivery, "retrying", status, error)
        delivery.next_attempt_at = now + timedelta(seconds=delay)
        return Outcome(delivery_id, "retrying", status, error)


def deliver_now(delivery_ids: list[int]) -> list[Outcome]:
    """Try the given deliveries once, right away (CLI commands); failures stay queued for the worker."""
    return [attempt_delivery(delivery_id) for delivery_id in claim_due(len(delivery_ids), ids=delivery_ids)]


def _in_app_context(app: Flask, fn: Callable[[int], Outcome]) -> Callable[[int], Outcome]:
    def run(delivery_id: int) -> Outcome:
        with app.app_context():
            try:
                return fn(delivery_id)
            except Exception as error:  # one bad delivery must not stop the worker
                log.exception("delivery %s crashed", delivery_id)
                return Outcome(delivery_id, "error", error=str(error))
            finally:
                db.session.remove()

    return run


WORKER_TASKS = "coopol.federation.worker_tasks"


def add_worker_task(app: Flask, task: Callable[[], int]) -> None:
    """More work for the worker between rounds of deliveries (a backfill page, say): `task()` does a
    bounded amount and returns how much (0: nothing due)."""
    app.extensions.setdefault(WORKER_TASKS, []).append(task)


def _run_tasks(app: Flask) -> int:
    done = 0
    for task in app.extensions.get(WORKER_TASKS, ()):
        try:
            done += task()
        except DBAPIError:
            raise
        except Exception:  # noqa: BLE001 - one failing task must not stop the deliveries
            log.exception("worker task %s crashed", getattr(task, "__name__", task))
        finally:
            db.session.remove()
    return done


def run_worker(*, once: bool = False, batch: int = 20, concurrency: int = 4, poll_seconds: float = 1.0,
               stop: threading.Event | None = None, report: Callable[[Outcome], None] | None = None) -> int:
    """Deliver until stopped (or, with `once`, until nothing is due); returns the attempts made.

    Also retries received activities whose processing errored (see `inbox.retry_errored`), and runs the
    tasks added with `add_worker_task` (backfills)."""
    from coopol.federation.inbox import retry_errored

    app = current_app._get_current_object()
    stop = stop or threading.Event()
    attempts = 0
    run = _in_app_context(app, attempt_delivery)
    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="coopol-delivery") as pool:
        while not stop.is_set():
            try:
                claimed = claim_due(batch)
                for outcome in pool.map(run, claimed):
                    attempts += 1
                    if report:
                        report(outcome)
                retried = retry_errored(batch)
                retried += _run_tasks(app)
            except DBAPIError:
                if once:
                    raise
                # The database restarts or fails over: keep the worker, try again shortly.
                log.exception("database unavailable; the worker retries in %s s", poll_seconds * 5)
                db.session.remove()
                stop.wait(poll_seconds * 5)
                continue
            if not claimed and not retried:
                if once:
                    break
                stop.wait(poll_seconds)
    return attempts
