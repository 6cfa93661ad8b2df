"""Followers from the wider fediverse: any actor (a Mastodon `Person`, a Fedify server, a Lemmy user) may
follow one of our Group actors, as `fediverse_followers` allows: `open` (answered `Accept` at once),
`approval` (held for an admin, who approves or rejects), `off` (answered `Reject`). `Undo(Follow)`
ends it; an admin may revoke a follower (a `Reject` of its Follow, which Mastodon reads as "removed").

Followers are not allies (ARCHITECTURE.md): they receive the Group's `Announce`s of new ideas, official
answers and gatherings, one delivery per host (the follower's shared inbox, else its inbox), and
nothing they send counts in a party tally. A `Follow` of the party's Group by another instance's
`Group` stays the alliance handshake (alliances.py), unchanged: this module sends it there.

Generic over our Group actors: `group_actor` on each row is the followed Group's actor id. The party's
Group (/g/ideas) is one; local groups register theirs with `register_group_actor(app, is_ours)`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select

from coopol.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.federation import alliances
from coopol.federation.activities import InboxContext, register_handler
from coopol.federation.actors import group_id
from coopol.federation.models import FOLLOWER, Follower
from coopol.federation.outbox import build_activity, enqueue_activity
from coopol.federation.protocol import id_of

GROUP_ACTORS = "coopol.federation.group_actors"
MODES = ("open", "approval", "off")


def register_group_actor(app: Flask, is_ours: Callable[[str], bool]) -> None:
    """Local groups (issue: groups as `Group` actors) add the test that names one of their actor ids."""
    app.extensions.setdefault(GROUP_ACTORS, []).append(is_ours)


def is_local_group_actor(url: str | None) -> bool:
    if not url:
        return False
    if url == group_id():
        return True
    return any(is_ours(url) for is_ours in current_app.extensions.get(GROUP_ACTORS, ()))


def followers_mode() -> str:
    return current_app.config.get("FEDIVERSE_FOLLOWERS", "open")


# ------------------------------------------------------------------------------------ answers


def _follow_of(row: Follower) -> dict[str, Any]:
    return {"id": row.follow_id, "type": "Follow", "actor": row.actor_id, "object": row.group_actor}


def _answer(row: Follower, kind: str) -> int:
    """`Accept` or `Reject` of the follower's Follow, from the followed Group, to the follower's own inbox."""
    answer = build_activity(kind, row.group_actor, _follow_of(row), to=[row.actor_id])
    return enqueue_activity(answer, [row.inbox]).deliveries[0].id


def _decide(row: Follower, state: str) -> None:
    row.state = FOLLOWER.check(row.state, state)
    row.decided_at = utcnow()


@dataclass
class FollowerChange:
    follower: Follower
    delivery_ids: list[int]


def get_follower(ref: str) -> Follower:
    """A follower by its number (as `followers list` shows it) or its actor URL."""
    ref = (ref or "").strip()
    query = select(Follower)
    if ref.isdigit() and int(ref) < 2**31:
        row = db.session.get(Follower, int(ref))
    else:
        row = db.session.scalars(query.where(Follower.actor_id == ref).order_by(Follower.id)).first()
    if row is None:
        raise NotFound(f"No follower '{ref}'.")
    return row


def approve_follower(ref: str) -> FollowerChange:
    row = get_follower(ref)
    if row.state != "pending":
        raise Conflict(f"{row.actor_id} is not waiting for approval (it is {row.state}).")
    _decide(row, "accepted")
    delivery = _answer(row, "Accept")
    db.session.flush()
    return FollowerChange(row, [delivery])


def reject_follower(ref: str) -> FollowerChange:
    row = get_follower(ref)
    if row.state != "pending":
        raise Conflict(f"{row.actor_id} is not waiting for approval (it is {row.state}).")
    _decide(row, "rejected")
    delivery = _answer(row, "Reject")
    db.session.flush()
    return FollowerChange(row, [delivery])


def revoke_follower(ref: str) -> FollowerChange:
    """Remove a follower: it receives nothing more; its server is told with a `Reject` of its Follow."""
    row = get_follower(ref)
    if row.state not in ("accepted", "pending"):
        raise Conflict(f"{row.actor_id} does not follow us (it is {row.state}).")
    _decide(row, "revoked")
    delivery = _answer(row, "Reject")
    db.session.flush()
    return FollowerChange(row, [delivery])


def list_followers(state: str | None = None) -> list[Follower]:
    query = select(Follower).order_by(Follower.id)
    if state:
        if state not in FOLLOWER.states:
            raise ValidationFailed.field("state", f"Use one of: {', '.join(sorted(FOLLOWER.states))}.")
        query = query.where(Follower.state == state)
    return list(db.session.scalars(query))


def follower_counts() -> dict[str, int]:
    return dict(db.session.execute(select(Follower.state, func.count(Follower.id)).group_by(Follower.state)).all())


def follower_inboxes(group_actor: str | None = None) -> list[str]:
    """Where the Group's Announces go: one inbox per host (the shared inbox when a follower has one) of the
    accepted followers of `group_actor` (the party's Group by default)."""
    rows = db.session.execute(select(Follower.host, Follower.shared_inbox, Follower.inbox)
                              .where(Follower.group_actor == (group_actor or group_id()),
                                     Follower.state == "accepted")
                              .order_by(Follower.host, Follower.shared_inbox.is_(None), Follower.id)).all()
    by_host: dict[str, str] = {}
    for host, shared, inbox in rows:
        by_host.setdefault(host, shared or inbox)
    return list(by_host.values())


def count_followers(group_actor: str | None = None) -> int:
    return db.session.scalar(select(func.count(Follower.id)).where(
        Follower.group_actor == (group_actor or group_id()), Follower.state == "accepted")) or 0


def is_follower(actor_id: str) -> bool:
    """An accepted follower of one of our Groups: it may reply and like (per `fediverse_replies`)."""
    return db.session.scalar(select(Follower.id).where(Follower.actor_id == actor_id,
                                                       Follower.state == "accepted").limit(1)) is not None


# ------------------------------------------------------------------------------ inbox handlers


def _is_alliance(activity: dict[str, Any], ctx: InboxContext) -> bool:
    """The alliance handshake, unchanged: another instance's Group following our party's Group."""
    return id_of(activity.get("object")) == group_id() and ctx.actor is not None and ctx.actor.type == "Group"


def _follow_gate(activity: dict[str, Any], ctx: InboxContext) -> bool:
    return is_local_group_actor(id_of(activity.get("object")))  # anyone may ask; the rules decide


def _verify_follow(activity: dict[str, Any], ctx: InboxContext) -> None:
    if ctx.actor is None:
        raise PermissionDenied("The follower's actor document could not be read.")
    if _is_alliance(activity, ctx):
        alliances._verify_follow(activity, ctx)


def _receive_follow(activity: dict[str, Any], ctx: InboxContext) -> None:
    if _is_alliance(activity, ctx):
        alliances._receive_follow(activity, ctx)
        return
    actor = ctx.actor
    assert actor is not None
    group = id_of(activity.get("object")) or ""
    row = db.session.scalar(select(Follower).where(Follower.group_actor == group, Follower.actor_id == actor.ap_id))
    if row is None:
        row = Follower(group_actor=group, actor_id=actor.ap_id, host=ctx.host, state="pending")
        db.session.add(row)
    row.name = (actor.name or actor.preferred_username or "")[:200]
    row.inbox = actor.inbox
    row.shared_inbox = actor.shared_inbox
    row.follow_id = activity["id"]
    mode = followers_mode()
    if row.state == "accepted":  # a repeated Follow (their server lost our Accept): confirm again
        _answer(row, "Accept")
    elif mode == "open":
        _decide(row, "accepted")
        _answer(row, "Accept")
    elif mode == "approval":
        if row.state != "pending":
            _decide(row, "pending")
    else:
        _decide(row, "rejected")
        _answer(row, "Reject")
    db.session.flush()


def _follower_of_undo(activity: dict[str, Any], ctx: InboxContext) -> Follower | None:
    follow = activity.get("object")
    query = select(Follower).where(Follower.actor_id == ctx.actor_id)
    if isinstance(follow, dict) and is_local_group_actor(id_of(follow.get("object"))):
        query = query.where(Follower.group_actor == id_of(follow.get("object")))
    else:
        query = query.where(Follower.follow_id == id_of(follow))
    return db.session.scalars(query.order_by(Follower.id)).first()


def _is_ally_undo(ctx: InboxContext) -> bool:
    return ctx.ally is not None and ctx.ally.their_follow_id is not None and ctx.actor_id == ctx.ally.group_id


def _undo_gate(activity: dict[str, Any], ctx: InboxContext) -> bool:
    return _is_ally_undo(ctx) or _follower_of_undo(activity, ctx) is not None


def _verify_undo_follow(activity: dict[str, Any], ctx: InboxContext) -> None:
    if _is_ally_undo(ctx):
        alliances._verify_undo_follow(activity, ctx)
        return
    follow = activity.get("object")
    if isinstance(follow, dict) and id_of(follow.get("actor")) not in (None, ctx.actor_id):
        raise PermissionDenied("This Undo does not name the actor's own Follow.")


def _receive_undo_follow(activity: dict[str, Any], ctx: InboxContext) -> None:
    if _is_ally_undo(ctx):
        alliances._receive_undo_follow(activity, ctx)
        return
    row = _follower_of_undo(activity, ctx)
    if row is not None and row.state in ("accepted", "pending"):
        _decide(row, "revoked")
        db.session.flush()


def register_handlers() -> None:
    """After alliances.register_handlers: the Follow and Undo(Follow) handlers serve both."""
    register_handler("Follow", _receive_follow, verify=_verify_follow, gate=_follow_gate)
    register_handler("Undo", _receive_undo_follow, verify=_verify_undo_follow, inner_type="Follow", gate=_undo_gate)


__all__ = ["FollowerChange", "approve_follower", "follower_inboxes", "is_follower", "list_followers",
           "register_group_actor", "register_handlers", "reject_follower", "revoke_follower"]
