"""Members following members of allied instances: our side of it in ActivityPub.

The notifications package owns follows and asks here only whether a host is allied (`set_ally_check`).
A follow of an ally's member is sent as `Follow` of their `Person` (to their instance's shared inbox),
and unfollowing or erasure sends `Undo(Follow)`. Their ideas reach our feed through the copies their
Group announces to us, so the follow counts here at once; an `Accept` from them changes nothing more.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from coopol.accounts.models import Member
from coopol.core.events import subscribe
from coopol.federation.actors import member_actor_id
from coopol.federation.alliances import find_ally, is_allied
from coopol.federation.outbox import build_activity, enqueue_activity


def _inbox_of(member: Member) -> str | None:
    ally = find_ally(member.host or "")
    if ally is None or not member.ap_id:
        return None
    return ally.shared_inbox or f"{ally.base_url.rstrip('/')}/inbox"


def on_follow_created(follow: Any, member: Member, followed: Any, **_rest: Any) -> None:
    if not isinstance(followed, Member) or followed.is_local or not member.is_local:
        return
    inbox = _inbox_of(followed)
    if inbox is None:
        return
    activity = build_activity("Follow", member_actor_id(member.handle), followed.ap_id, to=[followed.ap_id])
    follow.ap_id = activity["id"]
    enqueue_activity(activity, [inbox])


def on_follow_removed(follow: Any, member: Member, followed: Any, **_rest: Any) -> None:
    if not isinstance(followed, Member) or followed.is_local or not follow.ap_id:
        return
    inbox = _inbox_of(followed)
    if inbox is None:
        return
    actor = member_actor_id(member.handle)
    undo = build_activity("Undo", actor, {"id": follow.ap_id, "type": "Follow", "actor": actor,
                                          "object": followed.ap_id}, to=[followed.ap_id])
    enqueue_activity(undo, [inbox])


def register(app: Flask) -> None:
    from coopol.notifications.follows import set_ally_check

    set_ally_check(app, is_allied)
    subscribe(app, "follow_created", on_follow_created)
    subscribe(app, "follow_removed", on_follow_removed)
