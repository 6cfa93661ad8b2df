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


def test_a_web_process_starts_without_the_heavy_libraries_it_may_never_use(tmp_path):
    """numpy (bridging's fit, in the worker), feedgen with lxml (Atom) and icalendar (calendars) are
    imported when first used, not by create_app(): some 19 MB less in every web process."""
    import json
    import os
    import subprocess
    import sys

    script = f"""
import json, sys
from coopol import create_app
create_app({{"TESTING": True, "SECRET_KEY": "x" * 40, "INSTANCE_PATH": {str(tmp_path)!r},
            "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path}/start.db", "URL": "http://start.test"}})
print(json.dumps(sorted(m for m in ("numpy", "feedgen", "lxml", "icalendar") if m in sys.modules)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_feeds_and_calendars_still_load_their_libraries_when_asked(client):
    assert client.get("/ideas.atom").status_code == 200
    assert client.get("/events.ics").status_code == 200
