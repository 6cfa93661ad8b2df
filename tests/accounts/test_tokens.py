"""Personal API tokens: created on the API, the settings page and the CLI, listed, revoked, stored hashed."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from coopol.accounts.models import ApiToken
from coopol.extensions import db


def test_create_list_and_revoke_a_token_on_the_api(client, create_member, token_for):
    create_member("alice")
    headers = token_for("alice")

    created = client.post("/api/v1/me/tokens", json={"name": "script"}, headers=headers)
    assert created.status_code == 201
    new = {"Authorization": f"Bearer {created.json['token']}"}
    assert client.get("/api/v1/me", headers=new).json["handle"] == "alice"

    listed = client.get("/api/v1/me/tokens", headers=headers).json
    assert {t["name"] for t in listed} == {"test", "script"}
    assert all("token" not in t and "token_hash" not in t for t in listed)

    revoked = client.delete(f"/api/v1/me/tokens/{created.json['id']}", headers=headers)
    assert revoked.status_code == 204
    refused = client.get("/api/v1/me", headers=new)
    assert refused.status_code == 401
    assert "revoked" in refused.json["message"]
    assert {t["name"] for t in client.get("/api/v1/me/tokens", headers=headers).json} == {"test"}


def test_tokens_are_stored_hashed(app, client, create_member):
    create_member("alice")

    raw = client.post("/api/v1/me/tokens", json={"name": "x"},
                      headers=_login_token(client)).json["token"]

    with app.app_context():
        stored = db.session.scalar(select(ApiToken).where(ApiToken.name == "x"))
        assert stored.token_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert raw not in {stored.token_hash, stored.prefix}


def _login_token(client) -> dict[str, str]:
    from tests.conftest import TEST_PASSWORD

    raw = client.post("/api/v1/tokens", json={"login": "alice", "password": TEST_PASSWORD}).json["token"]
    return {"Authorization": f"Bearer {raw}"}


def test_a_member_cannot_revoke_someone_elses_token(client, create_member, token_for, app):
    create_member("alice")
    create_member("bob")
    bob = token_for("bob")
    with app.app_context():
        bobs_token_id = db.session.scalar(select(ApiToken.id))

    response = client.delete(f"/api/v1/me/tokens/{bobs_token_id}", headers=token_for("alice"))

    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=bob).status_code == 200


def test_bad_token_requests(client, create_member, token_for):
    create_member("alice")
    headers = token_for("alice")

    assert client.delete("/api/v1/me/tokens/999999", headers=headers).status_code == 404
    # Larger than any database id: a 404, not a database overflow.
    assert client.delete("/api/v1/me/tokens/99999999999999999999999", headers=headers).status_code == 404
    long_name = client.post("/api/v1/me/tokens", json={"name": "x" * 101}, headers=headers)
    assert long_name.status_code == 422 and "name" in long_name.json["errors"]
    unknown = client.post("/api/v1/me/tokens", json={"name": "x", "expires": "never"}, headers=headers)
    assert unknown.status_code == 422 and "expires" in unknown.json["errors"]


def test_garbage_tokens_are_refused(client, create_member):
    create_member("alice")

    for value in ("Bearer cpl_not-a-real-token", "Bearer nonsense", "Bearer ", "Basic YWxpY2U6cHc="):
        response = client.get("/api/v1/me", headers={"Authorization": value})
        assert response.status_code == 401, value
        assert response.json["code"] == 401


def test_create_use_and_revoke_a_token_on_the_settings_page(client, create_member, auth):
    create_member("alice")
    auth.login("alice")

    created = client.post("/settings/tokens", data={"name": "my script"})
    html = created.get_data(as_text=True)
    assert created.status_code == 200
    raw = html.split('data-testid="new-token">', 1)[1].split("<", 1)[0]
    assert raw.startswith("cpl_")

    anonymous = client.application.test_client()
    assert anonymous.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).json["handle"] == "alice"

    settings = client.get("/settings").get_data(as_text=True)
    assert "my script" in settings and raw[:10] in settings and raw not in settings
    token_id = client.get("/api/v1/me/tokens").json[0]["id"]
    revoked = client.post(f"/settings/tokens/{token_id}/revoke", follow_redirects=True)
    assert b"The token was revoked." in revoked.data
    assert anonymous.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_the_token_page_needs_a_login(client):
    response = client.post("/settings/tokens", data={"name": "x"})

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_an_explicit_token_wins_over_the_session(app, create_member, token_for, auth, client):
    create_member("alice")
    create_member("bob")
    auth.login("alice")

    assert client.get("/api/v1/me", headers=token_for("bob")).json["handle"] == "bob"
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer cpl_revoked"}).status_code == 401
    assert client.get("/api/v1/me").json["handle"] == "alice"


def test_token_use_is_recorded_at_most_once_a_minute(app, client, create_member, token_for, set_member):
    from datetime import timedelta

    from coopol.core.time import utcnow

    create_member("alice")
    headers = token_for("alice")

    def last_used():
        with app.app_context():
            value = db.session.scalar(select(ApiToken.last_used_at))
            db.session.remove()
            return value

    assert last_used() is None
    client.get("/api/v1/me", headers=headers)
    first = last_used()
    assert first is not None
    client.get("/api/v1/me", headers=headers)
    assert last_used() == first
    with app.app_context():
        db.session.scalar(select(ApiToken)).last_used_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
    # Five minutes pass for the process that remembers the token (coopol/accounts/token_cache.py) too.
    app.extensions["coopol.token_cache"].clear()
    client.post("/api/v1/me/tokens", json={"name": "x"}, headers=headers)  # a write request records it too
    assert last_used() > first


def test_a_read_with_a_token_survives_a_concurrent_writer(make_app, create_member, token_for):
    """On SQLite a read transaction that then writes fails if another writer committed in between; the
    token's bookkeeping must not turn a GET into a 500."""
    from flask_login import current_user, login_required
    from sqlalchemy import create_engine, text

    app = make_app("concurrent")
    url = app.config["SQLALCHEMY_DATABASE_URI"]

    @login_required
    def read_while_another_process_writes():
        other = create_engine(url)
        try:
            with other.begin() as connection:
                connection.execute(text("UPDATE members SET bio = 'changed elsewhere' WHERE handle = 'bob'"))
        finally:
            other.dispose()
        return {"handle": current_user.handle}

    app.add_url_rule("/api/v1/test/read", "test_read", read_while_another_process_writes)
    create_member("alice", target_app=app)
    create_member("bob", target_app=app)

    response = app.test_client().get("/api/v1/test/read", headers=token_for("alice", target_app=app))

    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json == {"handle": "alice"}
