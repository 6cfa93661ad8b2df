"""Members read the ideas list from the visitors' shared page (coopol/core/cache.py), with their own
votes and ideas laid over it by one small query: each sees their own vote, never another member's."""

from __future__ import annotations

import pytest

from coopol.extensions import db
from tests.sql import statements as sent_statements

LIST = "/api/v1/ideas?sort=new"


@pytest.fixture
def shared_app(make_app):
    return make_app("shared", PUBLIC_CACHE_SECONDS=60)


@pytest.fixture
def setup(shared_app, create_member, token_for):
    from coopol.accounts.services import get_member_by_handle
    from coopol.core.uow import unit_of_work
    from coopol.ideas.services import create_idea

    heads = {}
    for handle, role in (("alice", "member"), ("bob", "member"), ("carol", "member"), ("mod", "moderator")):
        create_member(handle, role=role, target_app=shared_app)
        heads[handle] = token_for(handle, target_app=shared_app)
    ids = []
    with shared_app.test_request_context(), unit_of_work():
        for title in ("Night buses", "Free libraries", "Bike lanes"):
            ids.append(create_idea(get_member_by_handle("carol"), title=title, body="Please.").id)
    return ids, heads


def _votes(response) -> dict[int, str | None]:
    assert response.status_code == 200, response.get_data(as_text=True)
    items = response.json["items"]
    assert all(item["tally"]["my_vote"] == item["my_vote"] for item in items)
    return {item["id"]: item["my_vote"] for item in items}


def test_each_member_sees_their_own_votes_on_the_shared_page_and_never_another_ones(shared_app, setup):
    (buses, libraries, bikes), heads = setup
    client = shared_app.test_client()
    vote = client.put(f"/api/v1/ideas/{buses}/vote", json={"value": "support"}, headers=heads["alice"])
    assert vote.status_code == 200
    assert client.put(f"/api/v1/ideas/{bikes}/vote", json={"value": "oppose"}, headers=heads["bob"]).status_code == 200

    assert _votes(client.get(LIST, headers=heads["alice"])) == {buses: "support", libraries: None, bikes: None}
    assert _votes(client.get(LIST, headers=heads["bob"])) == {buses: None, libraries: None, bikes: "oppose"}
    assert _votes(client.get(LIST)) == {buses: None, libraries: None, bikes: None}
    assert _votes(client.get(LIST, headers=heads["alice"])) == {buses: "support", libraries: None, bikes: None}

    # A vote shows on the member's next read of the cached page; the others' copies do not change.
    assert client.put(f"/api/v1/ideas/{libraries}/vote", json={"value": "oppose"},
                      headers=heads["alice"]).status_code == 200
    assert _votes(client.get(LIST, headers=heads["alice"])) == {buses: "support", libraries: "oppose", bikes: None}
    assert _votes(client.get(LIST, headers=heads["bob"])) == {buses: None, libraries: None, bikes: "oppose"}
    assert client.delete(f"/api/v1/ideas/{buses}/vote", headers=heads["alice"]).status_code in (200, 204)
    assert _votes(client.get(LIST, headers=heads["alice"]))[buses] is None


def test_the_shared_page_is_made_once_and_each_member_costs_one_small_query(shared_app, setup):
    _ids, heads = setup
    client = shared_app.test_client()
    client.get(LIST, headers=heads["alice"])  # makes the shared page (and remembers alice's token)
    client.get(LIST, headers=heads["bob"])    # remembers bob's token
    response, statements = sent_statements(shared_app, lambda: client.get(LIST, headers=heads["bob"]))
    assert response.status_code == 200
    queries = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(queries) == 1 and "idea_votes" in queries[0], statements
    assert response.headers["Cache-Control"] == "no-store"  # a member's copy is theirs alone


def test_moderators_get_their_own_list_with_hidden_ideas(shared_app, setup):
    from coopol.core.time import utcnow
    from coopol.ideas.models import Idea

    (buses, _libraries, _bikes), heads = setup
    client = shared_app.test_client()
    assert buses in _votes(client.get(LIST, headers=heads["alice"]))
    with shared_app.app_context():
        db.session.get(Idea, buses).hidden_at = utcnow()
        db.session.commit()
    shared_app.extensions["coopol.public_cache"].clear()
    assert buses not in _votes(client.get(LIST, headers=heads["alice"]))
    assert buses in _votes(client.get(LIST, headers=heads["mod"]))
    assert buses not in _votes(client.get(LIST, headers=heads["bob"]))


