"""Votes on ideas (support | oppose) and on comments (up | down): one per person per item.

Every change holds the item's row lock, reads the person's vote, then writes the vote row and the
counters with atomic SQL: counts always equal the vote rows, whatever the concurrency.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.errors import Conflict, ValidationFailed
from coopol.core.events import publish
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.ideas.counters import change_comment_counts, change_idea_counts, change_tally, voter_host
from coopol.ideas.guards import (
    ensure_allowed,
    ensure_can_act,
    ensure_confirmed_email_to_vote,
    ensure_not_moderated,
    ensure_open_for_votes,
    lock_comment,
    lock_idea,
)
from coopol.ideas.models import COMMENT_VOTE_VALUES, IDEA_VOTE_VALUES, Comment, CommentVote, Idea, IdeaVote


def _deltas(value: str | None, sign: int) -> dict[str, int]:
    return {"support": sign if value == "support" else 0, "oppose": sign if value == "oppose" else 0}


def _current_vote(idea: Idea, member: Member) -> IdeaVote | None:
    return db.session.scalars(select(IdeaVote).where(IdeaVote.idea_id == idea.id, IdeaVote.member_id == member.id)
                              .execution_options(populate_existing=True)).one_or_none()


def _apply(idea: Idea, member: Member, previous: str | None, value: str | None) -> None:
    support = _deltas(value, 1)["support"] + _deltas(previous, -1)["support"]
    oppose = _deltas(value, 1)["oppose"] + _deltas(previous, -1)["oppose"]
    change_tally(idea, voter_host(member), support=support, oppose=oppose)
    change_idea_counts(idea, support=support, oppose=oppose)


def write_vote(idea: Idea, member: Member, vote: IdeaVote | None, value: str | None, *,
               ap_id: str | None = None) -> IdeaVote | None:
    """Make `member`'s vote row (`vote`, their current one, or None) say `value` (None: no vote), and
    move the tallies and counters with it. No checks and no event: the callers (the idea row locked)."""
    previous = vote.value if vote else None
    now = utcnow()
    if value is None:
        if vote is not None:
            db.session.delete(vote)
        vote = None
    elif vote is None:
        vote = IdeaVote(idea_id=idea.id, member_id=member.id, value=value, created_at=now, updated_at=now,
                        ap_id=ap_id)
        db.session.add(vote)
    else:
        vote.value, vote.updated_at = value, now
        if ap_id:
            vote.ap_id = ap_id
    db.session.flush()
    _apply(idea, member, previous, value)
    return vote


def current_comment_vote(comment: Comment, member: Member) -> CommentVote | None:
    return db.session.scalars(select(CommentVote).where(CommentVote.comment_id == comment.id,
                                                        CommentVote.member_id == member.id)
                              .execution_options(populate_existing=True)).one_or_none()


def write_comment_vote(comment: Comment, member: Member, vote: CommentVote | None,
                       value: str | None) -> CommentVote | None:
    """The same for a vote on a comment (up | down | None), moving the comment's counters."""
    previous = vote.value if vote else None
    if value is None:
        if vote is not None:
            db.session.delete(vote)
        vote = None
    elif vote is None:
        vote = CommentVote(comment_id=comment.id, member_id=member.id, value=value)
        db.session.add(vote)
    else:
        vote.value = value
    db.session.flush()
    change_comment_counts(comment, up=(value == "up") - (previous == "up"),
                          down=(value == "down") - (previous == "down"))
    return vote


def cast_vote(member: Member, idea: Idea, value: str, *, ap_id: str | None = None) -> IdeaVote:
    """Support or oppose an idea; casting again changes the vote (the same value again changes nothing)."""
    if value not in IDEA_VOTE_VALUES:
        raise ValidationFailed.field("value", _("Choose one of: %(choices)s.", choices=", ".join(IDEA_VOTE_VALUES)))
    ensure_can_act(member)
    ensure_confirmed_email_to_vote(member)
    ensure_allowed(member, idea, "vote")
    lock_idea(idea)
    ensure_open_for_votes(idea)
    vote = _current_vote(idea, member)
    previous = vote.value if vote else None
    if previous == value:
        return vote
    vote = write_vote(idea, member, vote, value, ap_id=ap_id)
    publish("vote_cast", idea=idea, member=member, value=value, previous=previous)
    return vote


def withdraw_vote(member: Member, idea: Idea) -> None:
    """Take one's vote back; without a vote, nothing changes."""
    ensure_can_act(member)
    ensure_allowed(member, idea, "vote")
    lock_idea(idea)
    ensure_open_for_votes(idea)
    vote = _current_vote(idea, member)
    if vote is None:
        return
    previous = vote.value
    write_vote(idea, member, vote, None)
    publish("vote_withdrawn", idea=idea, member=member, previous=previous)


def my_vote(idea: Idea, member: Member | None) -> str | None:
    if member is None or not getattr(member, "is_authenticated", False):
        return None
    return db.session.scalar(select(IdeaVote.value).where(IdeaVote.idea_id == idea.id,
                                                          IdeaVote.member_id == member.id))


def cast_comment_vote(member: Member, comment: Comment, value: str | None) -> CommentVote | None:
    """Up or down; the same value again withdraws the vote (a toggle, like the buttons on the page)."""
    if value is not None and value not in COMMENT_VOTE_VALUES:
        raise ValidationFailed.field("value", _("Choose one of: %(choices)s.",
                                                choices=", ".join(COMMENT_VOTE_VALUES)))
    return _set_comment_vote(member, comment, value, toggle=True)


def withdraw_comment_vote(member: Member, comment: Comment) -> None:
    _set_comment_vote(member, comment, None, toggle=False)


def _set_comment_vote(member: Member, comment: Comment, value: str | None, *, toggle: bool) -> CommentVote | None:
    ensure_can_act(member)
    if value is not None:
        ensure_confirmed_email_to_vote(member)
    ensure_allowed(member, comment.idea, "comment_vote")
    lock_comment(comment)
    if comment.is_deleted or comment.is_removed:
        raise Conflict(_("This comment was deleted or removed: it cannot receive votes."))
    ensure_not_moderated(comment.idea)
    vote = current_comment_vote(comment, member)
    previous = vote.value if vote else None
    if toggle and previous == value:
        value = None
    if previous == value:
        return vote
    vote = write_comment_vote(comment, member, vote, value)
    publish("comment_vote_cast", comment=comment, member=member, value=value, previous=previous)
    return vote
