"""Backfills under fire: no network I/O while the backfilling instance holds a write transaction (on
SQLite: its writer lock), so two allies backfilling each other at once both finish; a job's first turn
that the ally refuses (403: it has not recorded the alliance yet) is tried again soon; and the key of a
signed fetch is fetched once, then taken from its cached copy (again only when it no longer verifies)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections import Counter
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.federation.conftest import run_handshake
from tests.federation.content.conftest import Party
from tests.federation.content.test_travel_ideas import publish


class Watch:
    """WSGI middleware around a live instance: counts the paths asked, and for each request checks
    whether `watched` (another instance's app) holds a write transaction at that moment."""

    def __init__(self, app: Any, watched: Any | None = None) -> None:
        self.app, self.watched = app, watched
        self.paths: Counter[str] = Counter()
        self.held: list[str] = []
        self.guard = threading.Lock()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        with self.guard:
            self.paths[path] += 1
        if self.watched is not None and writing(self.watched):
            with self.guard:
                self.held.append(f"{environ.get('REQUEST_METHOD')} {path}")
        return self.app(environ, start_response)


def writing(app: Any) -> bool:
    """Does some connection of `app` hold a write transaction (SQLite: the writer lock or a reserved
    database) or sit in an open transaction (PostgreSQL)?"""
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        fd = os.open(f"{url.database}-writelock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        probe = sqlite3.connect(url.database, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
            return False
        except sqlite3.OperationalError:
            return True
        finally:
            probe.close()
    engine = create_engine(url.set(database="postgres"))
    try:
        with engine.connect() as conn:
            return bool(conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
                                         "AND state LIKE 'idle in transaction%'"), {"db": url.database}))
    finally:
        engine.dispose()


def _debated(party: Party, who: str, title: str) -> None:
    """An idea of `party` with a comment, a vote on the idea and one on the comment."""
    party.member(who)
    idea = publish(party, who, title=title)
    comment = party.api("POST", f"/ideas/{idea['id']}/comments", as_=who, expect=201,
                        json={"body": f"{title}: yes.", "stance": "for"}).get_json()
    party.api("PUT", f"/ideas/{idea['id']}/vote", as_=who, json={"value": "support"}, expect=200)
    party.api("PUT", f"/comments/{comment['id']}/vote", as_=who, json={"value": "up"}, expect=200)
    party.build_votes()  # the worker signs them (before the alliance: no one to send them to yet)


def _backfill(party: Party, host: str, out: dict[str, Any]) -> None:
    from coopol.extensions import db
    from coopol.federation.content.backfill import backfill

    with party.app.app_context():
        try:
            out[party.host] = backfill(host)
        except Exception as error:  # noqa: BLE001 - reported by the test
            out[party.host] = error
        finally:
            db.session.remove()


def _allies(instance, *debated: str) -> tuple[Party, Party]:
    """A and B, each with the debated ideas named (before their alliance: only a backfill brings them)."""
    a, b = Party(instance("a")), Party(instance("b"))
    for party, title in zip((a, b), debated, strict=False):
        if title:
            _debated(party, f"{party.host[-1]}x{title[:3].lower()}", title)
    run_handshake(a.live, b.live)
    return a, b


def test_no_write_transaction_is_open_while_a_backfill_fetches(instance):
    a, b = _allies(instance, "", "Night buses")
    b_watch, a_watch = Watch(b.live.served.app, a.app), Watch(a.live.served.app, a.app)
    b.live.served.app, a.live.served.app = b_watch, a_watch

    out: dict[str, Any] = {}
    _backfill(a, b.host, out)

    result = out[a.host]
    assert not isinstance(result, Exception), result
    assert result.comments == 1 and result.votes == 2
    assert b_watch.paths["/comments/1/likes"] >= 1  # the signed, ally-only collections were read
    assert b_watch.held == [] and a_watch.held == []


