"""Concurrent RSVPs for the last places: exactly `capacity` people end up going, the rest on the waitlist,
and the counters equal the rows, on SQLite and on PostgreSQL. First with threads calling the service in
separate sessions (fast, always run), then with real concurrent HTTP requests against a real server."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from werkzeug.serving import make_server

from tests.events.conftest import assert_counts_match

PEOPLE, CAPACITY = 12, 3


def _statuses(app, event_id):
    from coopol.events.models import Rsvp
    from coopol.extensions import db

    with app.app_context():
        rows = db.session.query(Rsvp.status).filter_by(event_id=event_id).all()
        db.session.remove()
    return sorted(status for (status,) in rows)


def test_threads_racing_for_the_last_places(app, member, create_event):
    from coopol.accounts.services import get_member_by_handle
    from coopol.events import rsvps
    from coopol.events.services import find_event
    from coopol.extensions import db

    host = member("host")
    handles = [f"racer{n}" for n in range(PEOPLE)]
    for handle in handles:
        member(handle)
    event_id = create_event(host, capacity=CAPACITY)["id"]
    start, outcomes = threading.Barrier(PEOPLE), []

    def race(handle: str) -> None:
        with app.test_request_context(method="PUT"):  # a session and connection of its own, as a PUT
            start.wait()
            try:
                status = rsvps.rsvp(find_event(event_id), get_member_by_handle(handle))
                db.session.commit()
                outcomes.append(status)
            except Exception as error:  # noqa: BLE001 - the assertion below shows what failed
                db.session.rollback()
                outcomes.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=race, args=(h,)) for h in handles]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes) == ["going"] * CAPACITY + ["waitlisted"] * (PEOPLE - CAPACITY), outcomes
    assert _statuses(app, event_id) == ["going"] * CAPACITY + ["waitlisted"] * (PEOPLE - CAPACITY)
    assert_counts_match(app)


@pytest.fixture
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.mark.slow
def test_concurrent_http_rsvps_and_leaves_keep_capacity(app, served, member, create_event):
    host = member("host")
    people = [member(f"guest{n}") for n in range(PEOPLE)]
    event_id = create_event(host, capacity=CAPACITY)["id"]
    url = f"{served}/api/v1/events/{event_id}/rsvp"

    def send(args):
        method, headers = args
        with requests.Session() as session:
            return session.request(method, url, headers=headers, json={}, timeout=60).json()["status"]

    with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
        answers = list(pool.map(send, [("PUT", h) for h in people] * 2))  # everyone twice, at once
    assert sorted(answers[:PEOPLE]) == sorted(answers[PEOPLE:])  # the second RSVP changed nothing
    assert answers.count("going") == 2 * CAPACITY
    assert _statuses(app, event_id) == ["going"] * CAPACITY + ["waitlisted"] * (PEOPLE - CAPACITY)
    # Half leave while the other half RSVP again: places free and the waitlist moves up, never above capacity.
    with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
        list(pool.map(send, [("DELETE" if n % 2 else "PUT", h) for n, h in enumerate(people)]))
    statuses = _statuses(app, event_id)
    assert statuses.count("going") == CAPACITY and len(statuses) == PEOPLE // 2
    assert_counts_match(app)
