"""Receiving activities (`/inbox`, `/g/ideas/inbox`, `/u/<handle>/inbox`).

Every check of ARCHITECTURE.md runs before anything is stored: size (413), JSON (400), a signature
(401), the sender's host allied, or the activity part of the alliance handshake, or a fediverse
follower's reply or like (403), the key fetched from the actor's own host and verified over the
body's digest within the Date window (401), the key's owner is the activity's actor (401), the
activity's id and embedded objects' ids on the actor's host (403), then the handler's own `verify` (for a
vote, direct or announced, its FEP-8b32 proof when it carries one: 422, counted per host, see
content/vote_proofs.py).
A rejected request writes nothing. An accepted activity is stored raw, once by id (`INSERT … ON CONFLICT
DO NOTHING`: a repeat, even one arriving at the same moment, is acknowledged and ignored), and answered
202 `{"status": "queued"}`; `coopol worker` then applies it through the handler's `receive` (the same
domain services the web and the API call). Every check runs in read transactions (`database.reading()`;
the handler's `verify` only reads: actors it fetches are kept in `ctx.learned` and stored with the item),
so the request's one write transaction is that INSERT and its commit: on SQLite the write lock is held
for nothing else, however long the checks or a key fetch take.

Applying (`apply_queued`, each round of every worker): a claim leases received items in order of arrival
(`FOR UPDATE SKIP LOCKED`, claims one at a time), skipping an actor whose earlier item another worker
holds, so one actor's activities (a Like and its Undo, a Create and its Update) apply in the order they
came, whatever the number of workers; then each item is applied in a transaction of its own, if the
sender may still send it (the alliance may have ended meanwhile: then it is `ignored`). A failure leaves
it `errored` (what it refers to has not reached us, a dependency is down...), retried with backoff, and
`failed` after `MAX_PROCESSING_ATTEMPTS`, recorded with its last error: nothing is lost, and an item whose
worker died is taken again when its lease runs out. Votes also carry their own clock (content/clocks.py):
one delivered late changes nothing.

`federation_inbox = "inline"` (config) keeps the former behaviour for a single process without a worker:
the request applies the item itself after storing it, and answers with its state.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from flask import Request, current_app
from sqlalchemy import or_, select, text
from sqlalchemy.exc import DBAPIError
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
    actor_row,
    cached_actor,
    cached_actor_for_key,
    fetch_actor,
    is_fresh,
    remember_actor,
)
from coopol.federation.models import INBOX_ITEM, Ally, InboxItem
from coopol.federation.outbox import notify_workers
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
_CLAIM_LOCK_KEY = 0x696E_6278  # "inbx": claims of inbox items, one at a time across workers on PostgreSQL


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
    """Run every check, store the activity once; returns (JSON body, 202) or raises a DomainError.
    Queued (the default), the body is `{"status": "queued"}` and a worker applies it; inline, the request
    applies it as a worker would and answers with the item's state."""
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
    window = int(current_app.config.get("FEDERATION_SIGNATURE_WINDOW", DEFAULT_WINDOW_SECONDS))

    # Phase 1, reading (a read transaction: on SQLite it does not queue behind the writers): may this host
    # send this activity, and do we hold a key that verifies? Then, without leaving the transaction, the
    # rest of the checks (a repeat? the handler's own).
    with reading():
        try:
            ally = db.session.scalar(select(Ally).where(Ally.host == actor_host))
            ctx = InboxContext(actor_id, actor_host, None, ally, request.path)
            _gate(activity, ctx)
            check_ids_on_actor_host(activity, actor_id, actor_host)
            cached = cached_actor_for_key(parsed.key_id)
            checked = cached is not None and _verified_by(signed, cached.public_key_pem, window,
                                                          fresh=is_fresh(cached, KEY_REFRESH_SECONDS))
            if checked:
                _check_owner(cached.ap_id, actor_id)
                if _is_repeat(activity_id):
                    return {"status": "duplicate", "id": activity_id}, 202
                ctx.actor = cached
                _verify_handler(activity, ctx)
        finally:
            db.session.rollback()  # end the read transaction before any network wait or write

    if not checked:
        # Phase 2, network: fetch the key from the actor's host (unknown, or rotated), verify, and finish
        # the checks in a second read transaction.
        fetched = _fetch_key_owner(parsed.key_id, actor_host)
        _verify(signed, fetched.public_key_pem, window)
        _check_owner(fetched.id, actor_id)
        with reading():
            try:
                if _is_repeat(activity_id):
                    return {"status": "duplicate", "id": activity_id}, 202
                ally = db.session.scalar(select(Ally).where(Ally.host == actor_host))
                ctx = InboxContext(actor_id, actor_host, actor_row(fetched), ally, request.path, [fetched])
                _gate(activity, ctx)  # again: the alliance may have changed while we were fetching
                _verify_handler(activity, ctx)
            finally:
                db.session.rollback()

    # Phase 3, writing: the one short transaction of the request.
    inline = current_app.config.get("FEDERATION_INBOX", "queued") == "inline"
    lease = _lease_end() if inline else None  # inline: no worker picks it up meanwhile
    item_id = store_item(activity, ctx, lease=lease)
    if item_id is None:  # the same activity arrived twice at once: the other request stored it
        return {"status": "duplicate", "id": activity_id}, 202
    if inline:
        return {"status": apply_item(item_id, lease) or "queued", "id": activity_id}, 202
    return {"status": "queued", "id": activity_id}, 202