def test_two_allies_backfilling_each_other_at_once_both_finish(instance):
    a, b = _allies(instance, "Solar roofs", "Night buses")
    out: dict[str, Any] = {}
    threads = [threading.Thread(target=_backfill, args=(a, b.host, out)),
               threading.Thread(target=_backfill, args=(b, a.host, out))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for party in (a, b):
        result = out[party.host]
        assert not isinstance(result, Exception), result
        assert (result.stored, result.comments, result.votes) == (1, 1, 2), party.host


def test_the_key_of_signed_fetches_is_fetched_once_and_again_only_after_a_rotation(instance):
    from coopol.federation.keys import KEY_DIR
    from coopol.federation.signatures import generate_rsa_keypair

    a, b = _allies(instance, "", "Night buses")
    a_watch, b_watch = Watch(a.live.served.app), Watch(b.live.served.app)
    a.live.served.app, b.live.served.app = a_watch, b_watch
    out: dict[str, Any] = {}
    _backfill(a, b.host, out)
    assert out[a.host].votes == 2
    signed_gets = sum(n for path, n in b_watch.paths.items() if path.endswith("/likes"))
    assert signed_gets == 4  # the likes of the idea and of the comment, each a collection and its page
    assert a_watch.paths["/actor"] == 1  # B fetched A's key once, not once per signed GET

    # A rotates its instance key: B's copy no longer verifies, so B fetches the new one (once).
    private, _public = generate_rsa_keypair()
    key_dir = os.path.join(a.app.instance_path, KEY_DIR)
    for name in ("instance.pem", "instance.pub.pem"):
        os.unlink(os.path.join(key_dir, name))
    with open(os.path.join(key_dir, "instance.pem"), "w") as fh:
        fh.write(private)
    a.app.extensions.get("coopol.federation.keys", {}).pop("instance", None)  # as a restart would
    _backfill(a, b.host, out)
    assert not isinstance(out[a.host], Exception), out[a.host]
    assert a_watch.paths["/actor"] == 2


def _set_outgoing(party: Party, host: str, outgoing: str) -> None:
    from sqlalchemy import update

    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.federation.models import Ally

    def write():
        with unit_of_work():
            db.session.execute(update(Ally).where(Ally.host == host).values(outgoing=outgoing))

    party.query(write)


def _job_turn(party: Party):
    """Run one turn of the worker's backfill step (the job made due first) and return the job."""
    from sqlalchemy import select, update

    from coopol.core.time import utcnow
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.federation.content.backfill import run_backfill_step
    from coopol.federation.models import Backfill

    def turn():
        with unit_of_work():
            db.session.execute(update(Backfill).values(next_attempt_at=utcnow()))
        assert run_backfill_step() == 1
        job = db.session.scalar(select(Backfill))
        db.session.expunge(job)
        return job, utcnow()

    return party.query(turn)


def test_a_first_turn_the_ally_refuses_because_it_is_not_done_allying_is_tried_again_within_seconds(instance):
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.federation.content.backfill import NOT_YET_MAX_DELAY, queue_backfill

    a, b = _allies(instance, "", "Night buses")
    _set_outgoing(b, a.host, "pending")  # B has not yet received A's Accept: it refuses A's signed GETs

    def queue():
        with unit_of_work():
            queue_backfill(b.host)
        db.session.remove()

    a.query(queue)
    job, now = _job_turn(a)
    assert job.state == "queued" and "has not recorded the alliance yet" in job.error and "403" in job.error
    assert job.attempts == 0  # not a failure of the ally's: the job does not get closer to giving up
    assert (job.next_attempt_at - now).total_seconds() <= NOT_YET_MAX_DELAY  # not the 15-35 s of a failure

    _set_outgoing(b, a.host, "accepted")  # B records the alliance: the next turn gets the votes
    for _ in range(5):
        job, _now = _job_turn(a)
        if job.state == "done":
            break
    assert job.state == "done" and job.votes == 2 and job.comments == 1, (job.state, job.error)
