"""Reactions to domain events."""

from __future__ import annotations

from sqlalchemy import delete

from coopol.accounts.models import Member
from coopol.extensions import db
from coopol.federation.models import MemberKey


def forget_member_key(member: Member, **_: object) -> None:
    """An erased member's actor is gone: its key pair goes with it."""
    db.session.execute(delete(MemberKey).where(MemberKey.member_id == member.id))
