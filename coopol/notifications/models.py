"""Follows, notifications (coalesced rows), the activity log the home feed reads, and preferences.

`Notification` is the one store of in-app notices (moderation outcomes included: moderation publishes
them as events). `Activity` rows are written by the listeners when something worth a feed line happens;
each carries its *topics* (`ActivityTopic`: the author, the idea, its tags and scopes, the group), and
the feed is the activities whose topics a member follows, read through the (kind, target, activity) index.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from coopol.core.time import UTCDateTime, utcnow
from coopol.extensions import db


class FollowKind(enum.StrEnum):
    MEMBER = "member"
    IDEA = "idea"
    GROUP = "group"
    TAG = "tag"
    SCOPE = "scope"


class FollowState(enum.StrEnum):
    ACTIVE = "active"  # counts: local follows at once, an ally's member's once their instance sent `Accept`
    PENDING = "pending"  # a remote member's instance has not answered our `Follow` yet


class Follow(db.Model):
    """A member follows something. `target` is the followed thing's id (member, idea, group) or its name
    (tag, scope code), so one index answers both "what do I follow" and "who follows this"."""

    __tablename__ = "follows"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(120))
    state: Mapped[str] = mapped_column(String(16), default=FollowState.ACTIVE.value)
    ap_id: Mapped[str | None] = mapped_column(String(2048))  # our `Follow` activity, for its Undo
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("member_id", "kind", "target", name="uq_follows_member_kind_target"),
        Index("ix_follows_kind_target", "kind", "target"),
    )


class Block(db.Model):
    """A member blocks another (local or an ally's): no follow either way, no notice from them. Private:
    never federated, never shown to the blocked one. The unique pair is also the index every check reads."""

    __tablename__ = "member_blocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    blocked_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("member_id", "blocked_id", name="uq_member_blocks_member_blocked"),
        Index("ix_member_blocks_blocked", "blocked_id"),
    )


class Notification(db.Model):
    """One notice to one member. Coalesced: a new notice with the same unread `group_key` within the
    coalescing window raises `count` and rewrites `message` instead of adding a row."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500))
    action_id: Mapped[int | None] = mapped_column(ForeignKey("moderation_actions.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    target_type: Mapped[str | None] = mapped_column(String(16))
    target_id: Mapped[int | None] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=1)
    group_key: Mapped[str | None] = mapped_column(String(120))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


Index("ix_notifications_member_read", Notification.member_id, Notification.read_at)
Index("ix_notifications_member_key", Notification.member_id, Notification.group_key)


class Activity(db.Model):
    """Something a feed shows: `kind` idea | comment | answer | event, about `object_type`/`object_id`."""

    __tablename__ = "feed_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    object_type: Mapped[str] = mapped_column(String(16))
    object_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (Index("ix_feed_activities_object", "object_type", "object_id"),)


class ActivityTopic(db.Model):
    """What an activity is about, in the terms of `Follow` (kind, target)."""

    __tablename__ = "feed_activity_topics"

    activity_id: Mapped[int] = mapped_column(ForeignKey("feed_activities.id", ondelete="CASCADE"),
                                             primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    target: Mapped[str] = mapped_column(String(120), primary_key=True)

    __table_args__ = (Index("ix_feed_topics_kind_target_activity", "kind", "target", "activity_id"),)


class Preferences(db.Model):
    """A member's choices: the e-mail digest and, per kind, where notices go (web | email | off)."""

    __tablename__ = "notification_preferences"

    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), primary_key=True)
    email_digest: Mapped[str] = mapped_column(String(8), default="off")
    notify: Mapped[str] = mapped_column(Text, default="{}")  # JSON {kind: channel}, only the changed ones
    hide_follows: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EventReminder(db.Model):
    """A gathering whose reminder went out (once, whichever worker sent it)."""

    __tablename__ = "event_reminders"

    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
