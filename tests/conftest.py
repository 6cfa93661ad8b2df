"""Fixtures shared by every test.

Each test gets fresh databases cloned from one migrated template (a file copy on SQLite,
`CREATE DATABASE ... TEMPLATE` on PostgreSQL), so tests run the real migrations, stay isolated,
and several instances can live in one test. Set COOPOL_TEST_DATABASE_URL to a PostgreSQL server
URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres) to run the suite on PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from coopol import create_app

PG_ADMIN_URL = os.environ.get("COOPOL_TEST_DATABASE_URL")
TEST_PASSWORD = "a long and unusual pass phrase"

# The processes tests start (real instances, every `coopol` command they run, the demo, the bench) compile
# Coopol's modules once into one cache folder instead of at every start, even where the environment says
# PYTHONDONTWRITEBYTECODE: 0.3-0.4 s of each command's 1-2 s.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
os.environ.setdefault("PYTHONPYCACHEPREFIX", str(Path(tempfile.gettempdir()) / "coopol-tests-pycache"))


def redis_url() -> str:
    """The Redis server shared-storage tests use (`COOPOL_TEST_REDIS_URL`, default the local one); the test is
    skipped when none answers."""
    import redis

    url = os.environ.get("COOPOL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url}")
    return url


FAST_CONFIG: dict[str, Any] = {
    "TESTING": True,
    "WTF_CSRF_ENABLED": False,
    "RATELIMIT_ENABLED": False,
    "PUBLIC_CACHE_SECONDS": 0,  # tests/core/test_cache.py turns it on
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 1024,
    "ARGON2_PARALLELISM": 1,
    "SECRET_KEY": "test-secret",
}


class DatabaseFactory:
    """Makes fresh, migrated databases quickly by cloning a template."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.created: list[str] = []
        self.run_id = uuid.uuid4().hex[:8]
        if PG_ADMIN_URL:
            self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
            self.template_name = f"coopol_tpl_{self.run_id}"
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.template_name}"'))
            self.template_url = self._pg_url(self.template_name)
        else:
            self.template_url = f"sqlite:///{workdir / 'template.sqlite'}"
        self._migrate(self.template_url)

    def _pg_url(self, name: str) -> str:
        return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def _migrate(self, url: str) -> None:
        from flask_migrate import upgrade

        app = create_app({**FAST_CONFIG, "INSTANCE_PATH": str(self.workdir / "template"),
                          "SQLALCHEMY_DATABASE_URI": url})
        with app.app_context():
            upgrade(revision="heads")
            from coopol.extensions import db

            db.engine.dispose()

    def new_database(self, label: str) -> str:
        if PG_ADMIN_URL:
            name = f"coopol_t_{self.run_id}_{uuid.uuid4().hex[:8]}"
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self.template_name}"'))
            self.created.append(name)
            return self._pg_url(name)
        target = self.workdir / f"{label}-{uuid.uuid4().hex[:8]}.sqlite"
        shutil.copyfile(self.workdir / "template.sqlite", target)
        return f"sqlite:///{target}"

    def drop(self, url: str) -> None:
        if PG_ADMIN_URL:
            name = make_url(url).database
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        if PG_ADMIN_URL:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.template_name}" WITH (FORCE)'))
            self.admin.dispose()


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    yield factory
    factory.close()


@pytest.fixture
def make_app(database_factory: DatabaseFactory, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """`make_app("a", URL="http://127.0.0.1:5001", ...)`: a fresh instance with its own database."""
    made: list[tuple[Any, str]] = []

    def factory(name: str = "local", **config: Any):
        url = database_factory.new_database(name)
        instance_path = tmp_path / name
        instance_path.mkdir(exist_ok=True)
        settings = {**FAST_CONFIG, "NAME": f"Coopol {name}", "URL": f"http://{name}.coopol.test",
                    "INSTANCE_PATH": str(instance_path), "SQLALCHEMY_DATABASE_URI": url, **config}
        app = create_app(settings)
        made.append((app, url))
        return app

    yield factory
    for app, url in made:
        with app.app_context():
            from coopol.extensions import db

            db.session.remove()
            db.engine.dispose()
        database_factory.drop(url)


@pytest.fixture
def app(make_app):
    return make_app("local")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def create_member(app) -> Callable[..., Any]:
    """`create_member("alice", role="moderator")` adds a committed local member."""
    from coopol.accounts.services import register_member
    from coopol.core.uow import unit_of_work

    counter = iter(range(1, 10_000))

    def factory(handle: str | None = None, *, role: str = "member", password: str = TEST_PASSWORD,
                email: str | None = None, display_name: str = "", target_app=None):
        handle = handle or f"member{next(counter)}"
        with (target_app or app).app_context(), unit_of_work():
            member = register_member(handle, email or f"{handle}@example.org", password, role=role,
                                     display_name=display_name, bypass_policy=True)
            member_id = member.id
        return member_id

    return factory


@pytest.fixture
def token_for(app) -> Callable[..., dict[str, str]]:
    """`headers = token_for("alice")`: Authorization headers with a fresh personal token."""
    from coopol.accounts.services import create_token, get_member_by_handle
    from coopol.core.uow import unit_of_work

    def factory(handle: str, target_app=None) -> dict[str, str]:
        with (target_app or app).app_context(), unit_of_work():
            _token, raw = create_token(get_member_by_handle(handle), "test")
        return {"Authorization": f"Bearer {raw}"}

    return factory


class AuthActions:
    def __init__(self, client) -> None:
        self.client = client

    def login(self, login: str, password: str = TEST_PASSWORD):
        return self.client.post("/login", data={"login": login, "password": password})

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client) -> AuthActions:
    return AuthActions(client)
