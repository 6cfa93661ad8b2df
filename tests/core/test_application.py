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
    """numpy (bridging's fit, in the worker), feedgen with lxml (Atom), icalendar (calendars) and
    Flask-Migrate with Alembic, Mako and Pygments (migrations) are imported when first used, not by
    create_app(): some 28 MB less in every web process."""
    import json
    import os
    import subprocess
    import sys

    script = f"""
import json, sys
from coopol import create_app
create_app({{"TESTING": True, "SECRET_KEY": "x" * 40, "INSTANCE_PATH": {str(tmp_path)!r},
            "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path}/start.db", "URL": "http://start.test"}})
heavy = ("numpy", "feedgen", "lxml", "icalendar", "flask_migrate", "alembic", "mako", "pygments")
print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_feeds_and_calendars_still_load_their_libraries_when_asked(client):
    assert client.get("/ideas.atom").status_code == 200
    assert client.get("/events.ics").status_code == 200


def test_migrations_bind_flask_migrate_on_first_use_with_what_packages_configured(app):
    from flask_migrate import upgrade

    from coopol.extensions import _bind_migrate

    pending = app.extensions["migrate"]
    include_name = pending.configure_args["include_name"]  # set by coopol.ideas at start-up
    with app.app_context():
        upgrade(revision="heads")  # nothing left to apply: it only has to find the configuration
    bound = _bind_migrate(app)
    assert bound is app.extensions["migrate"] and bound is not pending
    assert bound.configure_args["include_name"] is include_name and bound.configure_args["render_as_batch"]
    assert bound.directory.endswith("migrations") and "upgrade" in app.cli.commands["db"].list_commands(None)


def test_workers_forked_from_a_preloaded_master_start_with_frozen_objects_and_empty_pools(app, monkeypatch):
    import gc
    import os
    import sys

    from sqlalchemy import text

    from coopol.core import application
    from coopol.extensions import db

    monkeypatch.setitem(sys.modules, "gunicorn", sys.modules.get("gunicorn") or object())
    application.share_with_workers(app)
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        db.session.remove()
        assert db.engine.pool.checkedin() == 1  # the master holds a connection
    try:
        pid = os.fork()
    finally:
        application._FORKED_APPS.discard(app)  # later forks of the test process freeze nothing
    if pid == 0:  # the worker
        try:
            with app.app_context():
                ok = db.engine.pool.checkedin() == 0 and gc.get_freeze_count() > 0
            os._exit(0 if ok else 1)
        except BaseException:  # noqa: BLE001
            os._exit(2)
    gc.unfreeze()  # the test process goes on collecting as before
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    with app.app_context():
        assert db.engine.pool.checkedin() == 1  # the master's connection is still its own
