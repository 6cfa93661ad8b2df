"""Inbox side of the groups' federation (a hook of `content.receive._dispatch`, so the same checks,
savepoint and "changes nothing" bookkeeping apply):

- announced by an ally's party Group: `Create`/`Update` of one of its `Group` actors → our copy
  (`coopol.groups.copies`), with the origin's member count; `Delete` of it from that party Group → the
  copy goes;
- a person of an ally sends `Join` to one of OUR groups → `memberships.join_group` with that person as
  the acting member (an open group: member, `Accept`; an approval group: pending until an organiser
  decides); refused by our rules (banned, locked group) → `Reject`. `Leave` or `Undo(Join)` →
  `memberships.leave_group`;
- our group's origin answers our member's `Join`: `Accept` → active, `Reject` → no membership.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.errors import DomainError
from coopol.extensions import db
from coopol.federation.actors import local_member_for_actor
from coopol.federation.content.people import member_for_actor
from coopol.federation.content.receive import Ignored, Sender
from coopol.federation.groups.actors import group_actor_id, local_group_for_actor
from coopol.federation.models import OutboxActivity
from coopol.federation.protocol import id_of, type_of
from coopol.federation.urls import UnsafeURL, host_of
from coopol.groups.models import Group

log = logging.getLogger("coopol.federation.groups")

# Join targets other than groups (gatherings): each returns True when it handled the activity.
JOIN_TARGETS: list[Any] = []


def _host(url: str | None) -> str | None:
    try:
        return host_of(url or "")
    except UnsafeURL:
        return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, dict):
        return _int(value.get("totalItems"))
    return None


# ------------------------------------------------------------------------------ ally's groups


def store_group(document: dict[str, Any], sender: Sender) -> Group:
    from coopol.federation.content.objects import body_of
    from coopol.groups.copies import store_group_copy

    ap_id = id_of(document)
    if not ap_id or _host(ap_id) != sender.host or sender.actor != ap_id:
        raise Ignored("a group is described by itself, on its own host")
    slug = document.get("preferredUsername") if isinstance(document.get("preferredUsername"), str) else ""
    slug = slug.removesuffix(".group") or ap_id.rstrip("/").rsplit("/", 1)[-1]
    count = _int(document.get("memberCount"))
    if count is None:
        count = _int(document.get("members"))
    return store_group_copy(
        ap_id=ap_id, origin_host=sender.host, origin_name=sender.origin_name, slug=slug.lower(),
        name=document.get("name") if isinstance(document.get("name"), str) else slug,
        description=body_of({**document, "content": document.get("summary")}, 10_000),
        kind=document.get("kind"), scope=document.get("scope"),
        joining=document.get("joining") or ("open" if document.get("openness") == "open" else "approval"),
        member_count=count, url=document.get("url") if isinstance(document.get("url"), str) else None)


def _on_group_document(activity: dict[str, Any], sender: Sender) -> bool:
    if not sender.announced:
        raise Ignored("an ally's groups reach us through its party Group")
    store_group(activity["object"], sender)
    return True


def _on_delete(activity: dict[str, Any], sender: Sender) -> bool:
    from coopol.groups.copies import find_copy, remove_group_copy

    copy = find_copy(id_of(activity.get("object")))
    if copy is None:
        return False
    if copy.is_local or copy.origin_host != sender.host or sender.actor not in (sender.ally_group, copy.ap_id):
        raise Ignored("a group is removed by its origin")
    remove_group_copy(copy)
    return True


# -------------------------------------------------------------------------------- joining


def _on_join(activity: dict[str, Any], sender: Sender) -> bool:
    from coopol.federation.groups.publish import answer_join
    from coopol.groups import guards, memberships

    target = id_of(activity.get("object"))
    group = local_group_for_actor(target)
    if group is None or target != group_actor_id(group):
        return False
    if sender.announced or _host(sender.actor) != sender.host or id_of(activity.get("actor")) != sender.actor:
        raise Ignored("a person joins in their own name")
    member = member_for_actor(sender.actor)
    join = {"id": activity.get("id"), "type": "Join", "actor": sender.actor, "object": target}
    before = guards.membership_of(group, member)
    try:
        with db.session.begin_nested():
            membership = memberships.join_group(member, group)
    except DomainError as error:  # banned here, a locked or removed group: told, nothing applied
        answer_join(target, member, target, False, join=join, summary=error.message)
        return True
    if before is not None and membership.state == "active":
        answer_join(target, member, target, True, join=join)  # asked again: the answer again
    return True


def _on_leave(activity: dict[str, Any], sender: Sender, target: str | None) -> bool:
    from coopol.groups import memberships

    group = local_group_for_actor(target)
    if group is None or target != group_actor_id(group):
        return False
    if sender.announced or _host(sender.actor) != sender.host:
        raise Ignored("a person leaves in their own name")
    member = db.session.scalar(select(Member).where(Member.ap_id == sender.actor))
    if member is None:
        raise Ignored("not a member")
    memberships.leave_group(member, group)
    return True


def _undone_join_target(inner: Any) -> str | None:
    if isinstance(inner, dict):
        return id_of(inner.get("object"))
    row = db.session.scalar(select(OutboxActivity).where(OutboxActivity.ap_id == id_of(inner)))
    return id_of(row.payload.get("object")) if row is not None else None


def joined_by_us(answer: dict[str, Any]) -> tuple[Member, str] | None:
    """(our member, target) of the Join an Accept or Reject answers: embedded, or found in our outbox by
    id. None when it is not one of our members' Joins."""
    inner = answer.get("object")
    if isinstance(inner, str) or (isinstance(inner, dict) and not inner.get("actor") and inner.get("id")):
        row = db.session.scalar(select(OutboxActivity).where(OutboxActivity.ap_id == id_of(inner),
                                                             OutboxActivity.type == "Join"))
        inner = row.payload if row is not None else None
    if not isinstance(inner, dict):
        return None
    member = local_member_for_actor(id_of(inner.get("actor")) or "")
    target = id_of(inner.get("object"))
    if member is None or not target:
        return None
    return member, target


