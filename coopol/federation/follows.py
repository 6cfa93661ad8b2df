"""Members following members across allied instances: both directions in ActivityPub.

The notifications package owns follows and asks here only whether a host is allied (`set_ally_check`).

Ours → theirs: following an ally's member sends `Follow` of their `Person` (to their instance's shared
inbox); the follow is `pending` until their `Accept` (then `active`); their `Reject` (refused, or an
accepted follow they removed) drops it quietly. Unfollowing or blocking sends `Undo(Follow)`; erasure
sends the `Delete` of the Person, which ends the follows on allies.

Theirs → ours: a `Follow` of one of our members' `Person` by an allied instance's Person is a follow row
(the follower is their member's local copy, `member_for_actor`), the followed member is told ("new
follower"), and our Person answers `Accept`; `Undo(Follow)` removes it. Followers of Persons are allies'
members only for now (a non-ally's actor would receive nothing: our Persons publish to allies only), so
a `Follow` from any other host is answered `Reject`, as is one from a member the followed one blocks.
When our member blocks (or erases) a remote follower, their instance is told with a `Reject` of its Follow
(what Mastodon reads as "removed"). Blocks themselves are never federated.

The alliance handshake and fediverse followers of Groups keep their own handlers (alliances.py,
followers.py): the handlers here take over the activities about Persons and pass everything else on.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.errors import DomainError, PermissionDenied
from coopol.core.events import subscribe
from coopol.extensions import db
from coopol.federation.activities import ActivityHandler, InboxContext, register_handler, registered_handler
from coopol.federation.actors import local_member_for_actor, member_actor_id
from coopol.federation.alliances import find_ally, is_allied
from coopol.federation.models import OutboxActivity
from coopol.federation.outbox import build_activity, enqueue_activity
from coopol.federation.protocol import id_of
from coopol.notifications import follows
from coopol.notifications.models import Follow, FollowKind

log = logging.getLogger("coopol.federation.follows")


def _inbox_of(member: Member) -> str | None:
    ally = find_ally(member.host or "")
    if ally is None or not member.ap_id:
        return None
    return ally.shared_inbox or f"{ally.base_url.rstrip('/')}/inbox"


# --------------------------------------------------------------------------------- ours → theirs


def on_follow_created(follow: Any, member: Member, followed: Any, **_rest: Any) -> None:
    if not isinstance(followed, Member) or followed.is_local or not member.is_local:
        return
    inbox = _inbox_of(followed)
    if inbox is None:
        return
    activity = build_activity("Follow", member_actor_id(member.handle), followed.ap_id, to=[followed.ap_id])
    follow.ap_id = activity["id"]
    enqueue_activity(activity, [inbox])


def on_follow_removed(follow: Any, member: Member, followed: Any, erasure: bool = False, **_rest: Any) -> None:
    """Unfollowing or blocking: `Undo(Follow)` to their instance. Not on erasure: the member's key goes with
    them (it could not be signed), and the `Delete` of their Person ends the follow there."""
    if erasure or not isinstance(followed, Member) or followed.is_local or not member.is_local or not follow.ap_id:
        return
    inbox = _inbox_of(followed)
    if inbox is None:
        return
    actor = member_actor_id(member.handle)
    undo = build_activity("Undo", actor, {"id": follow.ap_id, "type": "Follow", "actor": actor,
                                          "object": followed.ap_id}, to=[followed.ap_id])
    enqueue_activity(undo, [inbox])


def on_follower_removed(follow: Any, member: Member, followed: Any, **_rest: Any) -> None:
    """Our member ended a remote member's follow of them (a block): their instance drops it."""
    if not isinstance(followed, Member) or not followed.is_local or member.is_local or not follow.ap_id:
        return
    inbox = _inbox_of(member)
    if inbox is None:
        return
    _answer("Reject", followed, {"id": follow.ap_id, "type": "Follow", "actor": member.ap_id,
                                 "object": member_actor_id(followed.handle)}, inbox)


# --------------------------------------------------------------------------------- theirs → ours


def _answer(kind: str, followed: Member, follow: dict[str, Any], inbox: str, summary: str | None = None) -> None:
    """`Accept` or `Reject` of a Follow of our member's Person, from that Person."""
    answer = build_activity(kind, member_actor_id(followed.handle), follow, to=[follow["actor"]])
    if summary:
        answer["summary"] = summary[:2000]
    enqueue_activity(answer, [inbox])


def _our_person(url: str | None) -> Member | None:
    return local_member_for_actor(url) if url else None


def _followed_person(activity: dict[str, Any]) -> Member | None:
    return _our_person(id_of(activity.get("object")))


def _receive_person_follow(activity: dict[str, Any], ctx: InboxContext) -> None:
    followed = _followed_person(activity)
    if followed is None:  # erased meanwhile
        return
    follow = {"id": activity["id"], "type": "Follow", "actor": ctx.actor_id, "object": member_actor_id(followed.handle)}
    if ctx.ally is None or not ctx.ally.is_allied or ctx.actor is None or ctx.actor.type != "Person":
        inbox = (ctx.actor.shared_inbox or ctx.actor.inbox) if ctx.actor is not None else None
        if inbox:
            _answer("Reject", followed, follow, inbox, "Only members of allied parties may follow members here.")
        return
    from coopol.federation.content.people import member_for_actor

    follower = member_for_actor(ctx.actor_id)
    inbox = ctx.ally.delivery_inbox
    try:
        with db.session.begin_nested():
            row = follows.follow_target(follower, FollowKind.MEMBER, str(followed.id), followed)
            row.ap_id = activity["id"]  # their Follow: what their Undo and our Reject name
            db.session.flush()
    except DomainError as error:  # blocked (either way): refused, and not told why
        log.info("Follow %s of %s refused: %s", activity["id"], followed.handle, error.message)
        _answer("Reject", followed, follow, inbox, "This member cannot be followed.")
        return
    _answer("Accept", followed, follow, inbox)


