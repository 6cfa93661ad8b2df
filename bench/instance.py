"""Throw-away Coopol instances: a temporary folder with config, secret and keys, and a fresh database
(SQLite in the folder, or a new PostgreSQL database that is dropped afterwards)."""

from __future__ import annotations

import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bench.processes import child_env

# Rate limits protect an instance from one client; the bench *is* one client on 127.0.0.1, so they
# are off here (recorded in the results) — what is measured is the work behind them.
BENCH_CONFIG: dict[str, Any] = {"ratelimit_enabled": False}


_STARTED = time.monotonic()


def log(message: str) -> None:
    elapsed = int(time.monotonic() - _STARTED)
    print(f"[{elapsed // 60:02d}:{elapsed % 60:02d}] {message}", file=sys.stderr, flush=True)


@dataclass
class Database:
    """A database made for one run: the URL to use and how to get rid of it."""

    url: str
    kind: str  # "sqlite" | "postgresql"
    admin_url: str | None = None
    name: str | None = None

    def drop(self) -> None:
        if self.kind != "postgresql" or not self.admin_url:
            return
        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        finally:
            engine.dispose()


def new_database(admin_url: str | None, folder: Path, label: str) -> Database:
    if not admin_url or admin_url.startswith("sqlite"):
        return Database(url=f"sqlite:///{folder / 'coopol.sqlite'}", kind="sqlite")
    if not admin_url.startswith("postgresql"):
        raise ValueError(f"--database must be a sqlite:// or postgresql+psycopg:// URL, not {admin_url!r}")
    name = f"coopol_bench_{label}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return Database(url=url, kind="postgresql", admin_url=admin_url, name=name)


@dataclass
class Instance:
    name: str
    path: Path
    port: int
    database: Database
    config: dict[str, Any] = field(default_factory=dict)
    _app: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return child_env({"COOPOL_INSTANCE": str(self.path), "DATABASE_URL": self.database.url})

    @property
    def app(self):
        """An in-process app on the same folder and database, for seeding and checks."""
        if self._app is None:
            from coopol import create_app

            self._app = create_app({"INSTANCE_PATH": str(self.path), "SQLALCHEMY_DATABASE_URI": self.database.url})
        return self._app

    def dispose(self) -> None:
        if self._app is not None:
            from coopol.extensions import db

            with self._app.app_context():
                db.session.remove()
                db.engine.dispose()
            self._app = None
        self.database.drop()


def create_instance(workdir: Path, name: str, port: int, admin_url: str | None,
                    config: dict[str, Any] | None = None) -> Instance:
    """Like `coopol init`, in process: folder, config, secret, RSA keys, migrated database."""
    from flask_migrate import upgrade

    from coopol.config import read_or_create_secret, write_instance_config
    from coopol.federation.keys import ensure_instance_keypair

    path = workdir / name
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    database = new_database(admin_url, path, name)
    values = {"name": f"Bench {name}", "url": f"http://127.0.0.1:{port}", "language": "en",
              "description": "A throw-away instance made by `python -m bench`.", "registration": "open",
              **BENCH_CONFIG, **(config or {})}
    write_instance_config(path, values)
    read_or_create_secret(path)
    ensure_instance_keypair(path)
    instance = Instance(name=name, path=path, port=port, database=database, config=values)
    try:
        with instance.app.app_context():
            upgrade(revision="heads")
    except BaseException:
        instance.dispose()
        raise
    return instance