def _on_answer(activity: dict[str, Any], sender: Sender) -> bool:
    from coopol.groups.copies import find_copy, settle_join

    found = joined_by_us(activity)
    if found is None or type_of(activity) == "TentativeAccept":
        return False
    member, target = found
    copy = find_copy(target)
    if copy is None or copy.is_local:
        return False
    if sender.announced or copy.origin_host != sender.host or sender.actor != copy.ap_id:
        raise Ignored("a group answers for itself")
    settle_join(copy, member, type_of(activity) == "Accept")
    return True


def dispatch(activity: dict[str, Any], sender: Sender) -> bool:
    """`content.receive.DISPATCH_HOOKS`: True when the activity was about groups (or a Join target)."""
    kind, inner = type_of(activity), type_of(activity.get("object"))
    if kind in ("Create", "Update") and inner == "Group":
        return _on_group_document(activity, sender)
    if kind == "Delete":
        return _on_delete(activity, sender)
    if kind == "Join":
        return _on_join(activity, sender) or any(hook(activity, sender) for hook in JOIN_TARGETS)
    if kind == "Leave":
        return _on_leave(activity, sender, id_of(activity.get("object"))) or \
            any(hook(activity, sender) for hook in JOIN_TARGETS)
    if kind == "Undo" and inner == "Join":
        return _on_leave(activity, sender, _undone_join_target(activity.get("object"))) or \
            any(hook(activity, sender) for hook in JOIN_TARGETS)
    if kind in ("Accept", "Reject", "TentativeAccept") and inner in ("Join", None):
        return _on_answer(activity, sender) or any(hook(activity, sender) for hook in JOIN_TARGETS)
    return False
