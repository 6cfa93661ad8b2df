"""Engine tuning. SQLite: WAL (readers never wait for the writer), foreign keys on, a busy timeout,
and write transactions that take the write lock when they begin (`BEGIN IMMEDIATE`), so concurrent
writers queue instead of failing with "database is locked" half-way through.

Writers queue on a lock of our own before `BEGIN IMMEDIATE`: a lock per process (threads), handed over
the moment the holder commits, and an `flock` on `<database>-writelock` (processes), which the one
waiting thread of each process tries every millisecond; both give up after 15 s like the busy timeout. SQLite's
own busy handler sleeps in steps of up to 100 ms, so under many concurrent writers the database sat
idle most of the time (measured: 9 votes/s with 4 web processes). The busy timeout stays as the
fallback for programs that do not take our lock (the `sqlite3` shell, say).

When the database goes away (a PostgreSQL restart, an unreadable SQLite file) requests answer 503
(see errors.py) without touching it again, and the engine recovers by itself: connections are pinged
before use (`pool_pre_ping`) and SQLAlchemy invalidates the whole pool on a disconnect error."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from flask import current_app, g, has_request_context, request
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

_configured = False
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _reading_only() -> bool:
    return has_request_context() and not g.get("coopol_writing_aside") and (
        request.method in SAFE_METHODS or bool(g.get("coopol_reading")))


@contextmanager
def writing_aside() -> Iterator[None]:
    """A short write transaction of its own, begun inside (e.g. `engine.begin()`) during a request's reading
    phase: on SQLite it queues with the other writers (BEGIN IMMEDIATE) instead of waiting in SQLite's busy
    handler, whose sleeps of up to 100 ms stalled every writer behind it."""
    previous = g.get("coopol_writing_aside", False) if has_request_context() else None
    if previous is None:
        yield
        return
    g.coopol_writing_aside = True
    try:
        yield
    finally:
        g.coopol_writing_aside = previous


def reading_only() -> bool:
    """Whether this request's transaction only reads now (a GET, or the reading phase of `reads_first`)."""
    return _reading_only()


@contextmanager
def reading() -> Iterator[None]:
    """Transactions begun inside only read (SQLite: a plain BEGIN, which does not queue behind the
    writers), e.g. the checks a POST makes before it knows whether it will write. End the transaction
    before leaving (commit or roll back): a write inside would fail on a busy database."""
    previous = g.get("coopol_reading", False)
    g.coopol_reading = True
    try:
        yield
    finally:
        g.coopol_reading = previous


def reads_first(view):
    """A view decorator for writes that read a lot first (authentication, loading, checks): everything up to
    `end_reading()` runs in a read transaction (see `reading`), the writes after it in a short one of their
    own. Without a call to `end_reading()`, the whole request only reads."""
    from functools import wraps

    @wraps(view)
    def wrapper(*args, **kwargs):
        with reading():
            g.coopol_after_reading = []
            try:
                result = view(*args, **kwargs)
            finally:
                pending, g.coopol_after_reading = g.coopol_after_reading, None
            if pending:  # the view never wrote: the bookkeeping gets a short transaction of its own
                from coopol.extensions import db

                with writing_aside(), db.engine.begin() as connection:
                    for write in pending:
                        write(connection)
            return result

    return wrapper


def write_after_reading(write) -> bool:
    """In the reading phase of `reads_first`: `write(connection)` (small bookkeeping, e.g. a token's last
    use) is done at `end_reading()`, in the request's write transaction, rather than in one of its own.
    False elsewhere (the caller writes as it would)."""
    pending = g.get("coopol_after_reading") if has_request_context() and g.get("coopol_reading") else None
    if pending is None:
        return False
    pending.append(write)
    return True


def end_reading() -> None:
    """If this request is in its reading phase (`reads_first`), end the read transaction here: what follows
    writes. The objects loaded stay loaded (the commit does not expire them): they are what the checks saw,
    and whatever may have changed since is checked again under the write transaction's lock.
    Anywhere else (a worker, the CLI, the inbox's own transaction) it does nothing."""
    if not (has_request_context() and g.get("coopol_reading")):
        return
    from coopol.core.uow import has_written
    from coopol.extensions import db

    g.coopol_reading = False
    pending, g.coopol_after_reading = g.get("coopol_after_reading") or [], None
    if not has_written():  # else the reading phase wrote after all: keep one transaction
        session = db.session()
        expire, session.expire_on_commit = session.expire_on_commit, False
        try:
            session.commit()
        finally:
            session.expire_on_commit = expire
    for write in pending:
        write(db.session.connection())


