"""What the application class does once instead of on every request (coopol/core/application.py)."""

from __future__ import annotations


def test_the_session_serializer_is_built_once_per_secret_key(app):
    interface = app.session_interface
    first = interface.get_signing_serializer(app)
    assert interface.get_signing_serializer(app) is first
    app.secret_key = "another secret"  # a new key: a new serializer, and cookies signed with it
    second = interface.get_signing_serializer(app)
    assert second is not first and second.loads(second.dumps({"a": 1})) == {"a": 1}


def test_a_signed_in_session_survives_the_kept_serializer(client, create_member, auth):
    create_member("ada")
    auth.login("ada")
    assert client.get("/api/v1/me").get_json()["handle"] == "ada"
    assert client.get("/api/v1/me").get_json()["handle"] == "ada"
    auth.logout()
    assert client.get("/api/v1/me").status_code == 401


def test_a_visitor_without_a_session_gets_no_cookie_but_a_vary(client):
    response = client.get("/.well-known/host-meta")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert "Cookie" in response.headers.get("Vary", "")


def test_hooks_are_asked_once_whether_they_are_coroutines(app, client):
    client.get("/.well-known/host-meta")
    remembered = app._sync_functions
    hooks = [f for funcs in app.before_request_funcs.values() for f in funcs]
    assert hooks and all(hook in remembered for hook in hooks)
    client.get("/.well-known/host-meta")
    assert app._sync_functions == remembered
