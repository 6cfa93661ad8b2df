"""Batched inserts on the models' own tables: SQLAlchemy Core executemany in chunks (SQLite), COPY
(PostgreSQL), with progress on stderr. Python-side column defaults are filled in here, since COPY
does not run them."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection

CHUNK = 5_000


class Progress:
    def __init__(self, label: str, total: int | None) -> None:
        self.label, self.total, self.done = label, total, 0
        self.started = self.last = time.monotonic()

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= 1.0 or (self.total and self.done >= self.total):
            self.last = now
            self._print(end="\r")

    def _print(self, end: str) -> None:
        rate = self.done / max(1e-6, time.monotonic() - self.started)
        of = f"/{self.total:,}" if self.total else ""
        print(f"  seeding {self.label}: {self.done:,}{of} rows ({rate:,.0f}/s)   ", end=end, file=sys.stderr,
              flush=True)

    def finish(self) -> None:
        self._print(end="\n")


def _defaults_filler(table: Table, keys: set[str]):
    fill = []
    for column in table.columns:
        if column.key in keys or column.default is None or column.autoincrement is True and column.primary_key:
            continue
        default = column.default
        if getattr(default, "is_scalar", False):
            fill.append((column.key, lambda _d=default: _d.arg))
        elif getattr(default, "is_callable", False):
            fill.append((column.key, lambda _d=default: _d.arg(None)))
    return fill


def chunks(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def bulk_insert(conn: Connection, table: Table, rows: Iterable[dict[str, Any]], *, total: int | None = None,
                label: str | None = None, progress: Progress | None = None) -> int:
    """Insert `rows` (dicts with the same keys) into `table` in chunks; returns the row count. With a
    shared `progress`, the caller reports (several tables, one line); otherwise one line per table."""
    own_progress = progress is None
    progress = progress or Progress(label or table.name, total)
    fill = None
    count = 0
    postgres = conn.dialect.name == "postgresql"
    for batch in chunks(rows, CHUNK):
        if fill is None:
            fill = _defaults_filler(table, set(batch[0]))
        if fill:
            for row in batch:
                for key, make in fill:
                    row[key] = make()
        if postgres:
            _copy(conn, table, batch)
        else:
            conn.execute(table.insert(), batch)
        count += len(batch)
        progress.add(len(batch))
    if own_progress:
        progress.finish()
    return count


def _copy(conn: Connection, table: Table, batch: list[dict[str, Any]]) -> None:
    keys = list(batch[0])
    # The types' own bind processors (TypeDecorators included) turn values into what psycopg dumps.
    processors = [table.columns[key].type.bind_processor(conn.dialect) for key in keys]
    columns = ", ".join(conn.dialect.identifier_preparer.quote(table.columns[k].name) for k in keys)
    cursor = conn.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {conn.dialect.identifier_preparer.format_table(table)} ({columns}) FROM STDIN") as copy:
        for row in batch:
            copy.write_row([row[key] if process is None else process(row[key])
                            for key, process in zip(keys, processors, strict=True)])
