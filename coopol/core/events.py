"""A tiny synchronous publish/subscribe, scoped to one app.

Domain services publish what happened (`idea_published`, `vote_cast`, ...); other modules
(federation, notifications) subscribe in `create_app`. Handlers run inside the publisher's
transaction, so what they write (outbox rows) commits or rolls back with the change.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

Handler = Callable[..., None]
_KEY = "coopol.events"


def init_events(app: Flask) -> None:
    app.extensions[_KEY] = defaultdict(list)


def subscribe(app: Flask, event: str, handler: Handler) -> None:
    app.extensions[_KEY][event].append(handler)


def publish(name: str, /, **payload: Any) -> None:
    """`name` is positional-only, so a payload may itself carry an `event` (a gathering)."""
    for handler in list(current_app.extensions[_KEY].get(name, ())):
        handler(**payload)
