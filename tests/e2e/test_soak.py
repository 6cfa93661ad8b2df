"""Soaks: mixed reads and writes from 64 connections against a real gunicorn instance (bench/soak.py),
then every acknowledged write must be stored and every idea's tally must equal its vote rows; the
same with a PostgreSQL server of its own stopped and restarted mid-run (only JSON 503s with
Retry-After meanwhile, served again right after), and with a delivery worker SIGKILLed mid-batch
(nothing lost, nothing applied twice by the receiving ally).

Each run lasts COOPOL_TEST_SOAK_SECONDS (default 20; `python -m bench --soak` runs 60 s) and stops by
itself; everything listens on 127.0.0.1 only. The PostgreSQL restarted here is a throw-away server
(initdb in a temporary folder, free port), never the shared one.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench import soak
from bench.soak import ThrowawayPostgres, postgres_bin, run_load

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

SOAK_SECONDS = float(os.environ.get("COOPOL_TEST_SOAK_SECONDS") or 20)
CONNECTIONS = int(os.environ.get("COOPOL_TEST_SOAK_CONNECTIONS") or 64)
PG_ADMIN_URL = os.environ.get("COOPOL_TEST_DATABASE_URL")
needs_postgres_binaries = pytest.mark.skipif(postgres_bin() is None,
                                             reason="no PostgreSQL server binaries in /usr/lib/postgresql")


def assert_held(result: dict) -> None:
    report = soak.format_result(result)
    assert result["members"] == CONNECTIONS, report
    assert result["acknowledged_writes"] > CONNECTIONS, report  # more than the registrations
    assert result["ideas"] and result["comments"] and result["votes_settled"], report
    assert result["problems"] == [], report  # no HTML, no 500, no 503 without Retry-After, no dropped connection
    assert result["lost"] == [], report  # every acknowledged write stored; every tally equals its rows


@pytest.mark.timeout(300)
def test_a_soak_on_sqlite_loses_nothing(tmp_path):
    result = soak.soak(tmp_path, None, duration=SOAK_SECONDS, connections=CONNECTIONS)
    print(soak.format_result(result))
    assert_held(result)
    assert result["unavailable_503"] == 0, soak.format_result(result)


@pytest.mark.timeout(300)
@pytest.mark.skipif(not PG_ADMIN_URL and postgres_bin() is None, reason="no PostgreSQL")
def test_a_soak_on_postgresql_loses_nothing(tmp_path):
    server = None if PG_ADMIN_URL else ThrowawayPostgres()
    try:
        if server is not None:
            server.start()
        result = soak.soak(tmp_path, PG_ADMIN_URL or server.admin_url, duration=SOAK_SECONDS,
                           connections=CONNECTIONS)
    finally:
        if server is not None:
            server.dispose()
    print(soak.format_result(result))
    assert_held(result)
    assert result["unavailable_503"] == 0, soak.format_result(result)


@pytest.mark.timeout(300)
@needs_postgres_binaries
def test_postgresql_restarted_mid_soak_answers_503_then_recovers_losing_nothing(tmp_path):
    result = soak.soak(tmp_path, None, duration=SOAK_SECONDS, connections=CONNECTIONS, restart=True)
    print(soak.format_result(result))
    report = soak.format_result(result)
    assert result["restart"]["error"] is None, report
    assert result["unavailable_503"] > 0, report  # the clients did see the outage...
    assert set(result["statuses"]) <= {"200", "201", "503"}, report  # ...as JSON 503s with Retry-After only
    assert_held(result)
    assert result["restart"]["recovery_s"] <= 10, report  # served again by itself once the server was back


# ----------------------------------------------------------------------- a worker killed mid-batch

def _start(name: str, tmp_path: Path):
    """A real instance (`coopol run` + `coopol worker`, tests/e2e/conftest.py), without rate limits:
    the soak is one client on 127.0.0.1."""
    from tests.e2e.conftest import RealInstance, free_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPOL_") and k != "DATABASE_URL"}
    env.update(COOPOL_FEDERATION_DELIVERY_LEASE="15", COOPOL_PUBLIC_CACHE_SECONDS="0",
               COOPOL_RATELIMIT_ENABLED="false", COOPOL_ARGON2_TIME_COST="1", COOPOL_ARGON2_MEMORY_COST="1024",
               COOPOL_ARGON2_PARALLELISM="1")
    return RealInstance(name, tmp_path / name, free_port(), env).start()


def _app_of(instance):
    from coopol import create_app

    return create_app({"INSTANCE_PATH": str(instance.path), "TESTING": True,
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance.path / 'coopol.sqlite'}"})


def _scalar(app, statement):
    """One read of an instance's database from here (a GET's transaction: it never queues behind writers)."""
    from coopol.extensions import db

    with app.test_request_context("/"):
        try:
            return db.session.scalar(statement)
        finally:
            db.session.remove()


@pytest.mark.timeout(420)
def test_a_worker_killed_mid_batch_loses_and_duplicates_nothing(tmp_path):
    from coopol.extensions import db
    from coopol.federation.models import Delivery, InboxItem, QueuedVote
    from coopol.ideas.models import Comment, Idea

    a = _start("a", tmp_path)
    b = _start("b", tmp_path)
    try:
        a.coopol("allies", "request", b.url)
        b.coopol("allies", "accept", a.host)
        a.wait_for_status(b.host, "allied")
        b.wait_for_status(a.host, "allied")
        app_a, app_b = _app_of(a), _app_of(b)
        kills: list[int] = []

        def kill_mid_batch(_ledger) -> None:
            # Twice: wait for a claimed batch (leased rows still pending: POSTs in flight or outcomes
            # not yet recorded), SIGKILL the worker there, start another at once.
            for start_at in (0.3, 0.6):
                time.sleep(max(0.0, start_at * SOAK_SECONDS - (time.monotonic() - began)))
                deadline = time.monotonic() + SOAK_SECONDS
                while time.monotonic() < deadline:
                    claimed = _scalar(app_a, select(func.count(Delivery.id)).where(
                        Delivery.state == "pending", Delivery.claimed_until.is_not(None)))
                    if claimed:
                        worker = [p for p in a.processes if "worker" in p.log.name and p.popen.poll() is None][-1]
                        os.killpg(worker.popen.pid, signal.SIGKILL)
                        worker.popen.wait(10)
                        kills.append(claimed)
                        a.spawn(f"worker{len(kills) + 1}", "worker")
                        break
                    time.sleep(0.02)

        began = time.monotonic()
        ledger = run_load(a.url, duration=SOAK_SECONDS, connections=16, during=kill_mid_batch)
        result = {**soak.summary(ledger), "label": "worker-kill", "connections": 16, "lost": []}
        print(soak.format_result(result), f"\nworker killed {len(kills)} times with claimed rows: {kills}")
        assert len(kills) == 2, "no batch in flight to kill the worker in"
        assert ledger.problems == [], ledger.problems
        assert soak.verify(app_a, ledger) == []

        def settled() -> bool:
            # A's votes wait in its vote queue until its worker signs them; what B received waits in B's
            # inbox until B's worker applies it (both asynchronous): all three queues empty.
            return _scalar(app_a, select(func.count(QueuedVote.id))) == 0 and _scalar(
                app_a, select(func.count(Delivery.id)).where(Delivery.state.in_(("pending", "retrying")))) == 0 \
                and _scalar(app_b, select(func.count(InboxItem.id)).where(
                    InboxItem.state.in_(("received", "errored")))) == 0

        deadline = time.monotonic() + 240
        while not settled():
            assert time.monotonic() < deadline, "deliveries still queued"
            time.sleep(0.5)
        with app_a.test_request_context("/"):
            states = dict(db.session.execute(select(Delivery.state, func.count(Delivery.id))
                                             .group_by(Delivery.state)).all())
            ideas_a = {i.title: (i.support_count, i.oppose_count, i.comment_count)
                       for i in db.session.scalars(select(Idea).where(Idea.origin_host.is_(None)))}
            db.session.remove()
        assert set(states) == {"delivered"}, states  # none failed, none left
        with app_b.test_request_context("/"):
            copies = db.session.scalars(select(Idea).where(Idea.origin_host == a.host)).all()
            ideas_b = {i.title: (i.support_count, i.oppose_count, i.comment_count) for i in copies}
            comments_b = db.session.scalar(select(func.count(Comment.id)).where(Comment.origin_host == a.host))
            db.session.remove()
        assert len(copies) == len(ideas_a) == len(ledger.ideas)
        # Every comment applied exactly once, on every idea.
        assert {t: c for t, (_s, _o, c) in ideas_b.items()} == {t: c for t, (_s, _o, c) in ideas_a.items()}
        assert comments_b == len(ledger.comments)
        print(f"deliveries: {states}; ideas {len(ideas_a)}, comments {comments_b} on B")
        diverged = {t: (ideas_a[t], ideas_b[t]) for t in ideas_a if ideas_a[t][:2] != ideas_b[t][:2]}
        # Every vote as on A, though the killed worker's leased rows were resent after newer ones for the
        # same member and idea (B applies a person's votes in the order of their `published` times).
        assert diverged == {}, diverged
    finally:
        a.stop()
        b.stop()
