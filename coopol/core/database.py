"""Engine tuning. SQLite: WAL (readers never wait for the writer), foreign keys on, a busy timeout,
and write transactions that take the write lock when they begin (`BEGIN IMMEDIATE`), so concurrent
writers queue on the busy timeout instead of failing with "database is locked" half-way through."""

from __future__ import annotations

import sqlite3

from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

_configured = False
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _reading_only() -> bool:
    return has_request_context() and request.method in SAFE_METHODS


def configure_sqlite() -> None:
    global _configured
    if _configured:
        return
    _configured = True

    @event.listens_for(Engine, "connect")
    def _on_connect(dbapi_connection, connection_record):
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        # Let SQLAlchemy's "begin" event below issue BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(Engine, "begin")
    def _on_begin(connection):
        if connection.dialect.name != "sqlite":
            return
        connection.exec_driver_sql("BEGIN" if _reading_only() else "BEGIN IMMEDIATE")