def _verified_by(signed: SignedRequest, pem: str, window: int, *, fresh: bool) -> bool:
    """Whether the key we hold verifies the request; False when it does not but may have been rotated
    since we fetched it (not `fresh`): then it is fetched again."""
    try:
        verify_request(signed, pem, max_skew_seconds=window)
    except InvalidSignature as error:
        if fresh:
            raise _signature_error(error) from error
        return False
    except SignatureError as error:
        raise _signature_error(error) from error
    return True


def _check_owner(owner: str, actor_id: str) -> None:
    if owner != actor_id:
        raise AuthenticationFailed("The request is signed by a key that does not belong to the activity's actor.")


def _is_repeat(activity_id: str) -> bool:
    return db.session.scalar(select(InboxItem.id).where(InboxItem.ap_id == activity_id)) is not None


def _verify_handler(activity: dict[str, Any], ctx: InboxContext) -> None:
    handler = handler_for(activity)
    if handler is not None and handler.verify is not None:
        handler.verify(activity, ctx)


def _insert_once(dialect: str):
    """INSERT … ON CONFLICT (ap_id) DO NOTHING: two requests carrying one activity store it once."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise RuntimeError(f"no INSERT … ON CONFLICT for {dialect}")
    return insert(InboxItem.__table__).on_conflict_do_nothing(index_elements=["ap_id"])


def store_item(activity: dict[str, Any], ctx: InboxContext, *, lease: datetime | None = None) -> int | None:
    """Store a checked activity once, with the actors its checks fetched (`ctx.learned`), in one short
    transaction that commits; the new item's id, or None when it was stored already. On SQLite the write
    lock is held for this INSERT alone (and, on a first contact, the actor's row); on PostgreSQL a NOTIFY
    wakes the idle workers when it commits."""
    statement = _insert_once(db.session.get_bind().dialect.name).values(
        ap_id=activity["id"], type=type_of(activity) or "", actor=ctx.actor_id, host=ctx.host, payload=activity,
        state="received", next_attempt_at=lease).returning(InboxItem.id)
    with unit_of_work():
        item_id = db.session.execute(statement).scalar_one_or_none()
        if item_id is not None:
            for actor in ctx.learned:
                remember_actor(actor)
            notify_workers()
    return item_id


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
        _ignore(item, None, now)
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
        _ignore(item, str(reason), now)
        return
    except Exception as error:  # noqa: BLE001 - whatever failed, the item is kept for a retry
        log.warning("processing %s failed: %s", item.ap_id, error, exc_info=not isinstance(error, DomainError))
        _fail(item, error, now)
        return
    item.state = INBOX_ITEM.check(item.state, "processed")
    item.processed_at = now
    item.last_error = ""
    item.next_attempt_at = None


def _ignore(item: InboxItem, reason: str | None, now: datetime) -> None:
    """Recorded as applied-and-changing-nothing (no handler, a `NotApplied`, no longer an ally)."""
    item.state = INBOX_ITEM.check(item.state, "ignored")
    item.processed_at = now
    if reason is not None:
        item.last_error = f"ignored: {reason}"[:2000]
    item.next_attempt_at = None


def _fail(item: InboxItem, error: Exception, now: datetime) -> None:
    """One more failed attempt (already counted in `item.attempts`): `errored` and due again after the
    backoff, or `failed` for good after MAX_PROCESSING_ATTEMPTS, with its error."""
    final = item.attempts >= MAX_PROCESSING_ATTEMPTS
    item.state = INBOX_ITEM.check(item.state, "failed" if final and item.state == "errored" else "errored")
    item.last_error = f"{type(error).__name__}: {error}"[:2000]
    item.next_attempt_at = None if item.state == "failed" else now + timedelta(
        seconds=backoff_seconds(item.attempts))


def _lease_end() -> datetime:
    return utcnow() + timedelta(seconds=int(current_app.config.get("FEDERATION_INBOX_LEASE", 120)))


def _serialise_claims() -> None:
    """One claim at a time, so that a claim sees the leases of every other worker's (PostgreSQL: a lock
    held until the claiming transaction ends; SQLite: its write transaction already is)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _CLAIM_LOCK_KEY})


