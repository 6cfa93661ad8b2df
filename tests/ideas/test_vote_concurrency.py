"""Many concurrent requests for the same member and idea leave exactly one vote and matching counts,
on a real server (threads, one database connection each), on SQLite and on PostgreSQL."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from werkzeug.serving import make_server

pytestmark = pytest.mark.slow


@pytest.fixture
def served(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def _fire(requests_to_send):
    def send(args):
        method, url, headers, body = args
        with requests.Session() as session:
            return session.request(method, url, headers=headers, json=body, timeout=60).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        return list(pool.map(send, requests_to_send))


def test_concurrent_identical_votes_leave_one_vote(app, served, tally_matches_rows, member, create_idea):
    from coopol.extensions import db
    from coopol.ideas.models import IdeaVote

    member("alice")
    bob = member("bob")
    idea_id = create_idea("alice")
    url = f"{served}/api/v1/ideas/{idea_id}/vote"
    statuses = _fire([("PUT", url, bob, {"value": "support"})] * 40)
    assert statuses == [200] * 40
    with app.app_context():
        assert db.session.query(IdeaVote).filter_by(idea_id=idea_id).count() == 1
        db.session.remove()
    assert tally_matches_rows(app, idea_id)["support"] == 1


def test_concurrent_mixed_votes_keep_counts_equal_to_rows(app, served, tally_matches_rows, member, create_idea):
    member("alice")
    voters = [member(f"voter{n}") for n in range(4)]
    idea_id = create_idea("alice")
    url = f"{served}/api/v1/ideas/{idea_id}/vote"
    calls = []
    for i in range(60):
        headers = voters[i % len(voters)]
        kind = i % 3
        calls.append(("DELETE", url, headers, None) if kind == 2 else
                     ("PUT", url, headers, {"value": "support" if kind == 0 else "oppose"}))
    statuses = _fire(calls)
    assert set(statuses) == {200}
    counts = tally_matches_rows(app, idea_id)
    assert counts["support"] + counts["oppose"] <= len(voters)
