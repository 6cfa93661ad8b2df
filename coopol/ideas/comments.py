"""The debate: threaded comments with a stance, edited with versions kept, soft-deleted."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete

from coopol.accounts.models import Member
from coopol.core.errors import Conflict, NotFound, PermissionDenied
from coopol.core.events import publish
from coopol.core.text import render_markdown
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.ideas.counters import change_idea_counts
from coopol.ideas.guards import (
    can_view,
    ensure_allowed,
    ensure_can_act,
    ensure_not_moderated,
    ensure_open_for_comments,
    is_moderator,
    lock_comment,
    lock_idea,
)
from coopol.ideas.models import Comment, CommentRevision, Idea
from coopol.ideas.validation import Errors, clean_comment_body, clean_stance

DEFAULT_MAX_DEPTH = 6


def max_depth() -> int:
    """Replies nest at most this many levels (depth 0 .. max_depth - 1)."""
    return max(1, int(current_app.config.get("COMMENT_MAX_DEPTH", DEFAULT_MAX_DEPTH)))


def get_comment(comment_id: int, viewer: Member | None = None) -> Comment:
    comment = db.session.get(Comment, comment_id) if isinstance(comment_id, int) else None
    if comment is None or not can_view(comment.idea, viewer):
        raise NotFound(_("No comment with id %(id)s.", id=comment_id))
    return comment


def post_comment(author: Member, idea: Idea, *, body: str, stance: str | None = "neutral",
                 parent_id: int | None = None, ap_id: str | None = None, origin_host: str | None = None,
                 created_at: datetime | None = None) -> Comment:
    """Reply to an idea or to a comment. A reply below the deepest level attaches to the deepest allowed
    parent, so threads stay readable."""
    ensure_can_act(author)
    ensure_allowed(author, idea, "comment")
    errors = Errors()
    body = clean_comment_body(body, errors)
    stance = clean_stance(stance, errors)
    parent = None
    if parent_id is not None:
        parent = db.session.get(Comment, parent_id) if isinstance(parent_id, int) else None
        if parent is None or parent.idea_id != idea.id:
            errors.add("parent_id", _("There is no such comment on this idea."))
        elif parent.is_deleted:
            errors.add("parent_id", _("This comment was deleted; reply to the idea instead."))
    errors.raise_if_any()
    lock_idea(idea)
    ensure_open_for_comments(idea)

    while parent is not None and parent.depth >= max_depth() - 1:
        parent = db.session.get(Comment, parent.parent_id)
    comment = Comment(idea_id=idea.id, author=author, body=body, body_html=render_markdown(body),
                      stance=stance, parent_id=parent.id if parent else None,
                      root_id=(parent.root_id or parent.id) if parent else None,
                      depth=parent.depth + 1 if parent else 0, created_at=created_at or utcnow(),
                      ap_id=ap_id, origin_host=origin_host)
    db.session.add(comment)
    db.session.flush()
    change_idea_counts(idea, comments=1)
    publish("comment_posted", comment=comment, idea=idea)
    return comment


def _ensure_comment_editable(comment: Comment) -> None:
    if comment.is_deleted:
        raise Conflict(_("This comment was deleted."))
    if comment.is_removed:
        raise Conflict(_("This comment was removed by the moderators."))
    ensure_not_moderated(comment.idea)


def edit_comment(actor: Member, comment: Comment, *, body: str, stance: str | None = None) -> Comment:
    """The author edits; the previous version is kept and the comment shows as edited."""
    ensure_can_act(actor)
    if comment.author_id != actor.id:
        raise PermissionDenied(_("Only the author can edit this comment."))
    ensure_allowed(actor, comment.idea, "comment")
    errors = Errors()
    body = clean_comment_body(body, errors)
    stance = clean_stance(stance, errors) if stance is not None else comment.stance
    errors.raise_if_any()
    lock_comment(comment)
    _ensure_comment_editable(comment)
    if body == comment.body and stance == comment.stance:
        return comment
    db.session.add(CommentRevision(comment_id=comment.id, body=comment.body, stance=comment.stance,
                                   created_at=comment.edited_at or comment.created_at))
    comment.body = body
    comment.body_html = render_markdown(body)
    comment.stance = stance
    comment.edited_at = utcnow()
    db.session.flush()
    publish("comment_edited", comment=comment, actor=actor)
    return comment


def delete_comment(actor: Member, comment: Comment) -> Comment:
    """Soft delete by the author (or a moderator): the thread stays, the text and its versions go."""
    ensure_can_act(actor)
    if comment.author_id != actor.id and not is_moderator(actor):
        raise PermissionDenied(_("Only the author can delete this comment."))
    lock_comment(comment)
    if comment.is_deleted:
        raise Conflict(_("This comment is already deleted."))
    erase_comment(comment)
    publish("comment_deleted", comment=comment, actor=actor)
    return comment


def erase_comment(comment: Comment) -> None:
    """The soft delete itself (the comment row locked): the thread stays, the text and its versions go,
    the idea's count follows. No checks and no event: the callers."""
    comment.deleted_at = utcnow()
    comment.body = ""
    comment.body_html = ""
    db.session.execute(delete(CommentRevision).where(CommentRevision.comment_id == comment.id))
    db.session.flush()
    change_idea_counts(comment.idea, comments=-1, touch=False)


def list_comment_revisions(comment: Comment) -> list[CommentRevision]:
    from sqlalchemy import select

    return list(db.session.scalars(select(CommentRevision).where(CommentRevision.comment_id == comment.id)
                                   .order_by(CommentRevision.id)))
