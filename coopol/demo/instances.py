"""One example instance of the demo: where it lives, its URL, its database, and its app in this process.

The demo builds each instance as `coopol init` would (`coopol.provision`), but in its own process: one
`create_app` per instance, so creating members and seeding take no `coopol` child each. Only the servers
and workers run as processes (`processes.py`).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask

from coopol.demo.seeds import DemoError, InstanceSeed

# What the demo sets per instance; inherited values would point every instance at the same place.
PER_INSTANCE_ENV = ("COOPOL_INSTANCE", "COOPOL_URL", "COOPOL_NAME", "COOPOL_LANGUAGE", "COOPOL_LANGUAGES",
                    "COOPOL_DESCRIPTION", "COOPOL_SCOPES", "DATABASE_URL")


@dataclass(eq=False)
class Instance:
    seed: InstanceSeed
    path: Path
    port: int
    database_url: str | None
    _app: Flask | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def label(self) -> str:
        return f"{self.seed.name} ({self.seed.language})"

    def env(self) -> dict[str, str]:
        """The environment of this instance's children."""
        env = {k: v for k, v in os.environ.items() if k not in PER_INSTANCE_ENV}
        env["PYTHONUNBUFFERED"] = "1"
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        return env

    def config_values(self) -> dict[str, Any]:
        """What `coopol.toml` gets (an admin's own values, already there, are kept)."""
        seed = self.seed
        return {"name": seed.name, "url": self.url, "language": seed.language, "description": seed.description,
                "languages": list(seed.languages), "registration": "open",
                "scopes": [dict(s) for s in seed.scopes]}

    @property
    def app(self) -> Flask:
        """This instance's app in the demo process, built once, configured as its children are (the
        folder's `coopol.toml`, this instance's database; no per-instance variable of our environment)."""
        if self._app is None:
            from coopol import create_app

            saved = {k: os.environ.pop(k) for k in PER_INSTANCE_ENV if k in os.environ}
            try:
                uri = self.database_url or f"sqlite:///{self.path / 'coopol.sqlite'}"
                self._app = create_app({"INSTANCE_PATH": str(self.path), "SQLALCHEMY_DATABASE_URI": uri})
            finally:
                os.environ.update(saved)
        return self._app

    @contextmanager
    def unit(self) -> Iterator[None]:
        """One unit of work on this instance's database (committed at the end, rolled back on error)."""
        from coopol.core.uow import unit_of_work

        with self.app.app_context(), unit_of_work():
            yield

    def check_folder(self) -> None:
        config_file = self.path / "coopol.toml"
        if config_file.exists():
            with config_file.open("rb") as fh:
                existing_url = tomllib.load(fh).get("url")
            if existing_url and existing_url.rstrip("/") != self.url:
                raise DemoError(f"{self.path} was created for {existing_url}: run the demo with the same "
                                "--base-port, or use a fresh --workdir.")

    def create(self) -> None:
        """The folder, config, keys and migrated database (what `coopol init` does)."""
        from coopol.provision import prepare_instance_folder, upgrade_database

        self.check_folder()
        if self.database_url:
            create_database(self.database_url)
        prepare_instance_folder(self.path, self.config_values())
        upgrade_database(self.app)

    def close(self) -> None:
        if self._app is not None:
            from coopol.extensions import db

            with self._app.app_context():
                db.session.remove()
                db.engine.dispose()


def _last_line(text: str) -> str:
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def instance_database_url(server_url: str, slug: str) -> str:
    """`postgresql+psycopg://u@h/coopol_demo` and `fr-x` → `postgresql+psycopg://u@h/coopol_demo_fr_x`."""
    from sqlalchemy.engine import make_url

    try:
        url = make_url(server_url)
    except Exception as error:  # any parse failure is the user's input
        raise DemoError(f"--database-url: not a database URL ({error})") from None
    if not url.drivername.startswith("postgresql"):
        raise DemoError("--database-url must be a PostgreSQL URL (SQLite needs none: each instance folder "
                        "gets its own database).")
    name = f"{url.database or 'coopol_demo'}_{slug}".replace("-", "_").lower()
    if not re.fullmatch(r"[a-z0-9_]{1,63}", name):
        raise DemoError(f"--database-url: '{name}' is not a usable database name")
    return url.set(database=name).render_as_string(hide_password=False)


def create_database(database_url: str) -> None:
    """Create the instance's PostgreSQL database if it does not exist yet."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    url = make_url(database_url)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": url.database}):
                conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    except SQLAlchemyError as error:
        raise DemoError(f"--database-url: cannot create database {url.database}: "
                        f"{_last_line(str(error.orig or error))}") from None
    finally:
        admin.dispose()

