"""Data export (what a member wrote and voted) and erasure (drafts are private: they go; published
content stays, shown as by a deleted member)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.accounts.services import register_exporter
from coopol.core.events import subscribe
from coopol.extensions import db
from coopol.ideas.models import Comment, CommentVote, Idea, IdeaRevision, IdeaState, IdeaTag, IdeaVote, Tag


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def export_ideas(member: Member) -> list[dict[str, Any]]:
    ideas = list(db.session.scalars(select(Idea).where(Idea.author_id == member.id).order_by(Idea.id)))
    tags: dict[int, list[str]] = {}
    revisions: dict[int, list[dict[str, Any]]] = {}
    ids = [i.id for i in ideas]
    if ids:
        for idea_id, name in db.session.execute(select(IdeaTag.idea_id, Tag.name).join(Tag)
                                                .where(IdeaTag.idea_id.in_(ids))):
            tags.setdefault(idea_id, []).append(name)
        for rev in db.session.scalars(select(IdeaRevision).where(IdeaRevision.idea_id.in_(ids))
                                      .order_by(IdeaRevision.number)):
            revisions.setdefault(rev.idea_id, []).append(
                {"number": rev.number, "title": rev.title, "body": rev.body, "created_at": _iso(rev.created_at)})
    return [{"id": i.id, "title": i.title, "body": i.body, "tags": sorted(tags.get(i.id, [])), "scope": i.scope,
             "language": i.language, "state": i.state, "withdrawn_reason": i.withdrawn_reason,
             "created_at": _iso(i.created_at), "published_at": _iso(i.published_at),
             "updated_at": _iso(i.updated_at), "revisions": revisions.get(i.id, [])} for i in ideas]


def export_comments(member: Member) -> list[dict[str, Any]]:
    comments = db.session.scalars(select(Comment).where(Comment.author_id == member.id).order_by(Comment.id))
    return [{"id": c.id, "idea_id": c.idea_id, "parent_id": c.parent_id, "stance": c.stance, "body": c.body,
             "created_at": _iso(c.created_at), "edited_at": _iso(c.edited_at), "deleted_at": _iso(c.deleted_at)}
            for c in comments]


def export_votes(member: Member) -> dict[str, list[dict[str, Any]]]:
    ideas = db.session.execute(select(IdeaVote.idea_id, IdeaVote.value, IdeaVote.created_at, IdeaVote.updated_at)
                               .where(IdeaVote.member_id == member.id).order_by(IdeaVote.id))
    comments = db.session.execute(select(CommentVote.comment_id, CommentVote.value, CommentVote.created_at)
                                  .where(CommentVote.member_id == member.id).order_by(CommentVote.id))
    return {
        "ideas": [{"idea_id": i, "value": v, "created_at": _iso(c), "updated_at": _iso(u)} for i, v, c, u in ideas],
        "comments": [{"comment_id": i, "value": v, "created_at": _iso(c)} for i, v, c in comments],
    }


def delete_drafts(member: Member, **_: Any) -> None:
    """Unpublished drafts were never shared: erasing the member erases them."""
    for idea in db.session.scalars(select(Idea).where(Idea.author_id == member.id,
                                                      Idea.state == IdeaState.DRAFT)):
        db.session.delete(idea)
    db.session.flush()


def init_privacy(app: Flask) -> None:
    register_exporter("ideas", export_ideas)
    register_exporter("comments", export_comments)
    register_exporter("votes", export_votes)
    subscribe(app, "member_erasing", delete_drafts)
