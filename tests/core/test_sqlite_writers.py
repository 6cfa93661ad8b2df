"""SQLite writers queue on our lock (threads and processes) instead of SQLite's sleeping busy handler:
every write lands, none fails with "database is locked", and the lock is handed over on commit."""

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text

from coopol.core.database import SerialWriterConnection, configure_sqlite, sqlite_engine_options

WRITER = textwrap.dedent("""
    import sys
    from sqlalchemy import create_engine, text
    from coopol.core.database import configure_sqlite, sqlite_engine_options
    configure_sqlite()
    from sqlalchemy import event
    engine = create_engine("sqlite:///" + sys.argv[1], **sqlite_engine_options({}))
    event.listen(engine, "checkout", lambda dbapi, *args: dbapi.execute("PRAGMA busy_timeout=0"))
    for _ in range(int(sys.argv[2])):
        with engine.begin() as conn:
            value = conn.execute(text("SELECT n FROM counter")).scalar_one()
            conn.execute(text("UPDATE counter SET n = :n"), {"n": value + 1})
""")


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "writers.sqlite"
    configure_sqlite()
    engine = create_engine(f"sqlite:///{path}", **sqlite_engine_options({}))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE counter (n INTEGER NOT NULL)"))
        conn.execute(text("INSERT INTO counter VALUES (0)"))
    engine.dispose()
    return path


def test_threads_and_processes_never_lose_an_increment(database: Path):
    # A read-modify-write in each transaction: any overlap of two writers would lose an increment.
    engine = create_engine(f"sqlite:///{database}", **sqlite_engine_options({}), pool_size=8)
    # No busy handler at all: without our queue, two writers meeting would fail at once ("database is
    # locked"); with it, they never meet inside SQLite.
    event.listen(engine, "checkout", lambda dbapi, *args: dbapi.execute("PRAGMA busy_timeout=0"))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(40):
                with engine.begin() as conn:
                    value = conn.execute(text("SELECT n FROM counter")).scalar_one()
                    conn.execute(text("UPDATE counter SET n = :n"), {"n": value + 1})
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    processes = [subprocess.Popen([sys.executable, "-c", WRITER, str(database), "60"],
                                  cwd=Path(__file__).resolve().parents[2]) for _ in range(2)]
    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [p.wait(timeout=120) for p in processes] == [0, 0]
    assert errors == []
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 6 * 40 + 2 * 60
    assert Path(f"{database}-writelock").exists()


def test_the_lock_is_released_by_commit_rollback_and_a_failed_transaction(database: Path):
    engine = create_engine(f"sqlite:///{database}", **sqlite_engine_options({}))
    seen = []
    event.listen(engine, "checkin", lambda dbapi, record: seen.append(dbapi._held))
    with engine.begin() as conn:
        conn.execute(text("UPDATE counter SET n = 1"))
        assert isinstance(conn.connection.dbapi_connection, SerialWriterConnection)
        assert conn.connection.dbapi_connection._held is not None
    with pytest.raises(ZeroDivisionError), engine.begin() as conn:
        conn.execute(text("UPDATE counter SET n = 2"))
        raise ZeroDivisionError
    assert seen == [None, None]
    # Another connection can write at once: nothing was left held.
    other = create_engine(f"sqlite:///{database}", **sqlite_engine_options({}))
    with other.begin() as conn:
        assert conn.execute(text("SELECT n FROM counter")).scalar_one() == 1
        conn.execute(text("UPDATE counter SET n = 3"))


def test_a_writer_waiting_on_another_process_gives_up_after_its_timeout(database: Path):
    import fcntl
    import os
    import sqlite3
    import time

    # Another process holds the lock file (an flock from a separate open file description).
    holder = os.open(f"{database}-writelock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX)
    try:
        connection = SerialWriterConnection(str(database))
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            connection.acquire_write(timeout=0.3)
        assert 0.25 < time.monotonic() - started < 5
        assert connection._held is None
        # The thread lock was given back: once the other process lets go, this writer gets through.
        fcntl.flock(holder, fcntl.LOCK_UN)
        connection.acquire_write(timeout=1)
        connection.release_write()
        connection.close()
    finally:
        os.close(holder)
