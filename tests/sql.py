"""What SQL a piece of work sends: `statements(app, send)` runs `send()` and returns its result with the
statements the app's engine executed meanwhile."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import event

T = TypeVar("T")


def statements(app: Any, send: Callable[[], T]) -> tuple[T, list[str]]:
    from coopol.extensions import db

    seen: list[str] = []

    def before(_conn, _cursor, statement, *_args):
        seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        return send(), seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