def _their_follow(activity: dict[str, Any], ctx: InboxContext) -> Follow | None:
    """The follow of one of our members that `activity` (an Undo of it) names, if the actor made it."""
    inner = activity.get("object")
    row = follows.find_member_follow(id_of(inner))
    if row is None:
        return None
    follower = db.session.get(Member, row.member_id)
    return row if follower is not None and follower.ap_id == ctx.actor_id else None


def _is_person_undo(activity: dict[str, Any], ctx: InboxContext) -> bool:
    inner = activity.get("object")
    if isinstance(inner, dict) and _our_person(id_of(inner.get("object"))) is not None:
        return True
    return _their_follow(activity, ctx) is not None


def _verify_person_undo(activity: dict[str, Any], ctx: InboxContext) -> None:
    inner = activity.get("object")
    if isinstance(inner, dict) and id_of(inner.get("actor")) not in (None, ctx.actor_id):
        raise PermissionDenied("This Undo does not name the actor's own Follow.")


def _receive_person_undo(activity: dict[str, Any], ctx: InboxContext) -> None:
    row = _their_follow(activity, ctx)
    if row is None:  # never recorded (refused), or already undone
        return
    follower = db.session.get(Member, row.member_id)
    followed = db.session.get(Member, int(row.target))
    follows.unfollow_target(follower, FollowKind.MEMBER, row.target, followed)


def _our_follow(activity: dict[str, Any], ctx: InboxContext) -> Follow | None:
    """Our member's follow that this Accept or Reject answers, when its actor is the followed Person."""
    row = follows.find_member_follow(id_of(activity.get("object")))
    if row is None:
        return None
    follower = db.session.get(Member, row.member_id)
    followed = db.session.get(Member, int(row.target))
    if follower is None or not follower.is_local or followed is None or followed.ap_id != ctx.actor_id:
        return None
    return row


def _answers_our_person(activity: dict[str, Any], ctx: InboxContext) -> bool:
    """An answer to a Follow one of our Persons sent to this actor, whether or not it is still there (our
    member unfollowed before the answer came): acknowledged, not refused."""
    if _our_follow(activity, ctx) is not None:
        return True
    inner = activity.get("object")
    if isinstance(inner, dict) and inner.get("actor"):
        follow = inner
    else:
        sent = db.session.scalar(select(OutboxActivity).where(OutboxActivity.ap_id == id_of(inner),
                                                              OutboxActivity.type == "Follow"))
        follow = sent.payload if sent is not None else {}
    return _our_person(id_of(follow.get("actor"))) is not None and id_of(follow.get("object")) == ctx.actor_id


def _receive_accept(activity: dict[str, Any], ctx: InboxContext) -> None:
    row = _our_follow(activity, ctx)
    if row is not None:
        follows.accept_remote_follow(row.ap_id or "")


def _receive_reject(activity: dict[str, Any], ctx: InboxContext) -> None:
    row = _our_follow(activity, ctx)
    if row is not None:
        follows.refuse_remote_follow(row.ap_id or "")


# ------------------------------------------------------------------------------------ dispatch


def _take_over(kind: str, inner: str | None, applies, receive, verify=None) -> None:
    """Register (kind, inner) so that activities `applies` to are ours; the rest go to the handler before."""
    before: ActivityHandler | None = registered_handler(kind, inner)

    def gate(activity: dict[str, Any], ctx: InboxContext) -> bool:
        if applies(activity, ctx):
            return True
        return bool(before is not None and before.gate is not None and before.gate(activity, ctx))

    def verify_either(activity: dict[str, Any], ctx: InboxContext) -> None:
        if applies(activity, ctx):
            if verify is not None:
                verify(activity, ctx)
        elif before is not None and before.verify is not None:
            before.verify(activity, ctx)

    def receive_either(activity: dict[str, Any], ctx: InboxContext) -> None:
        if applies(activity, ctx):
            receive(activity, ctx)
        elif before is not None:
            before.receive(activity, ctx)

    register_handler(kind, receive_either, verify=verify_either, inner_type=inner, gate=gate,
                     open_to=before.open_to if before is not None else None)


def _verify_person_follow(activity: dict[str, Any], ctx: InboxContext) -> None:
    if ctx.actor is None:
        raise PermissionDenied("The follower's actor document could not be read.")


def register_handlers() -> None:
    """After alliances' and followers' handlers (which stay in charge of Groups): `federation.register`
    registers those first on every `create_app`, so each app wraps them once."""
    _take_over("Follow", None, lambda a, ctx: _followed_person(a) is not None, _receive_person_follow,
               _verify_person_follow)
    _take_over("Undo", "Follow", _is_person_undo, _receive_person_undo, _verify_person_undo)
    for inner in ("Follow", None):  # Mastodon may answer with the Follow's id instead of the object
        _take_over("Accept", inner, _answers_our_person, _receive_accept)
        _take_over("Reject", inner, _answers_our_person, _receive_reject)


def register(app: Flask) -> None:
    from coopol.notifications.follows import set_ally_check

    set_ally_check(app, is_allied)
    register_handlers()
    subscribe(app, "follow_created", on_follow_created)
    subscribe(app, "follow_removed", on_follow_removed)
    subscribe(app, "follower_removed", on_follower_removed)