def claim_items(limit: int = 20) -> tuple[list[int], datetime]:
    """Lease up to `limit` items to this worker: the received ones in order of arrival, then the errored
    ones that are due. An item whose actor has an earlier one leased to another worker waits for it
    (one actor's activities about one object, a Like and its Undo, a Create and its Update, are applied
    in the order they came). A worker that dies leaves items whose lease simply runs out."""
    now = utcnow()
    lease = _lease_end()
    with unit_of_work():
        _serialise_claims()
        busy = select(InboxItem.actor).where(InboxItem.state == "received", InboxItem.next_attempt_at > now)
        ids = list(db.session.scalars(
            select(InboxItem.id)
            .where(InboxItem.state == "received",
                   or_(InboxItem.next_attempt_at.is_(None), InboxItem.next_attempt_at <= now),
                   InboxItem.actor.not_in(busy))
            .order_by(InboxItem.id).limit(limit).with_for_update(skip_locked=True)))
        if len(ids) < limit:
            ids += db.session.scalars(
                select(InboxItem.id).where(InboxItem.state == "errored", InboxItem.next_attempt_at <= now)
                .order_by(InboxItem.next_attempt_at, InboxItem.id).limit(limit - len(ids))
                .with_for_update(skip_locked=True))
        if ids:
            db.session.execute(InboxItem.__table__.update().where(InboxItem.id.in_(ids))
                               .values(next_attempt_at=lease))
    return ids, lease


def apply_item(item_id: int, lease: datetime | None) -> str | None:
    """Apply one claimed item through its handler, in a transaction of its own; its new state, or None
    when it is no longer ours (applied meanwhile, or our lease ran out and another worker took it)."""
    with unit_of_work():
        item = db.session.scalar(select(InboxItem).where(InboxItem.id == item_id).with_for_update())
        if item is None or item.state not in ("received", "errored"):
            return None
        if lease is not None and item.next_attempt_at != lease:
            return None
        ally = db.session.scalar(select(Ally).where(Ally.host == item.host))
        ctx = InboxContext(item.actor, item.host, cached_actor(item.actor), ally, "")
        try:
            _gate(item.payload, ctx)  # the alliance may have ended since the activity was accepted
        except PermissionDenied as error:
            item.attempts += 1
            _ignore(item, error.message, utcnow())
            return item.state
        process_item(item, item.payload, ctx)
        return item.state


def apply_queued(limit: int = 20) -> int:
    """Worker side: apply the received items, in order of arrival, and the errored ones that are due;
    returns how many were claimed (0: nothing to do)."""
    ids, lease = claim_items(limit)
    for item_id in ids:
        try:
            apply_item(item_id, lease)
        except DBAPIError:
            raise
        except Exception as error:  # noqa: BLE001 - a bug in one item must not hold up the others
            log.exception("applying inbox item %s crashed", item_id)
            db.session.rollback()
            _record_crash(item_id, lease, error)
        finally:
            db.session.remove()
    return len(ids)


def _record_crash(item_id: int, lease: datetime, error: Exception) -> None:
    """An item whose applying failed outside its handler (the context could not be built, say) counts an
    attempt like any failure: retried with backoff, `failed` after MAX_PROCESSING_ATTEMPTS, never re-leased
    for ever."""
    with unit_of_work():
        item = db.session.scalar(select(InboxItem).where(InboxItem.id == item_id).with_for_update())
        if item is None or item.state not in ("received", "errored") or item.next_attempt_at != lease:
            return
        item.attempts += 1
        _fail(item, error, utcnow())


__all__ = ["BadActivity", "ProtocolError", "apply_item", "apply_queued", "claim_items", "process_item",
           "receive_activity", "store_item"]
