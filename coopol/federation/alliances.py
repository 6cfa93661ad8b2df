"""Alliances between instances: our Group follows theirs and theirs follows ours, each accepted.

How an alliance becomes mutual (one admin decision on each side, no third step):
1. Admin of A runs `coopol allies request https://b.example`: A discovers B's Group (WebFinger, then
   the actor document) and sends `Follow(A.group → B.group)`. On A, B is *requested*.
2. On B, A appears *pending* (admin page, `allies list`). B's admin accepts: B sends `Accept` of that
   Follow **and its own `Follow(B.group → A.group)`**; or rejects: B sends `Reject`.
3. A receives B's Follow and accepts it at once, because A's admin asked for this alliance; A sends
   `Accept`. Both sides have now accepted each other: the alliance is mutual (*allied*).
`allies revoke HOST` (either side) cancels queued deliveries and sends `Undo(Follow)`; the receiver
ends the alliance too, so traffic stops both ways. Asking again starts over at step 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import case, func, select, update

from coopol.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coopol.core.events import publish
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.federation.activities import InboxContext, register_handler
from coopol.federation.actors import group_id, server_host
from coopol.federation.fetch import FetchError, fetch_actor
from coopol.federation.models import ALLIANCE_SIDE, Ally, Delivery
from coopol.federation.outbox import build_activity, enqueue_activity
from coopol.federation.protocol import ActorInfo, id_of, type_of
from coopol.federation.urls import UnsafeURL, host_of, normalise_host


def _set(ally: Ally, side: str, state: str) -> None:
    was_allied = ally.is_allied
    ALLIANCE_SIDE.check(getattr(ally, side), state)
    setattr(ally, side, state)
    if ally.is_allied and not was_allied:
        publish("alliance_formed", ally=ally)  # issue 6: the new ally's published ideas are backfilled


def get_ally(host: str) -> Ally:
    try:
        key = normalise_host(host)
    except UnsafeURL as error:
        raise ValidationFailed.field("host", str(error)) from error
    ally = db.session.scalar(select(Ally).where(Ally.host == key))
    if ally is None:
        raise NotFound(f"No alliance or request with '{host}'.")
    return ally


def find_ally(host: str) -> Ally | None:
    return db.session.scalar(select(Ally).where(Ally.host == host))


def is_allied(host: str) -> bool:
    ally = find_ally(host)
    return ally is not None and ally.is_allied


def _upsert_ally(group: ActorInfo, base_url: str) -> Ally:
    host = host_of(group.id)
    ally = find_ally(host)
    if ally is None:
        ally = Ally(host=host, outgoing="none", incoming="none", consecutive_failures=0, last_error="")
        db.session.add(ally)
    elif ally.group_id != group.id and ally.status in ("allied", "requested", "pending"):
        raise Conflict(f"{host} already has a Group {ally.group_id}; revoke it before allying with {group.id}.")
    ally.group_id = group.id
    ally.base_url = base_url
    ally.group_inbox = group.inbox
    ally.shared_inbox = group.shared_inbox
    ally.name = (group.name or group.preferred_username or host)[:200]
    return ally


def _send_follow(ally: Ally) -> int:
    follow = build_activity("Follow", group_id(), ally.group_id, to=[ally.group_id])
    ally.our_follow_id = follow["id"]
    _set(ally, "outgoing", "pending")
    return enqueue_activity(follow, [ally.group_inbox]).deliveries[0].id


def _answer_follow(ally: Ally, kind: str) -> int:
    follow = {"id": ally.their_follow_id, "type": "Follow", "actor": ally.group_id, "object": group_id()}
    answer = build_activity(kind, group_id(), follow, to=[ally.group_id])
    return enqueue_activity(answer, [ally.group_inbox]).deliveries[0].id


@dataclass
class AllianceChange:
    ally: Ally
    delivery_ids: list[int]


def discover_group(url: str) -> tuple[ActorInfo, str]:
    """Find the Group of the instance at `url` (a base URL, or the Group's actor URL)."""
    from coopol.federation.discovery import webfinger_group_url

    parts = urlsplit((url or "").strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValidationFailed.field("url", "Give the other instance's address, like https://ideas.party.example")
    try:
        host = normalise_host(parts.netloc, parts.scheme)
    except UnsafeURL as error:
        raise ValidationFailed.field("url", str(error)) from error
    if host == server_host():
        raise ValidationFailed.field("url", "This is our own instance.")
    base = f"{parts.scheme}://{parts.netloc}"
    try:
        group_url = url.strip() if parts.path not in ("", "/") else webfinger_group_url(base, host)
        group = fetch_actor(group_url, allow_host=host)
    except (FetchError, UnsafeURL) as error:
        raise ValidationFailed.field("url", f"Cannot discover a Coopol Group at {url}: {error}") from error
    if group.type != "Group" or host_of(group.id) != host:
        raise ValidationFailed.field("url", f"{group.id} is not a Group of {host}.")
    return group, base


def request_alliance(url: str) -> AllianceChange:
    """Ask the instance at `url` to ally: send a Follow from our Group to theirs.

    Network first (discovery), then the writes, so no transaction waits on a peer."""
    group, base = discover_group(url)
    from coopol.federation.fetch import remember_actor

    remember_actor(group)
    ally = _upsert_ally(group, base)
    if ally.is_allied:
        raise Conflict(f"{ally.host} is already an ally.")
    deliveries = [_send_follow(ally)]
    if ally.incoming == "pending" and ally.their_follow_id:  # they asked first: asking back accepts
        _set(ally, "incoming", "accepted")
        deliveries.append(_answer_follow(ally, "Accept"))
    elif ally.incoming in ("revoked", "rejected"):
        ally.incoming = "none"
    db.session.flush()
    return AllianceChange(ally, deliveries)


def accept_alliance(host: str) -> AllianceChange:
    ally = get_ally(host)
    if ally.incoming != "pending":
        raise Conflict(f"{ally.host} has no pending alliance request (it is {ally.status}).")
    _set(ally, "incoming", "accepted")
    deliveries = [_answer_follow(ally, "Accept")]
    if ally.outgoing not in ("pending", "accepted"):
        deliveries.append(_send_follow(ally))  # and ask back, which makes the alliance mutual
    db.session.flush()
    return AllianceChange(ally, deliveries)


def reject_alliance(host: str) -> AllianceChange:
    ally = get_ally(host)
    if ally.incoming != "pending":
        raise Conflict(f"{ally.host} has no pending alliance request (it is {ally.status}).")
    _set(ally, "incoming", "rejected")
    deliveries = [_answer_follow(ally, "Reject")]
    db.session.flush()
    return AllianceChange(ally, deliveries)


def _cancel_deliveries(host: str) -> None:
    db.session.execute(update(Delivery).where(Delivery.host == host, Delivery.state.in_(("pending", "retrying")))
                       .values(state="cancelled", claimed_until=None,
                               last_error="cancelled: the alliance has ended"))


def _end(ally: Ally) -> None:
    _cancel_deliveries(ally.host)
    for side in ("outgoing", "incoming"):
        if getattr(ally, side) in ("pending", "accepted"):
            _set(ally, side, "revoked")


def revoke_alliance(host: str) -> AllianceChange:
    """End the alliance (or withdraw a request): queued deliveries are cancelled, `Undo(Follow)` sent."""
    ally = get_ally(host)
    if ally.status not in ("allied", "requested", "pending"):
        raise Conflict(f"There is no alliance with {ally.host} to revoke (it is {ally.status}).")
    was_following = ally.outgoing in ("pending", "accepted") and ally.our_follow_id
    had_request = ally.incoming == "pending" and ally.their_follow_id
    _end(ally)
    deliveries = []
    if was_following:
        follow = {"id": ally.our_follow_id, "type": "Follow", "actor": group_id(), "object": ally.group_id}
        undo = build_activity("Undo", group_id(), follow, to=[ally.group_id])
        deliveries.append(enqueue_activity(undo, [ally.group_inbox]).deliveries[0].id)
    if had_request:
        deliveries.append(_answer_follow(ally, "Reject"))
    db.session.flush()
    return AllianceChange(ally, deliveries)


# ------------------------------------------------------------------------------------ health


@dataclass(frozen=True)
class AllyHealth:
    host: str
    name: str
    status: str
    group_id: str
    last_success_at: datetime | None
    last_failure_at: datetime | None
    consecutive_failures: int
    breaker_until: datetime | None
    queued: int  # deliveries waiting (pending or retrying)
    due: int  # of those, the ones whose time has come (the others wait for a retry or the breaker)
    failed: int
    last_error: str

    def as_dict(self) -> dict[str, Any]:
        return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in self.__dict__.items()}


def list_allies() -> list[AllyHealth]:
    """Every known instance with its alliance status and delivery health."""
    waiting = Delivery.state.in_(("pending", "retrying"))
    due_now = func.sum(case((Delivery.next_attempt_at <= utcnow(), 1), else_=0))
    queue = {host: (queued, int(due or 0)) for host, queued, due in db.session.execute(
        select(Delivery.host, func.count(Delivery.id), due_now).where(waiting).group_by(Delivery.host))}
    failed = dict(db.session.execute(
        select(Delivery.host, func.count(Delivery.id)).where(Delivery.state == "failed")
        .group_by(Delivery.host)).all())
    return [AllyHealth(ally.host, ally.name, ally.status, ally.group_id, ally.last_success_at, ally.last_failure_at,
                       ally.consecutive_failures, ally.breaker_until, *queue.get(ally.host, (0, 0)),
                       failed.get(ally.host, 0), ally.last_error)
            for ally in db.session.scalars(select(Ally).order_by(Ally.host))]


# ------------------------------------------------------------------------------ inbox handlers


def _follow_gate(activity: dict[str, Any], ctx: InboxContext) -> bool:
    return id_of(activity.get("object")) == group_id()  # anyone may ask; the admin decides


def _verify_follow(activity: dict[str, Any], ctx: InboxContext) -> None:
    if ctx.actor is None or ctx.actor.type != "Group":
        raise PermissionDenied("Only the Group of another instance can ask for an alliance.")


def _receive_follow(activity: dict[str, Any], ctx: InboxContext) -> None:
    actor = ctx.actor
    assert actor is not None
    info = ActorInfo(actor.ap_id, actor.type, actor.preferred_username, actor.name, actor.inbox,
                     actor.shared_inbox, actor.key_id, actor.ap_id, actor.public_key_pem)
    base = f"{urlsplit(actor.ap_id).scheme}://{urlsplit(actor.ap_id).netloc}"
    ally = _upsert_ally(info, base)
    ally.their_follow_id = activity["id"]
    if ally.outgoing in ("pending", "accepted"):  # our admin asked for this alliance: accept at once
        _set(ally, "incoming", "accepted")
        _answer_follow(ally, "Accept")
    elif ally.incoming == "accepted":  # a repeated Follow of an existing alliance: confirm again
        _answer_follow(ally, "Accept")
    else:
        _set(ally, "incoming", "pending")
    db.session.flush()


def _answer_gate(activity: dict[str, Any], ctx: InboxContext) -> bool:
    return ctx.ally is not None and ctx.ally.outgoing in ("pending", "accepted") and ctx.ally.our_follow_id is not None


def _verify_answer(activity: dict[str, Any], ctx: InboxContext) -> None:
    assert ctx.ally is not None
    follow = activity.get("object")
    if id_of(follow) != ctx.ally.our_follow_id or id_of(activity.get("actor")) != ctx.ally.group_id:
        raise PermissionDenied(f"This {type_of(activity)} does not answer our Follow of {ctx.ally.group_id}.")


def _receive_accept(activity: dict[str, Any], ctx: InboxContext) -> None:
    ally = find_ally(ctx.host)
    if ally is not None and ally.outgoing == "pending":
        _set(ally, "outgoing", "accepted")


def _receive_reject(activity: dict[str, Any], ctx: InboxContext) -> None:
    ally = find_ally(ctx.host)
    if ally is None:
        return
    if ally.outgoing == "accepted" or ally.incoming == "accepted":
        _end(ally)  # an ally rejecting our Follow leaves the alliance
    else:
        _set(ally, "outgoing", "rejected")
        if ally.incoming == "pending":
            _set(ally, "incoming", "rejected")


def _undo_gate(activity: dict[str, Any], ctx: InboxContext) -> bool:
    return ctx.ally is not None and ctx.ally.their_follow_id is not None


def _verify_undo_follow(activity: dict[str, Any], ctx: InboxContext) -> None:
    assert ctx.ally is not None
    follow = activity.get("object")
    by_someone_else = isinstance(follow, dict) and id_of(follow.get("actor")) != ctx.actor_id
    if id_of(follow) != ctx.ally.their_follow_id or by_someone_else:
        raise PermissionDenied("This Undo does not name the actor's own Follow of our Group.")


def _receive_undo_follow(activity: dict[str, Any], ctx: InboxContext) -> None:
    ally = find_ally(ctx.host)
    if ally is not None:
        _end(ally)


def register_handlers() -> None:
    register_handler("Follow", _receive_follow, verify=_verify_follow, gate=_follow_gate)
    for inner in ("Follow", None):  # Mastodon may answer with the Follow's id instead of the object
        register_handler("Accept", _receive_accept, verify=_verify_answer, inner_type=inner, gate=_answer_gate)
        register_handler("Reject", _receive_reject, verify=_verify_answer, inner_type=inner, gate=_answer_gate)
    register_handler("Undo", _receive_undo_follow, verify=_verify_undo_follow, inner_type="Follow", gate=_undo_gate)
