"""Bans travel between allies (FEP-1b12, as Lemmy does for community bans).

- Our moderators ban a person (one of ours, or a remote person): our Group sends
  `Block {actor: our Group, object: the person, target: our Group, summary: reason}` to every ally;
  lifting the ban (unban, or an appeal reversing it) sends `Undo` of that Block.
- An ally's Group sends us a `Block` (only that Group may, and only for itself): we record that the
  person is banned by that ally (`AllyBan`); its `Undo` lifts it. While in force, our members
  concerned may not comment or vote on copies of that ally's ideas here (a check the ideas module runs
  before writing anything, see `coopol.ideas.guards.add_action_check`).
- Lemmy bans from a community with a `Block` whose actor is one of its moderators (sent to the banned
  person's instance, and announced by the community to its followers): a Block or its Undo is also
  taken from a moderator that the ally's Group lists (its `moderators`, or the collection its
  `attributedTo` names, as Lemmy does); from anyone else it is refused.
- Deliveries may arrive out of order (a retried Block after its Undo): a lifted ban keeps its row, so a
  Block that was already undone is ignored, and a Block or Undo older (`published`) than the latest
  decision applied changes nothing. An Undo that arrives first leaves a lifted row for its Block.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.errors import DomainError, PermissionDenied
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.federation.activities import InboxContext, register_handler
from coopol.federation.actors import group_id
from coopol.federation.content.objects import _datetime, _iso, actor_id
from coopol.federation.fetch import FetchError, fetch_document
from coopol.federation.inbox import BadActivity
from coopol.federation.models import Ally, AllyBan, OutboxActivity
from coopol.federation.outbox import ally_inboxes, build_activity, enqueue_activity
from coopol.federation.protocol import ProtocolError, id_of, type_of
from coopol.federation.urls import UnsafeURL, host_of
from coopol.ideas.models import Idea

log = logging.getLogger("coopol.federation.content")
REASON_MAX = 2000


def _followers() -> str:
    return f"{group_id()}/followers"


# ------------------------------------------------------------------------------- outgoing


def _person(member: Member) -> str | None:
    if member.is_local:
        return actor_id(member)
    return member.ap_id or None


def _last_block(person: str) -> dict[str, Any] | None:
    """The latest Block of `person` our Group sent (bans are rare: a short scan of our outbox)."""
    rows = db.session.scalars(select(OutboxActivity).where(OutboxActivity.type == "Block",
                                                           OutboxActivity.actor == group_id())
                              .order_by(OutboxActivity.id.desc()))
    return next((row.payload for row in rows if id_of(row.payload.get("object")) == person), None)


def on_member_banned(member: Member, action: Any = None, **_: Any) -> None:
    person = _person(member)
    targets = ally_inboxes()
    if not person or not targets:
        return
    reason = (getattr(action, "reason", "") or "banned")[:REASON_MAX]
    group = group_id()
    enqueue_activity(build_activity("Block", group, person, target=group, summary=reason,
                                    to=[_followers()], audience=group, published=_iso(utcnow())), targets)


def on_member_reinstated(member: Member, action: Any = None, **_: Any) -> None:
    """After a ban only (an unban, or an appeal that reversed the ban), not after a suspension."""
    if getattr(action, "action", None) not in ("ban", "unban"):
        return
    person = _person(member)
    targets = ally_inboxes()
    if not person or not targets:
        return
    group = group_id()
    block = _last_block(person)
    inner = {k: v for k, v in block.items() if k != "@context"} if block else \
        {"type": "Block", "actor": group, "object": person, "target": group}
    enqueue_activity(build_activity("Undo", group, inner, to=[_followers()], audience=group,
                                    published=_iso(utcnow())), targets)


def on_alliance_formed(ally: Ally, **_: Any) -> None:
    """A new ally hears of the bans in force here (each with the reason of its latest ban decision).
    They leave a little later (`FEDERATION_BAN_SYNC_DELAY`, 60 s): the ally takes activities from us only
    once our Accept of its Follow, sent in this same transaction, has reached it."""
    from coopol.accounts.models import Status
    from coopol.moderation.models import ModerationAction

    group = group_id()
    due = utcnow() + timedelta(seconds=float(current_app.config.get("FEDERATION_BAN_SYNC_DELAY", 60)))
    banned = db.session.scalars(select(Member).where(Member.status == Status.BANNED.value,
                                                     Member.erased_at.is_(None)).order_by(Member.id))
    for member in banned:
        person = _person(member)
        if not person:
            continue
        reason = db.session.scalar(select(ModerationAction.reason)
                                   .where(ModerationAction.action == "ban", ModerationAction.target_type == "member",
                                          ModerationAction.target_id == member.id)
                                   .order_by(ModerationAction.id.desc()).limit(1)) or "banned"
        row = enqueue_activity(build_activity("Block", group, person, target=group, summary=reason[:REASON_MAX],
                                              to=[_followers()], audience=group, published=_iso(utcnow())),
                               [ally.delivery_inbox])
        for delivery in row.deliveries:
            delivery.next_attempt_at = due


# ------------------------------------------------------------------------------- incoming


def _is_actor_url(value: str) -> bool:
    try:
        host_of(value)
    except UnsafeURL:
        return False
    return len(value) <= 2048


class ModeratorsUnavailable(DomainError):
    """The ally's list of moderators cannot be read now: the sender tries again later."""

    status_code = 503


