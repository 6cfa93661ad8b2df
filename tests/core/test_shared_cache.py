"""The visitors' cache shared by every process through Redis (coopol/core/cache.py), and what happens
when Redis is away: each process serves from its own memory. Two apps on one database stand for two
gunicorn workers (or two machines): each has its own memory, they share the database and Redis."""

from __future__ import annotations

import uuid

import pytest

from coopol import create_app
from coopol.extensions import db
from tests.conftest import redis_url
from tests.sql import statements

LIST = "/api/v1/ideas?sort=new"



def _selects(app, client, path, headers=None):
    response, sent = statements(app, lambda: client.get(path, headers=headers or {}))
    assert response.status_code == 200, response.get_data(as_text=True)
    return response, [s for s in sent if s.lstrip().upper().startswith("SELECT")]


@pytest.fixture
def two_processes(make_app, tmp_path, create_member, token_for):
    from coopol.accounts.services import get_member_by_handle
    from coopol.core.uow import unit_of_work
    from coopol.ideas.services import create_idea

    first = make_app("shared_a", PUBLIC_CACHE_SECONDS=60, RATELIMIT_STORAGE_URI=redis_url(),
                     RATELIMIT_KEY_PREFIX=uuid.uuid4().hex)
    (tmp_path / "shared_b").mkdir()
    second = create_app({**first.config, "INSTANCE_PATH": str(tmp_path / "shared_b")})
    create_member("alice", target_app=first)
    create_member("carol", target_app=first)
    heads = {"alice": token_for("alice", target_app=first)}
    with first.test_request_context(), unit_of_work():
        ideas = [create_idea(get_member_by_handle("carol"), title=t, body="Please.").id
                 for t in ("Night buses", "Bike lanes")]
    yield first, second, ideas, heads
    with second.app_context():
        db.session.remove()
        db.engine.dispose()


def test_a_page_made_by_one_process_is_served_by_another_from_redis(two_processes):
    first, second, _ideas, _heads = two_processes
    made, selects = _selects(first, first.test_client(), LIST)
    assert selects  # made here
    served, selects = _selects(second, second.test_client(), LIST)
    assert selects == [] and served.get_data() == made.get_data()
    assert served.headers["Cache-Control"] == "public, max-age=60"
    assert second.extensions["coopol.public_cache"].shared.hits == 1
    _served, selects = _selects(second, second.test_client(), LIST)  # now in its own memory
    assert selects == [] and second.extensions["coopol.public_cache"].shared.hits == 1


def test_members_share_the_page_across_processes_with_their_own_votes(two_processes):
    first, second, (buses, bikes), heads = two_processes
    one, two = first.test_client(), second.test_client()
    assert one.put(f"/api/v1/ideas/{buses}/vote", json={"value": "support"}, headers=heads["alice"]).status_code == 200
    _selects(first, one, LIST, heads["alice"])  # the shared page, made in the first process
    two.get("/api/v1/me", headers=heads["alice"])  # the second remembers alice's token
    response, selects = _selects(second, two, LIST, heads["alice"])
    assert len(selects) == 1 and "idea_votes" in selects[0], selects  # her votes only: the page came from Redis
    votes = {item["id"]: item["my_vote"] for item in response.json["items"]}
    assert votes == {buses: "support", bikes: None}
    # Her next vote shows on her next read in either process; a visitor's page never holds it.
    assert two.put(f"/api/v1/ideas/{bikes}/vote", json={"value": "oppose"}, headers=heads["alice"]).status_code == 200
    for client in (one, two):
        mine = client.get(LIST, headers=heads["alice"]).json["items"]
        assert {item["id"]: item["my_vote"] for item in mine} == {buses: "support", bikes: "oppose"}
        assert all(item["my_vote"] is None for item in client.get(LIST).json["items"])


def test_shared_entries_expire_in_redis(two_processes):
    first, _second, _ideas, _heads = two_processes
    first.test_client().get(LIST)
    shared = first.extensions["coopol.public_cache"].shared
    names = list(shared.client.scan_iter(match=shared.prefix + "*"))
    assert names and all(0 < shared.client.pttl(name) <= 60_000 for name in names)


def test_with_redis_down_each_process_serves_from_its_own_memory(make_app, create_member, token_for):
    from tests.mail.conftest import free_port

    app = make_app("no_redis", PUBLIC_CACHE_SECONDS=60, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0",
                   RATELIMIT_ENABLED=False)
    create_member("alice", target_app=app)
    headers = token_for("alice", target_app=app)
    client = app.test_client()
    cache = app.extensions["coopol.public_cache"]
    first, selects = _selects(app, client, LIST)
    assert selects and cache.shared.errors >= 1
    again, selects = _selects(app, client, LIST)
    assert selects == [] and again.get_data() == first.get_data()
    assert client.get(LIST, headers=headers).status_code == 200
    _mine, selects = _selects(app, client, LIST, headers)
    assert not any("FROM ideas" in s for s in selects), selects  # the member's copy from memory too
