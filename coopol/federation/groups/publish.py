"""Groups travel between allies (FEP-1b12, as ideas do), in the same transaction as the change:

- OUR group created, edited, restored, or its membership changed (the count): our party Group
  announces `Create`/`Update` of its `Group` actor document to every ally; removed or hidden by our
  moderators: our party Group sends `Delete` (allies drop their copy);
- a person of an ally asked to join one of OUR groups: the group answers `Accept` (member now, or
  when an organiser approves) or `Reject` (refused, or removed later) to the person's instance;
- OUR member asks to join an ally's group, or leaves it: `Join` / `Leave` to that ally, whose answer
  settles our copy of the membership (receive.py).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.events import subscribe
from coopol.extensions import db
from coopol.federation.actors import group_id
from coopol.federation.content.objects import actor_id
from coopol.federation.content.publish import _send_from_group, announce
from coopol.federation.groups.actors import group_actor_document, group_actor_id
from coopol.federation.models import Ally, InboxItem
from coopol.federation.outbox import ally_inboxes, build_activity, enqueue_activity
from coopol.federation.protocol import PUBLIC, id_of
from coopol.groups.models import Group


def _ally_of(host: str | None) -> Ally | None:
    if host is None:
        return None
    ally = db.session.scalar(select(Ally).where(Ally.host == host))
    return ally if ally is not None and ally.is_allied else None


def _shared(group: Group) -> bool:
    return group.is_local and group.is_listed and bool(ally_inboxes())


def announce_group(group: Group, kind: str = "Update") -> None:
    """Our party Group tells every ally what our group is now (its counts too)."""
    if not _shared(group):
        return
    document = {k: v for k, v in group_actor_document(group).items() if k != "publicKey"}
    actor = group_actor_id(group)
    announce(build_activity(kind, actor, document, to=[PUBLIC], cc=[group_id()]))


# ------------------------------------------------------------------ answers to an ally's Join


def find_join(member: Member, target: str) -> dict[str, Any]:
    """The latest `Join` of `member` (an ally's person) for `target` that we received, or its shape when
    it is gone (pruned): the answer names it."""
    rows = db.session.scalars(select(InboxItem).where(InboxItem.type == "Join", InboxItem.actor == member.ap_id)
                              .order_by(InboxItem.id.desc()).limit(200))
    for row in rows:
        payload = row.payload if isinstance(row.payload, dict) else {}
        if id_of(payload.get("object")) == target:
            return {"id": payload.get("id"), "type": "Join", "actor": member.ap_id, "object": target}
    return {"type": "Join", "actor": member.ap_id, "object": target}


def answer_join(actor: str, member: Member, target: str, accepted: bool, *, summary: str | None = None,
                join: dict[str, Any] | None = None, **extra: Any) -> None:
    """`actor` (the group, or the gathering's origin group) answers `member`'s Join of `target` on their
    own instance (nothing when that instance is no longer an ally)."""
    ally = _ally_of(member.host)
    if ally is None or not member.ap_id:
        return
    answered = join or find_join(member, target)
    activity = build_activity("Accept" if accepted else "Reject", actor, answered, to=[member.ap_id], **extra)
    if summary:
        activity["summary"] = summary[:2000]
    enqueue_activity(activity, [ally.delivery_inbox])


# --------------------------------------------------------------------------- domain events


def on_group_created(group: Group, **_: Any) -> None:
    announce_group(group, "Create")


def on_group_changed(group: Group, **_: Any) -> None:
    announce_group(group)


def _remote(member: Member | None) -> bool:
    return member is not None and not member.is_local


def on_group_joined(group: Group, actor: Member, membership: Any = None, **_: Any) -> None:
    if group.is_local:
        if _remote(actor):
            answer_join(group_actor_id(group), actor, group_actor_id(group), True)
        announce_group(group)
    elif actor.is_local:
        _to_origin(group, actor, "Join")


def on_group_join_requested(group: Group, actor: Member, **_: Any) -> None:
    if not group.is_local and actor.is_local:
        _to_origin(group, actor, "Join")


def on_membership_approved(group: Group, membership: Any, **_: Any) -> None:
    if group.is_local:
        if _remote(membership.member):
            answer_join(group_actor_id(group), membership.member, group_actor_id(group), True)
        announce_group(group)


def on_membership_rejected(group: Group, member: Member, **_: Any) -> None:
    if group.is_local and _remote(member):
        answer_join(group_actor_id(group), member, group_actor_id(group), False)


def on_group_left(group: Group, actor: Member, **_: Any) -> None:
    if group.is_local:
        announce_group(group)
    elif actor.is_local:
        _to_origin(group, actor, "Leave")


def on_group_member_removed(group: Group, member: Member, reason: str = "", **_: Any) -> None:
    if group.is_local:
        if _remote(member):
            answer_join(group_actor_id(group), member, group_actor_id(group), False, summary=reason)
        announce_group(group)


def _to_origin(group: Group, member: Member, kind: str) -> None:
    ally = _ally_of(group.origin_host)
    if ally is None or not group.ap_id:
        return
    activity = build_activity(kind, actor_id(member), group.ap_id, to=[group.ap_id])
    enqueue_activity(activity, [ally.delivery_inbox])


def on_content_removed(target_type: str, target: Any, action: Any = None, **_: Any) -> None:
    if target_type == "group" and target.is_local and ally_inboxes():
        reason = getattr(action, "reason", "") or "removed by a moderator"
        _send_from_group("Delete", {"id": group_actor_id(target), "type": "Tombstone", "formerType": "Group"},
                         summary=reason)


def on_content_restored(target_type: str, target: Any, **_: Any) -> None:
    if target_type == "group":
        announce_group(target)


EVENTS = {
    "group_created": on_group_created,
    "group_updated": on_group_changed,
    "group_handed_over": on_group_changed,
    "organiser_named": on_group_changed,
    "group_joined": on_group_joined,
    "group_join_requested": on_group_join_requested,
    "membership_approved": on_membership_approved,
    "membership_rejected": on_membership_rejected,
    "group_left": on_group_left,
    "group_member_removed": on_group_member_removed,
    "content_removed": on_content_removed,
    "content_hidden": on_content_removed,
    "content_restored": on_content_restored,
}


def subscribe_all(app: Flask) -> None:
    for event, handler in EVENTS.items():
        subscribe(app, event, handler)
