"""Copies of allies' ideas: their lifecycle follows the origin instance, which decided it (its author
withdrew it, its moderators answered it). The copy takes the origin's state as it is, even when some
intermediate step never reached us, so no local transition rule applies. No events: nothing to tell.

The origin also has the last word on what our members do on its ideas: a comment or a vote it refused
(the person is banned there, the thread was locked meanwhile) is taken back here (`retract_*`), even if
the copy is closed by now, and without telling anyone (the origin never applied it). A refused edit of a
comment brings back the version before it, from the comment's kept versions."""

from __future__ import annotations

from flask_babel import gettext as _

from coopol.accounts.models import Member
from coopol.core.errors import PermissionDenied
from coopol.core.text import render_markdown
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.ideas.comments import erase_comment, list_comment_revisions
from coopol.ideas.guards import lock_comment, lock_idea
from coopol.ideas.models import Comment, Idea, IdeaState
from coopol.ideas.votes import _current_vote, current_comment_vote, write_comment_vote, write_vote

KEEP = object()


def sync_copy(idea: Idea, *, state: str | None = None, answer: str | None = None,
              answered_by: Member | None = None, withdrawn_reason: str | None = None,
              withdrawn_explanation: str | None = None, scope: object = KEEP, group: object = KEEP) -> Idea:
    """Set the lifecycle, official answer, scope and group (our copy of the origin's group it was posted
    in, or None) of a copy to what its origin says."""
    if idea.is_local:
        raise PermissionDenied(_("Only copies of allies' ideas follow their origin."))
    lock_idea(idea)
    now = utcnow()
    changed = False
    if state and state != IdeaState.DRAFT and state != idea.state:
        idea.state = state
        changed = True
    if state == IdeaState.WITHDRAWN and withdrawn_reason and withdrawn_reason != idea.withdrawn_reason:
        idea.withdrawn_reason = withdrawn_reason[:16]
        idea.withdrawn_explanation = withdrawn_explanation or None
        changed = True
    if answer and answer != idea.answer:
        idea.answer = answer
        idea.answer_html = render_markdown(answer)
        idea.answered_at = now
        if answered_by is not None:
            idea.answered_by_id = answered_by.id
        changed = True
    if scope is not KEEP and scope != idea.scope:
        idea.scope = scope  # type: ignore[assignment]
        changed = True
    if group is not KEEP and getattr(group, "id", None) != idea.group_id:
        idea.group = group  # type: ignore[assignment]
        changed = True
    if changed:
        idea.updated_at = now
        db.session.flush()
    return idea


def _ensure_copy(idea: Idea) -> None:
    if idea.is_local:
        raise PermissionDenied(_("Only what was done on copies of allies' ideas is taken back by their origin."))


def retract_comment(comment: Comment) -> bool:
    """The origin refused this comment: it goes as if its author had deleted it (the thread stays, the
    text goes, the count follows). False when it was already deleted."""
    _ensure_copy(comment.idea)
    lock_comment(comment)
    if comment.is_deleted:
        return False
    erase_comment(comment)
    return True


def retract_comment_edit(comment: Comment, *, body: str, stance: str | None = None) -> bool:
    """The origin refused the edit that gave this comment the text `body` (and `stance`, when known):
    when that is still the comment's text, the version before it comes back (and leaves the kept
    versions); when the author has edited it again since, the refused version only leaves the kept
    versions (a later refused edit is taken back by its own Reject). False when nothing had to change."""
    _ensure_copy(comment.idea)
    lock_comment(comment)
    if comment.is_deleted:
        return False
    revisions = list_comment_revisions(comment)

    def same(text: str, kind: str) -> bool:
        return text == body and (stance is None or kind == stance)

    if revisions and same(comment.body, comment.stance):
        before = revisions[-1]
        comment.body, comment.stance = before.body, before.stance
        comment.body_html = render_markdown(before.body)
        comment.edited_at = before.created_at if len(revisions) > 1 else None
        db.session.delete(before)
        db.session.flush()
        return True
    # revisions[0] is the first version, which no edit made
    refused = next((r for r in reversed(revisions[1:]) if same(r.body, r.stance)), None)
    if refused is None:
        return False
    db.session.delete(refused)
    db.session.flush()
    return True


def retract_vote(member: Member, idea: Idea, *, refused: str | None, back_to: str | None) -> bool:
    """The origin refused `member`'s vote change to `refused` (None: a withdrawal): if that is still the
    member's vote, put it back to `back_to`. False when nothing had to change."""
    _ensure_copy(idea)
    lock_idea(idea)
    vote = _current_vote(idea, member)
    current = vote.value if vote else None
    if current != refused or current == back_to:
        return False
    write_vote(idea, member, vote, back_to)
    return True


def retract_comment_vote(member: Member, comment: Comment, *, refused: str | None, back_to: str | None) -> bool:
    """The same for a vote on a comment (up | down | None)."""
    _ensure_copy(comment.idea)
    lock_comment(comment)
    vote = current_comment_vote(comment, member)
    current = vote.value if vote else None
    if current != refused or current == back_to:
        return False
    write_comment_vote(comment, member, vote, back_to)
    return True