def test_a_member_signed_in_with_the_browser_shares_the_page_too(shared_app, setup):
    from tests.conftest import TEST_PASSWORD

    (buses, _libraries, _bikes), heads = setup
    client = shared_app.test_client()
    client.put(f"/api/v1/ideas/{buses}/vote", json={"value": "support"}, headers=heads["alice"])
    client.get(LIST, headers=heads["bob"])  # the shared page exists
    assert client.post("/login", data={"login": "alice", "password": TEST_PASSWORD}).status_code in (302, 303)
    assert _votes(client.get(LIST))[buses] == "support"
    response, statements = sent_statements(shared_app, lambda: client.get(LIST))
    assert _votes(response)[buses] == "support"
    assert not any("FROM ideas" in s for s in statements if s.lstrip().upper().startswith("SELECT")), statements


def _fresh_and_shared(app, client, path, headers) -> tuple[bytes, bytes]:
    """The member's answer made for them alone (cache off), then their copy of the shared page."""
    app.config["PUBLIC_CACHE_SECONDS"] = 0
    try:
        fresh = client.get(path, headers=headers)
    finally:
        app.config["PUBLIC_CACHE_SECONDS"] = 60
    shared = client.get(path, headers=headers)
    assert fresh.status_code == shared.status_code == 200
    return fresh.get_data(), shared.get_data()


def test_a_members_copy_is_byte_for_byte_the_answer_made_for_them_alone(shared_app, setup):
    (buses, libraries, bikes), heads = setup
    client = shared_app.test_client()
    paths = (LIST, "/api/v1/ideas?sort=top&limit=2", "/api/v1/ideas?sort=new&limit=1&q=buses")
    for path in paths:
        client.get(path)  # a visitor's page first
        fresh, shared = _fresh_and_shared(shared_app, client, path, heads["alice"])
        assert fresh == shared, path
    for idea_id, value in ((buses, "support"), (bikes, "oppose")):
        assert client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": value},
                          headers=heads["alice"]).status_code == 200
    shared_app.extensions["coopol.public_cache"].clear()  # the counts changed too: compare with a new page
    for path in paths:
        fresh, shared = _fresh_and_shared(shared_app, client, path, heads["alice"])
        assert fresh == shared, path
    fresh, shared = _fresh_and_shared(shared_app, client, LIST, heads["alice"])
    assert shared.count(b'"my_vote":"support"') == 2 and shared.count(b'"my_vote":"oppose"') == 2
    # Bob's copy of the same cached page holds none of alice's votes.
    fresh, shared = _fresh_and_shared(shared_app, client, LIST, heads["bob"])
    assert fresh == shared and b'"my_vote":"' not in shared
    assert _votes(client.get(LIST, headers=heads["alice"])) == {buses: "support", libraries: None, bikes: "oppose"}


def test_a_members_copy_dumps_only_the_items_that_are_theirs(shared_app, setup, monkeypatch):
    (buses, _libraries, _bikes), heads = setup
    client = shared_app.test_client()
    vote = client.put(f"/api/v1/ideas/{buses}/vote", json={"value": "support"}, headers=heads["alice"])
    assert vote.status_code == 200
    client.get(LIST, headers=heads["bob"])  # the shared page exists; both tokens are remembered
    client.get(LIST, headers=heads["alice"])
    dumped: list = []
    real = shared_app.json.dumps
    monkeypatch.setattr(shared_app.json, "dumps", lambda obj, **kw: dumped.append(obj) or real(obj, **kw))

    assert _votes(client.get(LIST, headers=heads["bob"]))[buses] is None
    assert dumped == []  # nothing of bob's on the page: the shared bytes as they are
    assert _votes(client.get(LIST, headers=heads["alice"]))[buses] == "support"
    # The one idea she voted on, not the page.
    assert [item["id"] for item in dumped if isinstance(item, dict)] == [buses], dumped
