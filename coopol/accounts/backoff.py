"""Per-account sign-in back-off: after `LOGIN_BACKOFF_AFTER` failed sign-ins for one account, that
account must wait before the next attempt, whatever the address it comes from.

The per-address limit (`RATELIMIT_LOGIN`) stops one machine guessing; this stops many machines
guessing one account's password. The first wait is `LOGIN_BACKOFF_SECONDS`, doubled after each
further failure up to `LOGIN_BACKOFF_MAX_SECONDS`; a successful sign-in clears the count, and the
count is forgotten a day after the first failure. Counters live in the limiter's storage
(`RATELIMIT_STORAGE_URI`: Redis when several processes serve), so every process sees them.
An unknown login is counted like a known one, so waiting says nothing about which accounts exist.
"""

from __future__ import annotations

import math
import time

from flask import current_app
from flask_babel import ngettext
from limits.storage import Storage, storage_from_string

from coopol.core.errors import RateLimited

FAILURES_KEPT_SECONDS = 24 * 3600
_EXTENSION = "coopol.login_backoff"


def _storage() -> Storage:
    app = current_app._get_current_object()
    storage = app.extensions.get(_EXTENSION)
    if storage is None:
        storage = app.extensions[_EXTENSION] = storage_from_string(
            app.config.get("RATELIMIT_STORAGE_URI") or "memory://")
    return storage


def _keys(account: str) -> tuple[str, str]:
    config = current_app.config
    base = f"coopol|{config.get('RATELIMIT_KEY_PREFIX') or ''}|{config.get('SERVER_NAME_KEY', '')}|login-backoff|"
    return base + "failures|" + account, base + "wait|" + account


def _enabled() -> bool:
    return bool(current_app.config.get("RATELIMIT_ENABLED")) and int(current_app.config["LOGIN_BACKOFF_AFTER"]) > 0


def check_login_backoff(account: str) -> None:
    """Raise `RateLimited` (429, with `Retry-After`) while this account must wait."""
    if not _enabled():
        return
    storage = _storage()
    _failures, wait = _keys(account)
    if storage.get(wait) <= 0:
        return
    seconds = max(1, math.ceil(storage.get_expiry(wait) - time.time()))
    raise RateLimited(
        ngettext("Too many failed sign-ins for this account. Please wait %(num)d second before trying again.",
                 "Too many failed sign-ins for this account. Please wait %(num)d seconds before trying again.",
                 seconds), headers={"Retry-After": str(seconds)})


def record_login_failure(account: str) -> None:
    if not _enabled():
        return
    config, storage = current_app.config, _storage()
    failures_key, wait = _keys(account)
    failures = storage.incr(failures_key, FAILURES_KEPT_SECONDS)
    allowed = int(config["LOGIN_BACKOFF_AFTER"])
    if failures >= allowed:
        seconds = min(int(config["LOGIN_BACKOFF_MAX_SECONDS"]),
                      int(config["LOGIN_BACKOFF_SECONDS"]) * 2 ** min(failures - allowed, 30))
        storage.clear(wait)
        storage.incr(wait, max(1, seconds))


def clear_login_failures(account: str) -> None:
    if not _enabled():
        return
    storage = _storage()
    for key in _keys(account):
        storage.clear(key)
