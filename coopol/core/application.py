"""The Flask application class, with what Flask redoes on every request done once per process.

Measured on a request that touches no database (`python -m bench.profile_requests nodb`, issue 16), a
Coopol request spent more time in the framework's bookkeeping than in its hooks: Flask asks
`inspect.iscoroutinefunction` about each of some 15 hooks per request, and the cookie session builds a
new signing serializer for every request, even one without a cookie. Both answers only change when
the app does, so they are kept:

- `ensure_sync` remembers, per function, whether it is a coroutine function (none of ours is);
- the session interface keeps one serializer per secret key (and fallbacks), and a request whose
  session stays empty and untouched saves nothing, without computing the cookie's settings.
"""

from __future__ import annotations

import gc
import os
import sys
import weakref
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer

# Functions are kept in the memo once each; a caller making new functions per request must not grow it.
_MAX_REMEMBERED_FUNCTIONS = 4096


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, with its serializer built once per secret key."""

    def __init__(self) -> None:
        self._serializer: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        key = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        kept = self._serializer
        if kept is not None and kept[0] == key:
            return kept[1]
        serializer = super().get_signing_serializer(app)
        self._serializer = (key, serializer)
        return serializer

    def save_session(self, app: Flask, session: SessionMixin, response: Any) -> None:
        if not session and not session.modified:  # nothing to set nor to delete
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)


class Coopol(Flask):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_interface = CookieSessionInterface()  # one per app: each has its own secret key
        self._sync_functions: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._sync_functions[func]
        except (KeyError, TypeError):  # TypeError: an unhashable callable
            pass
        sync = super().ensure_sync(func)
        if sync is func and len(self._sync_functions) < _MAX_REMEMBERED_FUNCTIONS:
            try:
                self._sync_functions[func] = func
            except TypeError:
                pass
        return sync


# Apps made in a process that will fork workers from it (gunicorn's `--preload`): see share_with_workers.
_FORKED_APPS: weakref.WeakSet[Flask] = weakref.WeakSet()
_AT_FORK_REGISTERED = False


def share_with_workers(app: Flask) -> None:
    """When gunicorn loads the app before forking its workers (`--preload`), the workers share the
    master's memory (modules, the app, the OpenAPI spec) page by page until they write to it. Two things
    keep that sharing worth it and safe: the master's objects are moved out of the collector's sight
    before a fork (`gc.freeze`: a collection in a worker would otherwise write to every object it
    scans, copying their pages), and each worker starts with empty database pools (a connection opened
    before the fork must not be shared by several processes). Only under gunicorn: elsewhere no one
    forks a serving process."""
    global _AT_FORK_REGISTERED
    if "gunicorn" not in sys.modules:
        return
    _FORKED_APPS.add(app)
    if not _AT_FORK_REGISTERED:
        os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
        _AT_FORK_REGISTERED = True


def _before_fork() -> None:
    if not _FORKED_APPS:
        return
    gc.collect()
    gc.freeze()


def _after_fork_in_child() -> None:
    from coopol.extensions import db

    for app in list(_FORKED_APPS):
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose(close=False)  # the parent's connections stay the parent's