MODERATORS_MAX = 1000
COLLECTIONS = ("Collection", "OrderedCollection", "CollectionPage", "OrderedCollectionPage")


def _collection_ids(doc: dict[str, Any]) -> list[str]:
    items = doc.get("orderedItems", doc.get("items"))
    if items is None and isinstance(doc.get("first"), (dict, str)):  # paged: the first page only
        first = doc["first"]
        page = first if isinstance(first, dict) else fetch_document(first)
        items = page.get("orderedItems", page.get("items"))
    items = items if isinstance(items, list) else [items] if items else []
    return [i for i in (id_of(item) for item in items[:MODERATORS_MAX]) if i]


def moderators_of(ally: Ally) -> set[str]:
    """The persons the ally's Group lists as its moderators: its `moderators`, or what its `attributedTo`
    names (Lemmy: the URL of its moderators collection; others: the persons themselves)."""
    try:
        group = fetch_document(ally.group_id)
        found: set[str] = set()
        for ref in (group.get("moderators"), group.get("attributedTo")):
            if isinstance(ref, dict) and type_of(ref) in COLLECTIONS:
                found.update(_collection_ids(ref))
            elif isinstance(ref, str):
                doc = fetch_document(ref)
                found.update(_collection_ids(doc) if type_of(doc) in COLLECTIONS else [ref])
            elif isinstance(ref, list):
                found.update(i for i in (id_of(x) for x in ref[:MODERATORS_MAX]) if i)
    except (FetchError, UnsafeURL) as error:
        raise ModeratorsUnavailable(f"Cannot read the moderators of {ally.group_id}: {error}") from error
    found.discard(ally.group_id)
    return found


def _verify_from_group(activity: dict[str, Any], ctx: InboxContext) -> None:
    """Only an ally's own Group bans, or one of the moderators it lists, and only from that Group (not
    for another Group)."""
    if ctx.ally is None:
        raise PermissionDenied("Only the Group of an allied instance can ban or lift a ban.")
    group = ctx.ally.group_id
    block = activity if type_of(activity) == "Block" else activity.get("object")
    if isinstance(block, dict):
        target = id_of(block.get("target"))
        if target is not None and target != group:
            raise PermissionDenied("A Group bans from itself only.")
    person = id_of(block.get("object")) if isinstance(block, dict) else None
    if person is not None and not _is_actor_url(person):
        raise BadActivity("A Block names the person it bans by their actor URL.")
    if type_of(activity) == "Block" and not person:
        raise BadActivity("A Block names the person it bans.")
    if type_of(activity) == "Undo" and not (person or id_of(block)):
        raise BadActivity("An Undo of a Block names the Block or the person.")
    blocker = id_of(block.get("actor")) if isinstance(block, dict) and type_of(activity) == "Undo" else None
    others = {actor for actor in (ctx.actor_id, blocker) if actor and actor != group}
    missing = others - moderators_of(ctx.ally) if others else set()
    if ctx.actor_id in missing:
        raise PermissionDenied("Only the Group of an allied instance, or one of its moderators, can ban or lift "
                               "a ban.")
    if missing:  # the sender may, but the Block it would undo was not its Group's
        raise PermissionDenied("A Group lifts its own bans only.")


def _older(when: datetime | None, ban: AllyBan) -> bool:
    """`when` (an activity's `published`) is before the latest decision applied to `ban`."""
    return when is not None and ban.decided_at is not None and when < ban.decided_at


