"""Local groups and their memberships.

A group is a *space* (ARCHITECTURE.md): other modules show their sections in it without this package
knowing them. `member_count` always equals the group's *active* membership rows (pending requests are
not members yet); only memberships.py changes it, by atomic SQL updates.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coopol.accounts.models import Member
from coopol.core.time import UTCDateTime, utcnow
from coopol.extensions import db

NAME_MIN, NAME_MAX = 3, 100
SLUG_MIN, SLUG_MAX = 3, 64
DESCRIPTION_MAX = 10_000
URL_MAX = 2048
REASON_MAX = 2_000


class GroupKind(enum.StrEnum):
    TERRITORIAL = "territorial"  # bound to a scope of the instance's hierarchy
    THEMATIC = "thematic"


class Joining(enum.StrEnum):
    OPEN = "open"  # joining makes one a member at once
    APPROVAL = "approval"  # an organiser approves each request


class GroupState(enum.StrEnum):
    VISIBLE = "visible"
    HIDDEN = "hidden"  # by a moderator: only its members and the moderators see it
    REMOVED = "removed"  # by a moderator: gone for everyone but the moderators
    LOCKED = "locked"  # by a moderator: shown, but nobody joins or edits it


class Role(enum.StrEnum):
    MEMBER = "member"
    ORGANISER = "organiser"


class MembershipState(enum.StrEnum):
    ACTIVE = "active"
    PENDING = "pending"


class Group(db.Model):
    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(SLUG_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str | None] = mapped_column(String(64), index=True)
    joining: Mapped[str] = mapped_column(String(16), default=Joining.OPEN.value)
    logo_url: Mapped[str | None] = mapped_column(String(URL_MAX))
    # Set by moderation (the same columns as on ideas, so its actions, appeals and reversals apply
    # unchanged); `state` below is read from them.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Federation (a later step): a copy of an ally's group keeps its ActivityPub id and origin.
    ap_id: Mapped[str | None] = mapped_column(String(URL_MAX), unique=True)
    origin_host: Mapped[str | None] = mapped_column(String(255), index=True)
    origin_name: Mapped[str | None] = mapped_column(String(200))

    memberships: Mapped[list[Membership]] = relationship(back_populates="group", cascade="all, delete-orphan",
                                                          passive_deletes=True)

    @property
    def state(self) -> str:
        """visible, hidden, removed or locked: what the moderators decided last, removal first."""
        if self.removed_at is not None:
            return GroupState.REMOVED.value
        if self.hidden_at is not None:
            return GroupState.HIDDEN.value
        if self.locked_at is not None:
            return GroupState.LOCKED.value
        return GroupState.VISIBLE.value

    @property
    def is_local(self) -> bool:
        return self.origin_host is None

    @property
    def host(self) -> str | None:
        """The origin instance's host for an ally's group (None for ours), as on members."""
        return self.origin_host

    @property
    def is_listed(self) -> bool:
        return self.removed_at is None and self.hidden_at is None

    @classmethod
    def listed(cls):
        """The SQL condition of `is_listed`: directory, API lists and counts show these."""
        return (cls.removed_at.is_(None), cls.hidden_at.is_(None))

    def __repr__(self) -> str:
        return f"<Group {self.slug}>"


class Membership(db.Model):
    __tablename__ = "group_memberships"
    __table_args__ = (UniqueConstraint("group_id", "member_id", name="uq_group_memberships_group_member"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.MEMBER.value)
    state: Mapped[str] = mapped_column(String(16), default=MembershipState.ACTIVE.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    group: Mapped[Group] = relationship(back_populates="memberships")
    member: Mapped[Member] = relationship(lazy="joined", innerjoin=True)

    @property
    def is_organiser(self) -> bool:
        return self.role == Role.ORGANISER and self.state == MembershipState.ACTIVE
