"""API tokens remembered for a short while, with revocation that takes effect at once.

Looking a token up cost more than the rest of a `GET /api/v1/me` (an ORM query joining the member:
0.6 ms of 1.4 ms of CPU, issue 16). Each process keeps, per token hash, the member it authenticates for
`TOKEN_CACHE_SECONDS` (default 60; 0 turns the cache off). What makes that safe is a *stamp* every
process can read for the price of one `stat`: the file `auth-stamp` in the instance folder, replaced
(new inode, new time) after every commit that revoked or deleted a token or changed a local member
(status, role, suspension, erasure, profile), from whichever process made it — web workers, the CLI,
the federation worker. A remembered token serves only while the stamp is the one it was remembered
under, so the next request after a revocation, in any process of the machine, looks the token up again
and is refused. Changes that do not bear on who a token authenticates are not stamped: a token's
`last_used_at`, new rows (nothing remembered can refer to them).

The remembered member is a detached copy merged into each request's session without a query
(`merge(load=False)`), so views read and change it as if it had been loaded; whether it may act
(`is_active`, a suspension that runs out) is still decided on every request.

Every process serving one instance sees the same folder on one machine (gunicorn's workers, `coopol
worker`, the CLI). Processes on several machines share the limiter's storage instead (Redis, as rate
limits: `RATELIMIT_STORAGE_URI`, which is Redis whenever several processes serve): when it is not
`memory://`, the stamp is also a counter there, raised by every stamped commit and read with each
remembered token (one GET). A stamp that cannot be read (Redis down) serves nothing remembered: the token
is looked up, as without the cache.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from flask import Flask, current_app, has_app_context
from limits.storage import Storage, storage_from_string
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, make_transient_to_detached

from coopol.accounts.models import ApiToken, Member

STAMP_FILE = "auth-stamp"
_EXTENSION = "coopol.token_cache"
_CHANGED = "coopol.auth_changed"
# Columns whose change does not bear on what a token authenticates nor on what the member's views show
# (a member's own `last_login_at` is in their export: it is stamped).
UNSTAMPED = {ApiToken: frozenset({"last_used_at"}), Member: frozenset()}


@dataclass
class Remembered:
    stamp: tuple | None
    expires_at: float
    token_id: int
    last_used_at: datetime | None
    member: Member  # detached, clean


class Unreadable(Exception):
    """The shared stamp could not be read: nothing remembered may serve."""


SHARED_STAMP_SECONDS = 30 * 24 * 3600  # the counter's life in the shared store (gone: a new stamp, still safe)


class TokenCache:
    def __init__(self, folder: Path, seconds: float, max_entries: int = 10_000, shared: Storage | None = None,
                 key: str = "") -> None:
        self.path = Path(folder) / STAMP_FILE
        self.seconds = seconds
        self.max_entries = max(1, max_entries)
        self.shared, self.key = shared, key
        self._entries: OrderedDict[str, Remembered] = OrderedDict()
        self._lock = threading.Lock()

    def stamp(self) -> tuple | None:
        try:
            found = os.stat(self.path)
            local: tuple | None = (found.st_ino, found.st_mtime_ns, found.st_size, found.st_dev)
        except OSError:
            local = None
        if self.shared is None:
            return local
        try:
            return (local, self.shared.get(self.key))
        except Exception as error:  # noqa: BLE001 (any storage error: the stamp is unknown)
            raise Unreadable(str(error)) from error

    def bump(self) -> None:
        """Make every remembered token, in every process of this instance, be looked up again."""
        self.clear()
        temporary = self.path.with_name(f".{STAMP_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            temporary.write_text(f"{time.time_ns()} {secrets.token_hex(8)}\n")
            os.replace(temporary, self.path)
        except OSError:
            temporary.unlink(missing_ok=True)
            raise
        finally:
            if self.shared is not None:
                self.shared.incr(self.key, SHARED_STAMP_SECONDS)

    def get(self, token_hash: str) -> Remembered | None:
        if self.seconds <= 0:
            return None
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        try:
            current = self.stamp()
        except Unreadable:
            return None
        if entry.expires_at < time.monotonic() or entry.stamp != current:
            with self._lock:
                self._entries.pop(token_hash, None)
            return None
        return entry

    def put(self, token_hash: str, stamp: tuple | None, token: ApiToken, member: Member) -> None:
        """Remember `member` as it was read under `stamp` (read *before* the query that loaded it, so a
        change committed in between stamps anew and this entry is never served)."""
        if self.seconds <= 0:
            return
        entry = Remembered(stamp=stamp, expires_at=time.monotonic() + self.seconds, token_id=token.id,
                           last_used_at=token.last_used_at, member=detached_copy(member))
        with self._lock:
            self._entries[token_hash] = entry
            self._entries.move_to_end(token_hash)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def detached_copy(member: Member) -> Member:
    """A clean, detached copy of the loaded columns, ready for `session.merge(copy, load=False)`."""
    state = inspect(member)
    values = {attr.key: state.dict[attr.key] for attr in state.mapper.column_attrs if attr.key in state.dict}
    copy = Member(**values)
    make_transient_to_detached(copy)
    return copy


def token_cache() -> TokenCache | None:
    return current_app.extensions.get(_EXTENSION) if has_app_context() else None


def init_token_cache(app: Flask) -> None:
    app.config.setdefault("TOKEN_CACHE_SECONDS", 60)
    config = app.config
    uri = config.get("RATELIMIT_STORAGE_URI") or "memory://"
    shared = None if uri.startswith("memory://") else storage_from_string(uri)
    key = f"coopol|{config.get('RATELIMIT_KEY_PREFIX') or ''}|{config.get('SERVER_NAME_KEY', '')}|auth-stamp"
    app.extensions[_EXTENSION] = TokenCache(Path(app.instance_path), float(config["TOKEN_CACHE_SECONDS"] or 0),
                                            shared=shared, key=key)


def _stamped_change(obj: object, deleted: bool) -> bool:
    if isinstance(obj, Member) and not obj.is_local:
        return False  # remote persons hold no tokens
    if not isinstance(obj, (ApiToken, Member)):
        return False
    if deleted:
        return True
    state = inspect(obj)
    ignored = UNSTAMPED[type(obj)]
    return any(attr.history.has_changes() for attr in state.attrs if attr.key not in ignored
               and attr.key in {c.key for c in state.mapper.column_attrs})


@event.listens_for(Session, "before_flush")
def _note_changes(session: Session, *_: object) -> None:
    if session.info.get(_CHANGED):
        return
    if any(_stamped_change(obj, False) for obj in session.dirty) or any(
            _stamped_change(obj, True) for obj in session.deleted):
        session.info[_CHANGED] = True


@event.listens_for(Session, "do_orm_execute")
def _note_bulk_changes(state) -> None:
    # UPDATE/DELETE statements on members or tokens bypass the flush: stamp whatever they change.
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and state.bind_mapper.class_ in (Member, ApiToken):
        state.session.info[_CHANGED] = True


@event.listens_for(Session, "after_commit")
def _stamp_after_commit(session: Session) -> None:
    if not session.info.pop(_CHANGED, None):
        return
    cache = token_cache()
    if cache is None:
        return
    try:
        cache.bump()
    except Exception as error:  # noqa: BLE001 (the file or the shared store)  # the change is committed; say loudly that other processes may not know yet
        current_app.logger.error("Could not replace %s (%s): other processes may accept a revoked token "
                                 "for up to %s s.", cache.path, error, cache.seconds)


@event.listens_for(Session, "after_transaction_end")
def _forget_at_the_end(session: Session, transaction) -> None:
    # A unit rolled back wrote nothing: its noted changes go with it (after_commit ran first otherwise).
    if transaction.parent is None:
        session.info.pop(_CHANGED, None)