def _receive_block(activity: dict[str, Any], ctx: InboxContext) -> None:
    assert ctx.ally is not None
    person = id_of(activity.get("object"))
    summary = activity.get("summary")
    reason = (summary if isinstance(summary, str) else "")[:REASON_MAX]
    when = _datetime(activity.get("published"))
    ban = db.session.scalar(select(AllyBan).where(AllyBan.group_id == ctx.ally.group_id,
                                                  AllyBan.actor_id == person))
    if ban is None:
        db.session.add(AllyBan(group_host=ctx.host, group_id=ctx.ally.group_id, actor_id=person, reason=reason,
                               block_id=activity["id"], decided_at=when))
    elif ban.lifted_at is not None and ban.block_id == activity["id"]:
        log.info("Block %s from %s arrived after its Undo: ignored", activity["id"], ctx.host)
        return
    elif _older(when, ban):
        log.info("Block %s from %s is older than the latest decision on %s: ignored", activity["id"], ctx.host,
                 person)
        return
    else:  # banned (again): keep the latest reason and id
        ban.reason, ban.block_id, ban.lifted_at = reason, activity["id"], None
        ban.decided_at = when or ban.decided_at
    db.session.flush()


def _receive_undo_block(activity: dict[str, Any], ctx: InboxContext) -> None:
    assert ctx.ally is not None
    block = activity.get("object")
    where = [AllyBan.group_id == ctx.ally.group_id]
    person = id_of(block.get("object")) if isinstance(block, dict) else None
    if person:
        where.append(AllyBan.actor_id == person)
    elif id_of(block):
        where.append(AllyBan.block_id == id_of(block))
    else:
        raise ProtocolError("an Undo of a Block names the Block or the person")
    when = _datetime(activity.get("published")) or \
        (_datetime(block.get("published")) if isinstance(block, dict) else None)
    ban = db.session.scalar(select(AllyBan).where(*where))
    if ban is None:
        if not person:
            log.info("Undo of a Block %s from %s: no such ban here", id_of(block), ctx.host)
            return
        # the Undo overtook its Block: remember the lift, so that the Block, when it comes, is ignored
        db.session.add(AllyBan(group_host=ctx.host, group_id=ctx.ally.group_id, actor_id=person, reason="",
                               block_id=id_of(block) or "", lifted_at=utcnow(), decided_at=when))
    elif _older(when, ban):
        log.info("Undo of a Block %s from %s is older than the latest decision on %s: ignored", id_of(block),
                 ctx.host, ban.actor_id)
        return
    else:
        if ban.lifted_at is None:
            ban.lifted_at = utcnow()
        ban.block_id = id_of(block) or ban.block_id
        ban.decided_at = when or ban.decided_at
    db.session.flush()


def receive_announced(activity: dict[str, Any], ctx: InboxContext) -> None:
    """A Block or Undo(Block) that an ally's Group relays (Lemmy announces its moderators' bans to the
    community's followers): `ctx` is the relaying Group's, with the inner activity's actor."""
    _verify_from_group(activity, ctx)
    (_receive_block if type_of(activity) == "Block" else _receive_undo_block)(activity, ctx)


# ---------------------------------------------------------------------------------- guard


def banned_by_origin(member: Member, idea: Idea) -> AllyBan | None:
    """The ban that the origin of this copy put on our member, if any."""
    if idea.is_local or not member.is_local or not idea.origin_host:
        return None
    return db.session.scalar(select(AllyBan).where(AllyBan.group_host == idea.origin_host,
                                                   AllyBan.actor_id == actor_id(member),
                                                   AllyBan.lifted_at.is_(None)))


def check_action(member: Member, idea: Idea, action: str) -> None:
    ban = banned_by_origin(member, idea)
    if ban is None:
        return
    party = idea.origin_name or db.session.scalar(select(Ally.name).where(Ally.host == ban.group_host)) \
        or ban.group_host
    message = _("You are banned by %(party)s (%(host)s): you cannot comment or vote on its ideas.",
                party=party, host=ban.group_host)
    if ban.reason:
        message += " " + _("Reason: %(reason)s", reason=ban.reason)
    raise PermissionDenied(message)


def register(app: Flask) -> None:
    from coopol.core.events import subscribe
    from coopol.ideas.guards import add_action_check

    subscribe(app, "member_banned", on_member_banned)
    subscribe(app, "member_reinstated", on_member_reinstated)
    subscribe(app, "alliance_formed", on_alliance_formed)
    add_action_check(app, check_action)


def register_handlers() -> None:
    register_handler("Block", _receive_block, verify=_verify_from_group)
    register_handler("Undo", _receive_undo_block, verify=_verify_from_group, inner_type="Block")
