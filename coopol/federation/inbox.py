"""Receiving activities (`/inbox`, `/g/ideas/inbox`, `/u/<handle>/inbox`).

Every check of ARCHITECTURE.md runs before anything is stored: size (413), JSON (400), a signature
(401), the sender's host allied, or the activity part of the alliance handshake, or a fediverse
follower's reply or like (403), the key fetched from the actor's own host and verified over the
body's digest within the Date window (401), the key's owner is the activity's actor (401), the
activity's id and embedded objects' ids on the actor's host (403), then the handler's own `verify` (for a
vote, direct or announced, its FEP-8b32 proof when it carries one: 422, counted per host, see
content/vote_proofs.py).
A rejected request writes nothing. An accepted activity is stored once by id (a repeat is
acknowledged and ignored), processed, and answered 202; if processing fails the item stays `errored`
and the worker retries it.

On SQLite a write transaction holds the database lock, so the checks that read the database end
their transaction before any remote key is fetched over the network.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

from flask import Request, current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from coopol.core.database import reading
from coopol.core.errors import AuthenticationFailed, DomainError, PayloadTooLarge, PermissionDenied
from coopol.core.time import utcnow
from coopol.core.uow import unit_of_work
from coopol.extensions import db
from coopol.federation.activities import InboxContext, handler_for
from coopol.federation.backoff import backoff_seconds
from coopol.federation.fetch import (
    FetchError,
    cached_actor,
    cached_actor_for_key,
    fetch_actor,
    is_fresh,
    remember_actor,
)
from coopol.federation.models import INBOX_ITEM, Ally, InboxItem
from coopol.federation.outcomes import NotApplied
from coopol.federation.protocol import (
    JSON_MEDIA_TYPES,
    ActorInfo,
    ProtocolError,
    activity_summary,
    id_of,
    media_type,
    type_of,
)
from coopol.federation.signatures import (
    InvalidSignature,
    SignatureError,
    SignedRequest,
    parse_signature,
    verify_request,
)
from coopol.federation.urls import UnsafeURL, host_of

log = logging.getLogger("coopol.federation.inbox")

MAX_BODY = 1024 * 1024
DEFAULT_WINDOW_SECONDS = 3600
KEY_REFRESH_SECONDS = 60
MAX_PROCESSING_ATTEMPTS = 8


class BadActivity(DomainError):
    """A request that is not an activity we can read (400)."""

    status_code = 400


def _signature_error(error: SignatureError | FetchError) -> DomainError:
    status = getattr(error, "status_hint", 401)
    kind = {400: BadActivity, 403: PermissionDenied}.get(status, AuthenticationFailed)
    return kind(f"Signature check failed: {error}")


def read_body(request: Request) -> bytes:
    limit = int(current_app.config.get("FEDERATION_MAX_BODY", MAX_BODY))
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"Activities are limited to {limit} bytes.")
    try:
        body = request.stream.read(limit + 1)
    except RequestEntityTooLarge as error:
        raise PayloadTooLarge(f"Activities are limited to {limit} bytes.") from error
    if len(body) > limit:
        raise PayloadTooLarge(f"Activities are limited to {limit} bytes.")
    return body


def parse_body(request: Request, body: bytes) -> tuple[dict[str, Any], str, str, str]:
    if media_type(request.headers.get("Content-Type")) not in JSON_MEDIA_TYPES:
        raise BadActivity("Send ActivityPub JSON (Content-Type: application/activity+json).")
    try:
        activity = json.loads(body)
        activity_id, kind, actor_id = activity_summary(activity)
    except ValueError as error:  # includes ProtocolError and JSON errors
        raise BadActivity(f"Not a readable activity: {error}") from error
    return activity, activity_id, kind, actor_id


def check_ids_on_actor_host(activity: dict[str, Any], actor_id: str, host: str) -> None:
    """The actor speaks only for ids on its own host, except an Announce by the object's own Group
    (FEP-1b12), and except Accept/Reject/TentativeAccept, whose object is the Follow (or Join) we sent."""
    if not _on_host(activity["id"], host):
        raise PermissionDenied("The activity id is not on the actor's host.")
    kind = type_of(activity)
    obj = activity.get("object")
    if kind in ("Accept", "Reject", "TentativeAccept") or not isinstance(obj, dict) or id_of(obj) is None:
        return
    if kind == "Announce":
        if _on_host(id_of(obj) or "", host) or actor_id in _audiences(obj):
            return
        raise PermissionDenied("An Announce of another host's object must come from the object's Group.")
    if not _on_host(id_of(obj) or "", host):
        raise PermissionDenied("The embedded object's id is not on the actor's host.")


def _audiences(obj: dict[str, Any]) -> set[str]:
    found = set()
    for candidate in (obj, obj.get("object")):
        if isinstance(candidate, dict):
            audience = candidate.get("audience")
            for value in audience if isinstance(audience, list) else [audience]:
                if id_of(value):
                    found.add(id_of(value))
    return found


def _on_host(url: str, host: str) -> bool:
    try:
        return host_of(url) == host
    except UnsafeURL:
        return False


def _gate(activity: dict[str, Any], ctx: InboxContext) -> None:
    handler = handler_for(activity)
    if handler is not None and handler.gate is not None:
        if handler.gate(activity, ctx):
            return
        raise PermissionDenied(f"{ctx.host} may not send this {type_of(activity)} (no matching alliance request).")
    if ctx.ally is None or not ctx.ally.is_allied:
        if handler is not None and handler.open_to is not None and handler.open_to(activity, ctx):
            return  # a fediverse follower's reply or like (content/fediverse.py decides what it does)
        raise PermissionDenied(f"{ctx.host} is not an ally of this instance.")


def receive_activity(request: Request) -> tuple[dict[str, Any], int]:
    """Run every check, store and process; returns (JSON body, 202) or raises a DomainError."""
    body = read_body(request)
    activity, activity_id, _kind, actor_id = parse_body(request, body)
    try:
        actor_host = host_of(actor_id)
    except UnsafeURL as error:
        raise BadActivity(f"The actor is not an http(s) URL: {error}") from error
    query = request.query_string.decode("latin-1")
    signed = SignedRequest(method=request.method, path=request.path + (f"?{query}" if query else ""),
                           headers=list(request.headers.items()), body=body,
                           scheme=current_app.config["URL"].split(":", 1)[0])
    try:
        parsed = parse_signature(signed)
    except SignatureError as error:
        raise _signature_error(error) from error
    if not _on_host(parsed.key_id, actor_host):
        raise AuthenticationFailed("The signing key is not on the actor's host.")

    # Phase 1, reading (a read transaction: on SQLite it does not queue behind the writers): may this host
    # send this activity, and do we know the key?
    with reading():
        try:
            ally = db.session.scalar(select(Ally).where(Ally.host == actor_host))
            _gate(activity, InboxContext(actor_id, actor_host, None, ally, request.path))
            check_ids_on_actor_host(activity, actor_id, actor_host)
            cached = cached_actor_for_key(parsed.key_id)
            cached_info = ((cached.ap_id, cached.public_key_pem, is_fresh(cached, KEY_REFRESH_SECONDS))
                           if cached else None)
        finally:
            db.session.rollback()  # end the read transaction before any network wait

    # Phase 2, network: verify, fetching the key from the actor's host when needed.
    window = int(current_app.config.get("FEDERATION_SIGNATURE_WINDOW", DEFAULT_WINDOW_SECONDS))
    fetched: ActorInfo | None = None
    owner: str
    if cached_info is not None:
        owner, pem, fresh = cached_info
        try:
            verify_request(signed, pem, max_skew_seconds=window)
        except InvalidSignature as error:
            if fresh:
                raise _signature_error(error) from error
            fetched = _fetch_key_owner(parsed.key_id, actor_host)  # the key may have been rotated
            _verify(signed, fetched.public_key_pem, window)
            owner = fetched.id
        except SignatureError as error:
            raise _signature_error(error) from error
    else:
        fetched = _fetch_key_owner(parsed.key_id, actor_host)
        _verify(signed, fetched.public_key_pem, window)
        owner = fetched.id
    if owner != actor_id:
        raise AuthenticationFailed("The request is signed by a key that does not belong to the activity's actor.")

    # Phase 3, writing: handler checks, store once, process.
    if db.session.scalar(select(InboxItem.id).where(InboxItem.ap_id == activity_id)) is not None:
        return {"status": "duplicate", "id": activity_id}, 202
    remote = remember_actor(fetched) if fetched is not None else cached_actor(actor_id)
    ally = db.session.scalar(select(Ally).where(Ally.host == actor_host))
    ctx = InboxContext(actor_id, actor_host, remote, ally, request.path)
    _gate(activity, ctx)  # again: the alliance may have changed while we were fetching
    handler = handler_for(activity)
    if handler is not None and handler.verify is not None:
        handler.verify(activity, ctx)
    item = InboxItem(ap_id=activity_id, type=type_of(activity) or "", actor=actor_id, host=actor_host,
                     payload=activity, state="received")
    try:
        with db.session.begin_nested():
            db.session.add(item)
    except IntegrityError:  # the same activity arrived twice at once: the other request stores it
        return {"status": "duplicate", "id": activity_id}, 202
    process_item(item, activity, ctx)
    return {"status": item.state, "id": activity_id}, 202


def _fetch_key_owner(key_id: str, actor_host: str) -> ActorInfo:
    try:
        return fetch_actor(key_id.split("#", 1)[0], allow_host=actor_host, key_id=key_id)
    except FetchError as error:
        raise _signature_error(error) from error


def _verify(signed: SignedRequest, pem: str, window: int) -> None:
    try:
        verify_request(signed, pem, max_skew_seconds=window)
    except SignatureError as error:
        raise _signature_error(error) from error


def process_item(item: InboxItem, activity: dict[str, Any], ctx: InboxContext) -> None:
    """Run the handler's `receive` in a savepoint; a failure leaves the item `errored` for a retry."""
    handler = handler_for(activity)
    now = utcnow()
    item.attempts += 1
    if handler is None:
        item.state = INBOX_ITEM.check(item.state, "ignored")
        item.processed_at = now
        return
    try:
        kept: NotApplied | None = None
        with db.session.begin_nested():
            try:
                handler.receive(activity, ctx)
            except NotApplied as reason:
                if not reason.keep:
                    raise
                kept = reason
        if kept is not None:
            raise kept
    except NotApplied as reason:  # acknowledged, changes nothing: recorded as such
        item.state = INBOX_ITEM.check(item.state, "ignored")
        item.processed_at = now
        item.last_error = f"ignored: {reason}"[:2000]
        item.next_attempt_at = None
        return
    except Exception as error:  # noqa: BLE001 - whatever failed, the item is kept for a retry
        log.warning("processing %s failed: %s", item.ap_id, error, exc_info=not isinstance(error, DomainError))
        final = item.attempts >= MAX_PROCESSING_ATTEMPTS
        item.state = INBOX_ITEM.check(item.state, "failed" if final and item.state == "errored" else "errored")
        item.last_error = f"{type(error).__name__}: {error}"[:2000]
        item.next_attempt_at = None if item.state == "failed" else now + timedelta(
            seconds=backoff_seconds(item.attempts))
        return
    item.state = INBOX_ITEM.check(item.state, "processed")
    item.processed_at = now
    item.last_error = ""
    item.next_attempt_at = None


def retry_errored(limit: int = 20) -> int:
    """Worker side: process again the errored items that are due; returns how many were tried."""
    now = utcnow()
    with unit_of_work():
        items = list(db.session.scalars(
            select(InboxItem).where(InboxItem.state == "errored", InboxItem.next_attempt_at <= now)
            .order_by(InboxItem.next_attempt_at).limit(limit).with_for_update(skip_locked=True)))
        ids = [item.id for item in items]
        for item in items:  # a lease: another worker will not pick them up meanwhile
            item.next_attempt_at = now + timedelta(minutes=10)
    for item_id in ids:
        with unit_of_work():
            item = db.session.get(InboxItem, item_id)
            if item is None or item.state != "errored":
                continue
            ally = db.session.scalar(select(Ally).where(Ally.host == item.host))
            ctx = InboxContext(item.actor, item.host, cached_actor(item.actor), ally, "")
            process_item(item, item.payload, ctx)
    return len(ids)


__all__ = ["BadActivity", "ProtocolError", "process_item", "receive_activity", "retry_errored"]
