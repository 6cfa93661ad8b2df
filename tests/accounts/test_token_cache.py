"""API tokens remembered per process, and revocation that takes effect at once in every process
(coopol/accounts/token_cache.py). Two apps on one instance folder and one database stand for two
gunicorn workers: each has its own memory, they share the folder and the database."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from coopol import create_app
from coopol.accounts.models import ApiToken, Member
from coopol.extensions import db
from tests.conftest import redis_url
from tests.sql import statements


@pytest.fixture
def worker_pair(make_app):
    first = make_app("tokens")
    second = create_app({**first.config, "INSTANCE_PATH": first.instance_path})
    assert second.config["SQLALCHEMY_DATABASE_URI"] == first.config["SQLALCHEMY_DATABASE_URI"]
    yield first, second
    with second.app_context():
        db.session.remove()
        db.engine.dispose()


def _statements_on_tokens(app: Flask, client, headers) -> tuple[int, object]:
    response, seen = statements(app, lambda: client.get("/api/v1/me", headers=headers))
    return sum("api_tokens" in s for s in seen), response


def test_a_remembered_token_is_served_without_looking_it_up(app, client, create_member, token_for):
    create_member("alice")
    headers = token_for("alice")

    looked_up, first = _statements_on_tokens(app, client, headers)
    assert first.status_code == 200 and looked_up >= 1
    looked_up, again = _statements_on_tokens(app, client, headers)
    assert again.status_code == 200 and again.json["handle"] == "alice"
    assert looked_up == 0


def test_a_token_revoked_in_another_process_is_refused_on_the_next_request(worker_pair, create_member,
                                                                            token_for):
    first, second = worker_pair
    create_member("alice", target_app=first)
    headers = token_for("alice", target_app=first)
    one, two = first.test_client(), second.test_client()
    assert one.get("/api/v1/me", headers=headers).status_code == 200  # remembered by both "workers"
    assert two.get("/api/v1/me", headers=headers).status_code == 200
    assert one.get("/api/v1/me", headers=headers).status_code == 200
    token_id = two.get("/api/v1/me/tokens", headers=headers).json[0]["id"]

    assert two.delete(f"/api/v1/me/tokens/{token_id}", headers=headers).status_code == 204

    refused = one.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.json["message"]
    assert two.get("/api/v1/me", headers=headers).status_code == 401


def test_a_member_banned_in_another_process_cannot_use_a_remembered_token(worker_pair, create_member,
                                                                          token_for):
    first, second = worker_pair
    create_member("alice", target_app=first)
    headers = token_for("alice", target_app=first)
    one = first.test_client()
    assert one.get("/api/v1/me", headers=headers).status_code == 200

    with second.app_context():
        db.session.scalar(select(Member).where(Member.handle == "alice")).status = "banned"
        db.session.commit()

    assert one.get("/api/v1/me", headers=headers).status_code == 401


def test_a_profile_changed_elsewhere_shows_at_once_and_a_remembered_member_can_be_changed(
        worker_pair, create_member, token_for):
    first, second = worker_pair
    create_member("alice", target_app=first)
    headers = token_for("alice", target_app=first)
    one, two = first.test_client(), second.test_client()
    assert one.get("/api/v1/me", headers=headers).json["display_name"] == ""
    assert one.get("/api/v1/me", headers=headers).json["display_name"] == ""  # served from memory

    changed = two.patch("/api/v1/me", json={"display_name": "Alice M."}, headers=headers)
    assert changed.status_code == 200

    assert one.get("/api/v1/me", headers=headers).json["display_name"] == "Alice M."
    # The member merged from memory is a real session object: what the view changes is committed.
    assert one.patch("/api/v1/me", json={"bio": "Trains."}, headers=headers).status_code == 200
    assert one.get("/api/v1/me", headers=headers).json["display_name"] == "Alice M."
    with second.app_context():
        assert db.session.scalar(select(Member.bio).where(Member.handle == "alice")) == "Trains."
    assert two.get("/api/v1/me", headers=headers).json["bio"] == "Trains."


def test_recording_a_use_does_not_forget_every_token(app, client, create_member, token_for):
    create_member("alice")
    headers = token_for("alice")
    client.get("/api/v1/me", headers=headers)
    cache = app.extensions["coopol.token_cache"]
    stamp = cache.stamp()
    client.get("/api/v1/me", headers=headers)
    with app.app_context():
        db.session.scalar(select(ApiToken)).last_used_at = None  # bookkeeping only: no new stamp
        db.session.commit()
        db.session.remove()
    assert cache.stamp() == stamp


def test_the_cache_can_be_turned_off(make_app, create_member, token_for):
    app = make_app("uncached", TOKEN_CACHE_SECONDS=0)
    create_member("alice", target_app=app)
    headers = token_for("alice", target_app=app)
    client = app.test_client()
    client.get("/api/v1/me", headers=headers)
    looked_up, response = _statements_on_tokens(app, client, headers)
    assert response.status_code == 200 and looked_up >= 1



def test_on_two_machines_the_stamp_in_redis_refuses_a_revoked_token_at_once(make_app, tmp_path, create_member,
                                                                           token_for):
    """Two web processes that share the database and Redis but not the instance folder (two machines)."""
    import uuid

    first = make_app("machine_a", RATELIMIT_STORAGE_URI=redis_url(), RATELIMIT_KEY_PREFIX=uuid.uuid4().hex)
    (tmp_path / "machine_b").mkdir()
    second = create_app({**first.config, "INSTANCE_PATH": str(tmp_path / "machine_b")})
    try:
        create_member("alice", target_app=first)
        headers = token_for("alice", target_app=first)
        one, two = first.test_client(), second.test_client()
        for client in (one, two, one):
            assert client.get("/api/v1/me", headers=headers).status_code == 200  # remembered by both
        token_id = two.get("/api/v1/me/tokens", headers=headers).json[0]["id"]
        assert two.delete(f"/api/v1/me/tokens/{token_id}", headers=headers).status_code == 204
        assert one.get("/api/v1/me", headers=headers).status_code == 401
    finally:
        with second.app_context():
            db.session.remove()
            db.engine.dispose()


def test_with_the_shared_store_down_tokens_are_looked_up_every_time(make_app, create_member, token_for):
    from tests.mail.conftest import free_port

    app = make_app("no_redis", RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{free_port()}/0")
    create_member("alice", target_app=app)
    headers = token_for("alice", target_app=app)
    client = app.test_client()
    for _ in range(2):
        looked_up, answer = _statements_on_tokens(app, client, headers)
        assert answer.status_code == 200 and looked_up >= 1
