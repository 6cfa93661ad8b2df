"""Ideas, their revisions, comments, votes and per-instance tallies.

The moderation module sets the `hidden_at`, `removed_at`, `locked_at` and `pinned_at` columns; the
federation module fills `ap_id`, `origin_host`, `origin_name` and `url` on copies of allies' ideas.
Search columns and indexes that depend on the database (FTS5, tsvector) live in the migration only.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coopol.accounts.models import Member
from coopol.core.state import StateMachine
from coopol.core.time import UTCDateTime, utcnow
from coopol.extensions import db
from coopol.groups.models import Group

TITLE_MIN, TITLE_MAX = 3, 200
BODY_MAX = 50_000
COMMENT_MAX = 10_000
ANSWER_MAX = 20_000
EXPLANATION_MAX = 2_000
TAG_MAX_LENGTH, TAGS_MAX = 40, 10


class IdeaState(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    EVALUATING = "evaluating"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


IDEA_LIFECYCLE = StateMachine("idea", {
    IdeaState.DRAFT: {IdeaState.PUBLISHED},
    IdeaState.PUBLISHED: {IdeaState.EVALUATING, IdeaState.WITHDRAWN},
    IdeaState.EVALUATING: {IdeaState.ACCEPTED, IdeaState.REJECTED, IdeaState.WITHDRAWN},
}, labels="idea_state")
# States in which members may vote; comments are also welcome once an idea is decided.
VOTING_STATES = frozenset({IdeaState.PUBLISHED, IdeaState.EVALUATING})
COMMENTING_STATES = frozenset({IdeaState.PUBLISHED, IdeaState.EVALUATING, IdeaState.ACCEPTED,
                               IdeaState.REJECTED})
ANSWER_STATES = (IdeaState.EVALUATING, IdeaState.ACCEPTED, IdeaState.REJECTED)
WITHDRAW_REASONS = ("duplicate", "done", "unfeasible", "other")
STANCES = ("for", "against", "neutral")
IDEA_VOTE_VALUES = ("support", "oppose")
COMMENT_VOTE_VALUES = ("up", "down")


class ModeratedMixin:
    """Flags set by moderators. Content stays in the database so an appeal can restore it."""

    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None


class Idea(ModeratedMixin, db.Model):
    __tablename__ = "ideas"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    # The local group it was posted in, if any (migration 0018_ideas_group); the idea stays when the group goes.
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    scope: Mapped[str | None] = mapped_column(String(64), index=True)
    language: Mapped[str] = mapped_column(String(16), index=True)
    state: Mapped[str] = mapped_column(String(16), default=IdeaState.DRAFT.value)
    withdrawn_reason: Mapped[str | None] = mapped_column(String(16))
    withdrawn_explanation: Mapped[str | None] = mapped_column(Text)
    answer: Mapped[str | None] = mapped_column(Text)
    answer_html: Mapped[str | None] = mapped_column(Text)
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Counters are only ever changed by atomic SQL updates (see votes.py), never in Python.
    support_count: Mapped[int] = mapped_column(Integer, default=0)
    oppose_count: Mapped[int] = mapped_column(Integer, default=0)
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    # Derived from the counters and dates by rankings.py, stored so every sort uses an index.
    score: Mapped[int] = mapped_column(Integer, default=0)
    hot_score: Mapped[float] = mapped_column(Float, default=0.0)
    controversy_score: Mapped[float] = mapped_column(Float, default=0.0)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pinned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    # Federation: a copy of an ally's idea keeps its ActivityPub id, origin and page URL.
    ap_id: Mapped[str | None] = mapped_column(String(2048), unique=True)
    origin_host: Mapped[str | None] = mapped_column(String(255), index=True)
    origin_name: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2048))

    author: Mapped[Member] = relationship(foreign_keys=[author_id], lazy="joined", innerjoin=True)
    answered_by: Mapped[Member | None] = relationship(foreign_keys=[answered_by_id])
    group: Mapped[Group | None] = relationship()
    tag_links: Mapped[list[IdeaTag]] = relationship(back_populates="idea", cascade="all, delete-orphan")

    __table_args__ = (
        # One index per sort, in the keyset order (migration 0007_ideas_listing).
        Index("ix_ideas_sort_hot", "hot_score", "id"),
        Index("ix_ideas_sort_new", "published_at", "id"),
        Index("ix_ideas_sort_top", "score", "support_count", "id"),
        Index("ix_ideas_sort_comments", "comment_count", "last_activity_at", "id"),
        Index("ix_ideas_sort_controversial", "controversy_score", "support_count", "id"),
        Index("ix_ideas_pinned", "pinned_at", sqlite_where=text("pinned_at IS NOT NULL"),
              postgresql_where=text("pinned_at IS NOT NULL")),
        CheckConstraint("support_count >= 0 AND oppose_count >= 0 AND comment_count >= 0",
                        name="counts_not_negative"),
    )

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    @property
    def is_pinned(self) -> bool:
        return self.pinned_at is not None

    @property
    def is_local(self) -> bool:
        return self.origin_host is None

    @property
    def is_draft(self) -> bool:
        return self.state == IdeaState.DRAFT

    def __repr__(self) -> str:
        return f"<Idea {self.id} {self.state}>"


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(TAG_MAX_LENGTH), unique=True)


class IdeaTag(db.Model):
    __tablename__ = "idea_tags"

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True)

    idea: Mapped[Idea] = relationship(back_populates="tag_links")
    tag: Mapped[Tag] = relationship(lazy="joined", innerjoin=True)


class IdeaRevision(db.Model):
    """A version of an idea that people may have voted on or discussed."""

    __tablename__ = "idea_revisions"
    __table_args__ = (UniqueConstraint("idea_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(Text, default="")  # space-separated, as they were
    scope: Mapped[str | None] = mapped_column(String(64))
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    editor: Mapped[Member | None] = relationship()


class Comment(ModeratedMixin, db.Model):
    __tablename__ = "comments"
    __table_args__ = (
        Index("ix_comments_idea_created", "idea_id", "created_at"),
        Index("ix_comments_root", "root_id"),
        CheckConstraint("up_count >= 0 AND down_count >= 0", name="counts_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"))
    # The top-level comment of the thread (None for a top-level comment): loads a thread in one query.
    root_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id"))
    depth: Mapped[int] = mapped_column(Integer, default=0)
    stance: Mapped[str] = mapped_column(String(8), default="neutral")
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    up_count: Mapped[int] = mapped_column(Integer, default=0)
    down_count: Mapped[int] = mapped_column(Integer, default=0)
    ap_id: Mapped[str | None] = mapped_column(String(2048), unique=True)
    origin_host: Mapped[str | None] = mapped_column(String(255))

    author: Mapped[Member] = relationship(lazy="joined", innerjoin=True)
    idea: Mapped[Idea] = relationship()

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def __repr__(self) -> str:
        return f"<Comment {self.id} on idea {self.idea_id}>"


class CommentRevision(db.Model):
    """An earlier version of an edited comment."""

    __tablename__ = "comment_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    stance: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IdeaVote(db.Model):
    """One person, one vote: remote persons are members too, so the constraint holds across allies."""

    __tablename__ = "idea_votes"
    __table_args__ = (UniqueConstraint("idea_id", "member_id"),
                      Index("ix_idea_votes_member", "member_id"),
                      Index("ix_idea_votes_created", "created_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    value: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ap_id: Mapped[str | None] = mapped_column(String(2048))


class CommentVote(db.Model):
    __tablename__ = "comment_votes"
    __table_args__ = (UniqueConstraint("comment_id", "member_id"), Index("ix_comment_votes_member", "member_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    comment_id: Mapped[int] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    value: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IdeaTally(db.Model):
    """Votes on one idea from the members of one instance (`host`)."""

    __tablename__ = "idea_tallies"
    __table_args__ = (CheckConstraint("support >= 0 AND oppose >= 0", name="counts_not_negative"),)

    idea_id: Mapped[int] = mapped_column(ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True)
    host: Mapped[str] = mapped_column(String(255), primary_key=True)
    support: Mapped[int] = mapped_column(Integer, default=0)
    oppose: Mapped[int] = mapped_column(Integer, default=0)
