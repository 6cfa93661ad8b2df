"""schemathesis over the OpenAPI document: every documented operation, as a member (Bearer token) and
anonymously, must never answer a 5xx and must answer what the document says (status codes, content
types, bodies).

The slow tests run against a LIVE instance (`coopol init` and `coopol run` on 127.0.0.1, a free port;
its own PostgreSQL database when COOPOL_TEST_DATABASE_URL is set, else SQLite). The fast one runs a
few examples per operation in-process, over the WSGI app, as a moderator. A failure prints schemathesis' report with
the request that reproduces it (a curl command line).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

PG_ADMIN_URL = os.environ.get("COOPOL_TEST_DATABASE_URL")
COOPOL = [shutil.which("coopol")] if shutil.which("coopol") else [
    sys.executable, "-c", "import sys; from coopol.cli import main; sys.exit(main())"]
PASSWORD = "a long and unusual pass phrase"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
LIVE_EXAMPLES = 8
FAST_EXAMPLES = 2
# Every documented operation, positive and negative data, boundary values (the coverage phase) and
# random ones (fuzzing); not methods the document does not list (Flask answers those 405 itself), and no
# values taken from earlier responses: they make hypothesis' generation depend on the server's state,
# which it reports as a FlakyStrategyDefinition.
_NO_RESPONSE_DATA = {"extra-data-sources": {"responses": False}}
CONFIG = {"phases": {"coverage": {"unexpected-methods": [], **_NO_RESPONSE_DATA}, "fuzzing": _NO_RESPONSE_DATA,
                     "examples": _NO_RESPONSE_DATA}}
# Operations that would end the member's own access for every later example: erasing the account and
# revoking tokens (the one in use has a small id). Anonymously they are exercised like the others.
SELF_DESTRUCTIVE = {("DELETE", "/api/v1/me"), ("DELETE", "/api/v1/me/tokens/{token_id}")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LiveInstance:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("COOPOL_") and k != "DATABASE_URL"}
        self.env.update(COOPOL_RATELIMIT_ENABLED="false", COOPOL_PUBLIC_CACHE_SECONDS="0")
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT") if PG_ADMIN_URL else None
        self.database = None
        if self.admin is not None:
            self.database = f"coopol_st_{uuid.uuid4().hex[:8]}"
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.database}"'))
            self.env["DATABASE_URL"] = make_url(PG_ADMIN_URL).set(database=self.database).render_as_string(
                hide_password=False)
        self.server: subprocess.Popen | None = None
        self.log = folder / "server.log"

    def coopol(self, *args: str) -> str:
        result = subprocess.run([*COOPOL, "--instance", str(self.folder / "instance"), *args], env=self.env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"coopol {' '.join(args)}: {result.stdout}\n{result.stderr}"
        return result.stdout

    def start(self) -> LiveInstance:
        self.coopol("init", "--name", "Schemathesis party", "--url", self.url)
        with self.log.open("w") as out:
            self.server = subprocess.Popen([*COOPOL, "--instance", str(self.folder / "instance"), "run", "--port",
                                            str(self.port)], env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                           start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{self.url}/api/openapi.json", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the instance did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def member_headers(self, handle: str, role: str = "member") -> dict[str, str]:
        self.coopol("users", "create", handle, "--email", f"{handle}@example.org", "--password", PASSWORD,
                    "--role", role)
        token = self.coopol("tokens", "create", handle).strip().split()[-1]
        return {"Authorization": f"Bearer {token}"}

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait(5)
        if self.admin is not None:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)'))
            self.admin.dispose()


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> Iterator[dict]:
    instance = LiveInstance(tmp_path_factory.mktemp("schemathesis")).start()
    try:
        headers = instance.member_headers("stmember")
        # Something to find: an idea with a comment, so ids 1 exist.
        requests.post(f"{instance.url}/api/v1/ideas", json={"title": "Free buses for everyone",
                                                            "body": "Let us do it."}, headers=headers, timeout=10)
        requests.post(f"{instance.url}/api/v1/ideas/1/comments", json={"body": "Yes"}, headers=headers, timeout=10)
        yield {"instance": instance, "headers": headers,
               "schema": schemathesis.openapi.from_url(f"{instance.url}/api/openapi.json",
                                                       config=SchemathesisConfig.from_dict(CONFIG))}
    finally:
        instance.stop()
        if instance.server is not None and instance.log.exists():
            log = instance.log.read_text()
            if "Traceback" in log:  # shown in pytest's output when a test failed
                print(log[-20000:])


@pytest.fixture(scope="module")
def live_schema(live):
    return live["schema"]


live_schema_lazy = schemathesis.pytest.from_fixture("live_schema")


def _excluded(case, as_member: bool) -> bool:
    return as_member and (case.method.upper(), case.path) in SELF_DESTRUCTIVE


@pytest.mark.slow
@live_schema_lazy.parametrize()
@settings(max_examples=LIVE_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_live_api_as_a_member(case, live):
    if _excluded(case, as_member=True):
        return
    case.call_and_validate(base_url=live["instance"].url, headers=live["headers"], checks=CHECKS, timeout=30)


@pytest.mark.slow
@live_schema_lazy.parametrize()
@settings(max_examples=LIVE_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_live_api_anonymously(case, live):
    case.call_and_validate(base_url=live["instance"].url, checks=CHECKS, timeout=30)


# --- in-process, few examples ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def wsgi_app(tmp_path_factory):
    from coopol import create_app

    folder = tmp_path_factory.mktemp("schemathesis-wsgi")
    # In-process, SQLite is enough: the live tests run on PostgreSQL when asked to.
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "PUBLIC_CACHE_SECONDS": 0, "ARGON2_TIME_COST": 1,
                      "ARGON2_MEMORY_COST": 1024, "ARGON2_PARALLELISM": 1, "INSTANCE_PATH": str(folder),
                      "URL": "http://127.0.0.1:5999", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'db.sqlite'}"})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade(revision="heads")
        from coopol.accounts.services import create_token, register_member
        from coopol.core.uow import unit_of_work

        with unit_of_work():
            # A moderator, so the moderation services run too (the live tests use a plain member).
            member = register_member("stmoderator", "stmoderator@example.org", PASSWORD, role="moderator",
                                     bypass_policy=True)
            register_member("stmember", "stmember@example.org", PASSWORD, bypass_policy=True)
            _token, raw = create_token(member, "schemathesis")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}
    client.post("/api/v1/ideas", json={"title": "Free buses for everyone", "body": "Let us do it."}, headers=headers)
    return {"app": app, "headers": headers}


@pytest.fixture(scope="module")
def wsgi_schema(wsgi_app):
    return schemathesis.openapi.from_wsgi("/api/openapi.json", wsgi_app["app"],
                                          config=SchemathesisConfig.from_dict(CONFIG))


wsgi_schema_lazy = schemathesis.pytest.from_fixture("wsgi_schema")


@wsgi_schema_lazy.parametrize()
@settings(max_examples=FAST_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_in_process_api_as_a_moderator(case, wsgi_app):
    if _excluded(case, as_member=True):
        return
    case.call_and_validate(headers=wsgi_app["headers"], checks=CHECKS)
