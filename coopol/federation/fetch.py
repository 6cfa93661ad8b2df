"""Fetching remote documents: only from allies (or the host being asked to ally), signed by our
instance actor, 10 s, 1 MiB (or less: `max_bytes`; streamed, the rest is never read), an ActivityPub
content type, and an `id` equal to the fetched URL."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.federation.actors import instance_signer
from coopol.federation.models import Ally, RemoteActor
from coopol.federation.protocol import (
    ACTIVITY_JSON,
    LD_JSON_PROFILE,
    ActorInfo,
    ProtocolError,
    is_activitypub_media_type,
    parse_actor,
)
from coopol.federation.transport import MAX_BODY, ResponseTooLarge, TransportError, signed_request
from coopol.federation.urls import UnsafeURL, host_of

ACCEPT = f"{ACTIVITY_JSON}, {LD_JSON_PROFILE}"
# Hosts we may fetch from: allied, or in the middle of the alliance handshake.
CONTACTABLE = ("allied", "requested", "pending")


class FetchError(Exception):
    """A remote document could not be fetched or is not acceptable; `status_hint` for an inbox."""

    status_hint = 401

    def __init__(self, message: str, status_hint: int | None = None, *, answered: int | None = None) -> None:
        super().__init__(message)
        if status_hint is not None:
            self.status_hint = status_hint
        self.answered = answered  # the HTTP status the remote answered, when it answered


class DocumentTooLarge(FetchError):
    """The document is longer than the cap it was fetched with (nothing of it is used)."""

    status_hint = 413


def may_fetch_from(host: str) -> bool:
    """Whether `host` is one we fetch from. Asked outside a transaction (a worker between two of its
    transactions), it reads on a connection of its own that it hands back at once, so no transaction
    (on SQLite: no writer lock) stays open while the document is fetched: the ally, answering, may need
    to write, or to fetch from us, while we wait."""
    query = select(Ally).where(Ally.host == host)
    if db.session().in_transaction():
        ally = db.session.scalar(query)
        return ally is not None and ally.status in CONTACTABLE
    with Session(db.engine) as session:
        ally = session.scalar(query)
        return ally is not None and ally.status in CONTACTABLE


def fetch_document(url: str, *, allow_host: str | None = None, max_bytes: int = MAX_BODY) -> dict[str, Any]:
    """GET an ActivityPub document. `allow_host` admits a host that is not allied (the handshake)."""
    return fetch_sized(url, allow_host=allow_host, max_bytes=max_bytes)[0]


def fetch_sized(url: str, *, allow_host: str | None = None, max_bytes: int = MAX_BODY) -> tuple[dict[str, Any], int]:
    """(the document, its size in bytes); `DocumentTooLarge` past `max_bytes` (at most 1 MiB)."""
    try:
        host = host_of(url)
    except UnsafeURL as error:
        raise FetchError(str(error), 400) from error
    if host != allow_host and not may_fetch_from(host):
        raise FetchError(f"{host} is not an ally: we do not fetch from it", 403)
    key_id, private_pem = instance_signer()
    try:
        result = signed_request("GET", url, key_id=key_id, private_key_pem=private_pem,
                                headers={"Accept": ACCEPT}, max_body=max(0, min(max_bytes, MAX_BODY)))
    except UnsafeURL as error:
        raise FetchError(f"refused to fetch {url}: {error}", 403) from error
    except ResponseTooLarge as error:
        raise DocumentTooLarge(str(error)) from error
    except TransportError as error:
        raise FetchError(str(error)) from error
    if result.status != 200:
        raise FetchError(f"GET {url} answered {result.status}", answered=result.status)
    if not is_activitypub_media_type(result.header("content-type")):
        raise FetchError(f"GET {url} is not ActivityPub JSON (Content-Type: {result.header('content-type')})")
    try:
        document = json.loads(result.body)
    except (ValueError, RecursionError) as error:
        raise FetchError(f"GET {url} did not return JSON") from error
    if not isinstance(document, dict):
        raise FetchError(f"GET {url} did not return a JSON object")
    if document.get("id") != url:
        raise FetchError(f"GET {url} returned a document whose id is {document.get('id')!r}")
    return document, len(result.body)


def fetch_actor(url: str, *, allow_host: str | None = None, key_id: str | None = None) -> ActorInfo:
    """Fetch and parse an actor; its key must belong to it (`owner` == id, on its host)."""
    document = fetch_document(url, allow_host=allow_host)
    try:
        actor = parse_actor(document, key_id=key_id)
    except ProtocolError as error:
        raise FetchError(f"{url}: {error}") from error
    if actor.key_owner != actor.id or host_of(actor.inbox) != host_of(actor.id):
        raise FetchError(f"{url}: its key or inbox belongs to someone else")
    if actor.shared_inbox and host_of(actor.shared_inbox) != host_of(actor.id):
        raise FetchError(f"{url}: its shared inbox is on another host")
    return actor


def cached_actor_for_key(key_id: str) -> RemoteActor | None:
    return db.session.scalar(select(RemoteActor).where(RemoteActor.key_id == key_id))


def cached_actor(actor_id: str) -> RemoteActor | None:
    return db.session.scalar(select(RemoteActor).where(RemoteActor.ap_id == actor_id))


def remember_actor(actor: ActorInfo) -> RemoteActor:
    """Insert or refresh the cached copy of a verified remote actor (flushes)."""
    row = cached_actor(actor.id)
    if row is None:
        try:  # two deliveries from a new actor may arrive at once: the second one updates the first's row
            with db.session.begin_nested():
                db.session.add(_fill(RemoteActor(ap_id=actor.id), actor))
        except IntegrityError:
            pass
        row = cached_actor(actor.id)
    _fill(row, actor)
    db.session.flush()
    return row


def actor_row(actor: ActorInfo) -> RemoteActor:
    """An unsaved row holding `actor`: what the inbox's read-only checks see before it stores the actor."""
    return _fill(RemoteActor(ap_id=actor.id), actor)


def _fill(row: RemoteActor, actor: ActorInfo) -> RemoteActor:
    row.host = host_of(actor.id)
    row.type = actor.type
    row.preferred_username = actor.preferred_username[:200]
    row.name = actor.name[:200]
    row.inbox = actor.inbox
    row.shared_inbox = actor.shared_inbox
    row.key_id = actor.key_id
    row.public_key_pem = actor.public_key_pem
    row.proof_keys = dict(actor.proof_keys) or None
    row.fetched_at = utcnow()
    return row


KEY_CACHE_SIZE = 512
_key_cache_guard = threading.Lock()


def _key_cache() -> OrderedDict[str, str]:
    return current_app.extensions.setdefault("coopol.federation.fetched_keys", OrderedDict())


def known_key(key_id: str) -> str | None:
    """The public key (PEM) `key_id` had when we last fetched and verified with it, kept in this process
    (a signed GET must not write, so it cannot store the actor as an inbox delivery does), or None."""
    with _key_cache_guard:
        cache = _key_cache()
        pem = cache.get(key_id)
        if pem is not None:
            cache.move_to_end(key_id)
        return pem


def learn_key(key_id: str, public_key_pem: str) -> None:
    """Keep the key `key_id` verified with (the least recently used ones go past `KEY_CACHE_SIZE`)."""
    with _key_cache_guard:
        cache = _key_cache()
        cache[key_id] = public_key_pem
        cache.move_to_end(key_id)
        while len(cache) > KEY_CACHE_SIZE:
            cache.popitem(last=False)


def is_fresh(row: RemoteActor, seconds: int) -> bool:
    return row.fetched_at > utcnow() - timedelta(seconds=seconds)
