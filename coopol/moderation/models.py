"""Moderation records: reports, actions (with what they changed), appeals, the public log.

Targets are generic: `target_type` is `idea`, `comment`, `member`, `group` or `event` and `target_id` that row's id, so
moderation needs no column in the tables it moderates beyond their own moderation fields.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coopol.accounts.models import Member
from coopol.core.time import UTCDateTime, utcnow
from coopol.extensions import db


class TargetType(enum.StrEnum):
    IDEA = "idea"
    COMMENT = "comment"
    MEMBER = "member"
    GROUP = "group"  # named by its slug
    EVENT = "event"  # a gathering, by its id


class ReportReason(enum.StrEnum):
    SPAM = "spam"
    OFFENSIVE = "offensive"
    OFF_TOPIC = "off_topic"
    ILLEGAL = "illegal"
    OTHER = "other"


class ReportStatus(enum.StrEnum):
    OPEN = "open"
    DISMISSED = "dismissed"
    ACTIONED = "actioned"


class ActionKind(enum.StrEnum):
    DISMISS = "dismiss"
    HIDE = "hide"
    UNHIDE = "unhide"
    REMOVE = "remove"
    RESTORE = "restore"
    LOCK = "lock"
    UNLOCK = "unlock"
    PIN = "pin"
    UNPIN = "unpin"
    SUSPEND = "suspend"
    UNSUSPEND = "unsuspend"
    BAN = "ban"
    UNBAN = "unban"
    ANSWER = "answer"


# The affected author may appeal these, once each.
APPEALABLE = frozenset({ActionKind.HIDE, ActionKind.REMOVE, ActionKind.SUSPEND, ActionKind.BAN})


class AppealStatus(enum.StrEnum):
    PENDING = "pending"
    UPHELD = "upheld"
    REVERSED = "reversed"


class Report(db.Model):
    __tablename__ = "reports"
    __table_args__ = (UniqueConstraint("reporter_id", "target_type", "target_id",
                                       name="uq_reports_reporter_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.OPEN.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by_action_id: Mapped[int | None] = mapped_column(
        ForeignKey("moderation_actions.id", ondelete="SET NULL"))

    reporter: Mapped[Member] = relationship(foreign_keys=[reporter_id])


Index("ix_reports_target_status", Report.target_type, Report.target_id, Report.status)


class ModerationAction(db.Model):
    """One decision. `changes` keeps `{field: [before, after]}` so an appeal can restore exactly."""

    __tablename__ = "moderation_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(16))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column()
    # None: taken automatically (hidden after enough reports).
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    affected_member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"),
                                                           index=True)
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    moderator: Mapped[Member | None] = relationship(foreign_keys=[moderator_id])
    affected_member: Mapped[Member | None] = relationship(foreign_keys=[affected_member_id])
    appeal: Mapped[Appeal | None] = relationship(back_populates="action", uselist=False)

    @property
    def is_automatic(self) -> bool:
        return self.moderator_id is None

    @property
    def is_appealable(self) -> bool:
        return self.action in APPEALABLE and self.reversed_at is None and self.affected_member_id is not None


Index("ix_moderation_actions_target", ModerationAction.target_type, ModerationAction.target_id)


class Appeal(db.Model):
    __tablename__ = "appeals"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One appeal per action: the unique constraint makes a second one impossible even under races.
    action_id: Mapped[int] = mapped_column(ForeignKey("moderation_actions.id", ondelete="CASCADE"),
                                           unique=True)
    appellant_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=AppealStatus.PENDING.value)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    action: Mapped[ModerationAction] = relationship(back_populates="appeal")
    appellant: Mapped[Member] = relationship(foreign_keys=[appellant_id])
    decided_by: Mapped[Member | None] = relationship(foreign_keys=[decided_by_id])


Index("ix_appeals_status", Appeal.status)


class ModlogEntry(db.Model):
    """The public moderation log. Append-only: no route changes it and the ORM refuses to."""

    __tablename__ = "modlog_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # `remove`, `ban`, ... or `appeal_upheld` / `appeal_reversed`.
    action: Mapped[str] = mapped_column(String(24))
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    action_id: Mapped[int | None] = mapped_column(ForeignKey("moderation_actions.id", ondelete="SET NULL"))
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeals.id", ondelete="SET NULL"))

    moderator: Mapped[Member | None] = relationship(foreign_keys=[moderator_id])


@event.listens_for(ModlogEntry, "before_update")
def _modlog_is_append_only(mapper, connection, target) -> None:
    raise RuntimeError("The moderation log is append-only.")


@event.listens_for(ModlogEntry, "before_delete")
def _modlog_is_never_deleted(mapper, connection, target) -> None:
    raise RuntimeError("The moderation log is append-only.")


# Notifications (moderation outcomes among them) live in coopol/notifications/models.py: moderation publishes
# `moderation_notice` events and the notifications package stores them.
