"""Blocking: a member blocks another member (of this instance or an ally's).

The one writer of `Block` rows. A block ends the follows between the two, either way (our member's follow
of an ally's member is undone over ActivityPub; an ally's member's follow of ours is answered `Reject`,
which federation sends on `follower_removed`), refuses new ones (follows.py), and keeps every notice the
blocked one causes from the blocker (`store.is_blocked`, the one check every notice passes).

Blocks are private: never federated, never shown to the blocked one (a refused follow says "you cannot
follow", not why).
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.accounts.services import find_member_by_reference
from coopol.core.errors import NotFound, ValidationFailed
from coopol.core.schemas import parse_id
from coopol.extensions import db
from coopol.notifications.follows import remove_follower, unfollow_target
from coopol.notifications.models import Block, FollowKind


def resolve_member(viewer: Member, reference: Any) -> Member:
    """The member named by `reference` (`alice`, `alice@ally.example`); bad input names `handle`."""
    reference = str(reference or "").strip().lstrip("@")
    member = find_member_by_reference(reference) if reference else None
    if member is None or member.is_erased:
        message = _("No member '%(handle)s'.", handle=reference[:120])
        raise NotFound(message, {"handle": [message]})
    if member.id == viewer.id:
        raise ValidationFailed.field("handle", _("You cannot block yourself."))
    return member


def find_block(member: Member, blocked: Member) -> Block | None:
    return db.session.scalar(select(Block).where(Block.member_id == member.id, Block.blocked_id == blocked.id))


def block_member(member: Member, reference: Any) -> Block:
    """Block someone; blocking them again changes nothing."""
    blocked = resolve_member(member, reference)
    existing = find_block(member, blocked)
    if existing is not None:
        return existing
    row = Block(member_id=member.id, blocked_id=blocked.id)
    db.session.add(row)
    db.session.flush()
    unfollow_target(member, FollowKind.MEMBER, str(blocked.id), blocked)
    remove_follower(member, blocked)
    return row


def unblock_member(member: Member, reference: Any) -> None:
    """Unblock someone; not blocking them is fine. Follows ended by the block do not come back."""
    blocked = resolve_member(member, reference)
    row = find_block(member, blocked)
    if row is not None:
        db.session.delete(row)
        db.session.flush()


def list_blocks(member: Member, *, cursor: str | None = None, limit: int = 50
                ) -> tuple[list[tuple[Block, Member]], str | None]:
    """Whom a member blocks, newest first (keyset paged on the block's id)."""
    query = select(Block, Member).join(Member, Member.id == Block.blocked_id).where(Block.member_id == member.id)
    if parse_id(cursor) is not None:
        query = query.where(Block.id < parse_id(cursor))
    rows = [(block, blocked) for block, blocked in db.session.execute(
        query.order_by(Block.id.desc()).limit(limit + 1))]
    next_cursor = str(rows[limit - 1][0].id) if len(rows) > limit else None
    return rows[:limit], next_cursor


def blocks_of(member: Member) -> set[int]:
    """The ids of the members `member` blocks (for pages that show several members at once)."""
    return set(db.session.scalars(select(Block.blocked_id).where(Block.member_id == member.id)))