def database_unavailable(error: BaseException | None) -> bool:
    """Whether `error` says the database cannot serve right now (rather than a bug in a statement):
    connection refused or lost, server shutting down, SQLite locked or unable to open, pool exhausted."""
    if isinstance(error, exc.TimeoutError):  # the pool's: every connection stayed busy
        return True
    if isinstance(error, exc.DBAPIError):
        return bool(error.connection_invalidated) or isinstance(error, exc.OperationalError | exc.InterfaceError)
    return False


def mark_database_unavailable() -> None:
    """For the rest of this request nothing may query: the member (who may be loaded from a token, or
    expired by the rollback) is replaced by a visitor, and the locale selector stops asking for them."""
    if not has_request_context():
        return
    g.coopol_database_unavailable = True
    login_manager = getattr(current_app, "login_manager", None)
    if login_manager is not None:
        g._login_user = login_manager.anonymous_user()


def is_database_marked_unavailable() -> bool:
    return has_request_context() and bool(g.get("coopol_database_unavailable"))


def engine_options(url: str, options: dict) -> dict:
    """Every engine pings a pooled connection before handing it out, so connections a database restart
    killed are replaced rather than failing the next request. (SQLite files need no ping.)"""
    if url.startswith("sqlite"):
        return sqlite_engine_options(options)
    return {"pool_pre_ping": True, **options}


WRITE_LOCK_TIMEOUT = 15.0
_process_locks: dict[str, threading.Lock] = {}
_process_locks_guard = threading.Lock()


def _forget_process_locks() -> None:
    """In a forked child: the parent's thread locks (perhaps held at the fork) are not ours."""
    global _process_locks_guard
    _process_locks.clear()
    _process_locks_guard = threading.Lock()


os.register_at_fork(after_in_child=_forget_process_locks)


def _process_lock(path: str) -> threading.Lock:
    with _process_locks_guard:
        return _process_locks.setdefault(path, threading.Lock())


class SerialWriterConnection(sqlite3.Connection):
    """A SQLite connection whose write transactions queue on the process lock and the file lock."""

    def __init__(self, database, *args, **kwargs) -> None:
        super().__init__(database, *args, **kwargs)
        name = os.fspath(database)
        in_memory = name in ("", ":memory:") or "mode=memory" in name
        self._lock_path = None if in_memory else os.path.abspath(name.removeprefix("file:").split("?")[0]) \
            + "-writelock"
        self._lock_fd: int | None = None
        self._held: threading.Lock | None = None

    def acquire_write(self, timeout: float = WRITE_LOCK_TIMEOUT) -> None:
        if self._lock_path is None or self._held is not None:
            return
        deadline = time.monotonic() + timeout
        lock = _process_lock(self._lock_path)
        if not lock.acquire(timeout=timeout):
            raise sqlite3.OperationalError("database is locked (waited for the other writers of this process)")
        try:
            if self._lock_fd is None:
                self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            # One waiter per process tries every millisecond until the deadline (a blocking flock could
            # not time out); the hand-over is still far quicker than SQLite's sleeps of up to 100 ms.
            while True:
                try:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        raise sqlite3.OperationalError("database is locked (waited for the other writers)") \
                            from None
                    time.sleep(0.001)
        except BaseException:
            lock.release()
            raise
        self._held = lock

    def release_write(self) -> None:
        lock, self._held = self._held, None
        if lock is not None:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
            finally:
                lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.release_write()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_write()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_write()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def sqlite_engine_options(options: dict) -> dict:
    """Engine options for a SQLite database: connections that queue their writers (see above)."""
    connect_args = {**options.get("connect_args", {}), "factory": SerialWriterConnection}
    return {**options, "connect_args": connect_args}


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
        if _reading_only():
            connection.exec_driver_sql("BEGIN")
            return
        dbapi_connection = connection.connection.dbapi_connection
        queued = isinstance(dbapi_connection, SerialWriterConnection)
        if queued:
            dbapi_connection.acquire_write()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if queued:
                dbapi_connection.release_write()
            raise
