"""The visitors' cache (coopol/core/cache.py): anonymous reads are answered from memory for a few
seconds; members, cookies, other languages and other formats never share an answer."""

import time

import pytest


@pytest.fixture
def cached_app(make_app):
    return make_app("cached", PUBLIC_CACHE_SECONDS=1)


@pytest.fixture
def setup(cached_app, create_member, token_for):
    from coopol.accounts.services import get_member_by_handle
    from coopol.core.uow import unit_of_work
    from coopol.ideas.services import create_idea

    create_member("alice", target_app=cached_app)
    create_member("bob", target_app=cached_app)
    with cached_app.test_request_context(), unit_of_work():
        idea_id = create_idea(get_member_by_handle("alice"), title="Night buses", body="Every hour.").id
    return idea_id, token_for("alice", target_app=cached_app), token_for("bob", target_app=cached_app)


def _support(response) -> int:
    assert response.status_code == 200
    return response.json["items"][0]["tally"]["support"]


def test_visitors_share_an_answer_for_a_few_seconds_members_see_their_vote_at_once(cached_app, setup):
    idea_id, _alice, bob = setup
    client = cached_app.test_client()
    first = client.get("/api/v1/ideas?sort=top")
    assert _support(first) == 0
    assert first.headers["Cache-Control"] == "public, max-age=1"
    assert "Authorization" in first.headers["Vary"] and "Accept-Language" in first.headers["Vary"]

    assert client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=bob).status_code == 200
    # Bob sees his vote at once; a visitor gets the answer of a moment ago, then the new count.
    assert _support(client.get("/api/v1/ideas?sort=top", headers=bob)) == 1
    assert client.get("/api/v1/ideas?sort=top", headers=bob).headers["Cache-Control"] == "no-store"
    assert _support(client.get("/api/v1/ideas?sort=top")) == 0
    assert cached_app.extensions["coopol.public_cache"].hits >= 1
    deadline = time.monotonic() + 5
    while _support(client.get("/api/v1/ideas?sort=top")) != 1:
        assert time.monotonic() < deadline, "the visitors' answer never expired"
        time.sleep(0.1)


def test_query_language_and_format_are_part_of_the_key(cached_app, setup):
    client = cached_app.test_client()
    english = client.get(f"/ideas/{setup[0]}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    french = client.get(f"/ideas/{setup[0]}", headers={"Accept-Language": "fr"}).get_data(as_text=True)
    assert 'lang="en"' in english and 'lang="fr"' in french
    by_new = client.get("/api/v1/ideas?sort=new&limit=1").json
    assert client.get("/api/v1/ideas?sort=new&limit=1").json == by_new
    assert client.get("/api/v1/ideas?sort=new&limit=1&origin=elsewhere.example").json["items"] == []


def test_visitor_pages_carry_no_session_or_token_and_member_pages_are_never_kept(cached_app, setup):
    idea_id, _alice, bob = setup
    client = cached_app.test_client()
    assert client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=bob).status_code == 200
    page = client.get(f"/ideas/{idea_id}")
    assert page.status_code == 200 and "Set-Cookie" not in page.headers
    assert "csrf_token" not in page.get_data(as_text=True)
    cache = cached_app.extensions["coopol.public_cache"]
    mine = client.get("/api/v1/ideas?sort=top", headers=bob)
    assert mine.json["items"][0]["my_vote"] == "support"
    # What members share is kept as a visitor sees it (tests/ideas/test_shared_lists.py): never their part.
    shared = [entry[2] for key, entry in cache._entries.items() if key[0] == "members"]
    assert shared and all(item["my_vote"] is None for page in shared for item in page.data["items"])
    assert all(b'"my_vote":"' not in page.body for page in shared)
    # A visitor never receives the member's answer, whatever was asked before.
    assert client.get("/api/v1/ideas?sort=top").json["items"][0]["my_vote"] is None


def test_a_session_cookie_bypasses_the_cache(cached_app, setup):
    from tests.conftest import TEST_PASSWORD

    idea_id, _alice, bob = setup
    client = cached_app.test_client()
    assert client.get("/api/v1/ideas").json["items"][0]["my_vote"] is None  # kept for visitors
    assert client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "oppose"}, headers=bob).status_code == 200
    assert client.post("/login", data={"login": "bob", "password": TEST_PASSWORD}).status_code in (302, 303)
    assert client.get("/api/v1/ideas").json["items"][0]["my_vote"] == "oppose"


def test_language_switch_needs_no_token_for_visitors_but_does_for_members(make_app, create_member):
    from tests.conftest import TEST_PASSWORD

    app = make_app("csrf", WTF_CSRF_ENABLED=True)
    client = app.test_client()
    response = client.post("/language", data={"lang": "fr", "next": "/ideas"})
    assert response.status_code in (302, 303) and "lang=fr" in response.headers["Set-Cookie"]
    create_member("carol", target_app=app)
    login_page = client.get("/login").get_data(as_text=True)
    token = login_page.split('name="csrf_token" value="')[1].split('"')[0]
    assert client.post("/login", data={"login": "carol", "password": TEST_PASSWORD,
                                       "csrf_token": token}).status_code in (302, 303)
    refused = client.post("/language", data={"lang": "de", "next": "/ideas"})
    assert refused.status_code == 400


def test_the_cache_keeps_within_its_byte_budget_and_drops_expired_entries():
    from coopol.core.cache import PublicCache

    cache = PublicCache(max_entries=100, max_bytes=1000)
    for n in range(5):
        cache.put(("/page", n), 60, 200, b"x" * 300, [])
    assert cache.bytes <= 1000 and len(cache._entries) == 3
    assert cache.get(("/page", 0)) is None and cache.get(("/page", 4)) is not None
    assert cache.bytes == sum(len(e[2]) for e in cache._entries.values())
    # Every entry lives as long (one setting), so the oldest expire first and go at the next put.
    later = PublicCache(max_entries=100, max_bytes=1000)
    later.put(("/old",), -1, 200, b"y" * 10, [])
    later.put(("/new",), 60, 200, b"z" * 10, [])
    assert list(later._entries) == [("/new",)] and later.bytes == 10


def test_a_page_that_touched_the_visitors_session_is_not_shared(cached_app, setup):
    from flask import session

    from coopol.core.cache import public_cache

    @public_cache
    def remembers_something():
        session["seen"] = True
        return "private to this visitor"

    with cached_app.test_request_context("/ideas/somewhere"):
        assert remembers_something().get_data(as_text=True) == "private to this visitor"
        assert len(cached_app.extensions["coopol.public_cache"]._entries) == 0
