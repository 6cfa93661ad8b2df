"""What the figures were measured on: they mean nothing without it."""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
from importlib import metadata
from typing import Any

PACKAGES = ("coopol", "Flask", "Werkzeug", "SQLAlchemy", "Flask-SQLAlchemy", "flask-smorest", "marshmallow",
            "gunicorn", "psycopg", "cryptography", "requests", "matplotlib")


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def postgres_version(url: str | None) -> str | None:
    if not url or not url.startswith("postgresql"):
        return None
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SHOW server_version")).scalar_one()
    except Exception as error:  # noqa: BLE001 - the machine report must not break the bench
        return f"unknown ({type(error).__name__})"
    finally:
        engine.dispose()


def wrk_version() -> str | None:
    try:
        out = subprocess.run(["wrk", "--version"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return (out.stdout or out.stderr).splitlines()[0].strip() if (out.stdout or out.stderr) else None


def describe(database_url: str | None, load_generator: str) -> dict[str, Any]:
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    meminfo = {}
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                meminfo[key] = value.strip()
    except OSError:
        pass
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "memory": meminfo.get("MemTotal"),
        "load_average_at_start": load,
        "os": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "postgresql": postgres_version(database_url),
        "load_generator": load_generator,
        "wrk": wrk_version(),
        "packages": packages,
    }


def one_line(machine: dict[str, Any]) -> str:
    pg = f", PostgreSQL {machine['postgresql']}" if machine.get("postgresql") else ""
    pk = machine["packages"]
    return (f"{machine['cpu_model']}, {machine['cores']} cores; Python {machine['python']}, SQLite {machine['sqlite']}"
            f"{pg}; Flask {pk.get('Flask')}, SQLAlchemy {pk.get('SQLAlchemy')}, gunicorn {pk.get('gunicorn')}; "
            f"load generator: {machine['load_generator']}")
