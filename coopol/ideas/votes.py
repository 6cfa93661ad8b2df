"""Votes on ideas (support | oppose) and on comments (up | down): one per person per item.

Every change holds the item's row lock, reads the person's vote, then writes the vote row and the
counters with atomic SQL: counts always equal the vote rows, whatever the concurrency.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import and_, bindparam, delete, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from coopol.accounts.models import Member
from coopol.core.database import end_reading
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
)
from coopol.ideas.models import (
    COMMENT_VOTE_VALUES,
    IDEA_VOTE_VALUES,
    Comment,
    CommentVote,
    Idea,
    IdeaTally,
    IdeaVote,
)
from coopol.ideas.rankings import rankings


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


@dataclass(frozen=True)
class VoteOutcome:
    """What a vote left, from the values its write had in hand: the member's vote now and the idea's tally
    (`tallies`: rows with `host`, `support`, `oppose`), so the answer needs no second read."""

    value: str | None
    previous: str | None
    support: int
    oppose: int
    tallies: list = field(default_factory=list)


_IDEAS, _VOTES, _TALLIES = Idea.__table__, IdeaVote.__table__, IdeaTally.__table__
# The write transaction's first statement: the idea's row locked, with what "open for votes" and the
# rankings need. PostgreSQL: FOR UPDATE, then the member's vote in a statement of its own: under READ
# COMMITTED a statement that waited for the lock sees the locked row anew but a joined row as it was when
# the statement began (a vote committed meanwhile would be missed). SQLite: writers are serialised by
# BEGIN IMMEDIATE, so one statement reads both.
_IDEA_COLUMNS = (_IDEAS.c.state, _IDEAS.c.removed_at, _IDEAS.c.locked_at, _IDEAS.c.support_count,
                 _IDEAS.c.oppose_count, _IDEAS.c.comment_count, _IDEAS.c.published_at)
_LOCK_IDEA = (select(*_IDEA_COLUMNS).where(_IDEAS.c.id == bindparam("idea_id")).with_for_update(of=_IDEAS))
_PREVIOUS_VOTE = select(_VOTES.c.value).where(_VOTES.c.idea_id == bindparam("idea_id"),
                                              _VOTES.c.member_id == bindparam("member_id"))
_IDEA_AND_VOTE = (select(*_IDEA_COLUMNS, _VOTES.c.value.label("previous"))
                  .select_from(_IDEAS.outerjoin(_VOTES, and_(_VOTES.c.idea_id == _IDEAS.c.id,
                                                             _VOTES.c.member_id == bindparam("member_id"))))
                  .where(_IDEAS.c.id == bindparam("idea_id")))


def _lock_idea_and_read_vote(idea: Idea, member: Member) -> tuple:
    """(the idea's row, locked; the member's vote value or None)."""
    keys = {"idea_id": idea.id, "member_id": member.id}
    if db.session.get_bind().dialect.name == "sqlite":
        row = db.session.execute(_IDEA_AND_VOTE, keys).one()
        return row, row.previous
    row = db.session.execute(_LOCK_IDEA, keys).one()
    return row, db.session.execute(_PREVIOUS_VOTE, keys).scalar()
_TALLY_ROWS = select(_TALLIES.c.host, _TALLIES.c.support, _TALLIES.c.oppose).where(
    _TALLIES.c.idea_id == bindparam("idea_id"))


def check_vote(member: Member, idea: Idea, value: str | None) -> None:
    """Everything that can refuse a vote (`value` None: its withdrawal) before anything is written. Run again
    under the lock by `record_vote` for what may change meanwhile (the idea's state, a removal, a lock)."""
    if value is not None and value not in IDEA_VOTE_VALUES:
        raise ValidationFailed.field("value", _("Choose one of: %(choices)s.", choices=", ".join(IDEA_VOTE_VALUES)))
    ensure_can_act(member)
    if value is not None:
        ensure_confirmed_email_to_vote(member)
    ensure_allowed(member, idea, "vote")
    ensure_open_for_votes(idea)


def record_vote(member: Member, idea: Idea, value: str | None, *, ap_id: str | None = None) -> VoteOutcome:
    """The write of a checked vote (`check_vote`), in as few statements as it takes: lock the idea and read
    the member's vote (one SELECT on SQLite, two on PostgreSQL), write the vote row, move the counters and
    rankings (one UPDATE) and the per-instance tally (one upsert), read the tally for the answer. Counts
    always equal the rows: the deltas come from the vote row read under the lock.
    The same value again writes nothing."""
    row, previous = _lock_idea_and_read_vote(idea, member)
    for key in ("state", "removed_at", "locked_at"):
        set_committed_value(idea, key, getattr(row, key))
    ensure_open_for_votes(idea)  # again, under the lock: it may have closed since the checks
    if previous == value:
        return VoteOutcome(value, previous, row.support_count, row.oppose_count,
                           list(db.session.execute(_TALLY_ROWS, {"idea_id": idea.id})))
    now = utcnow()
    where = and_(_VOTES.c.idea_id == idea.id, _VOTES.c.member_id == member.id)
    if value is None:
        db.session.execute(delete(_VOTES).where(where))
    elif previous is None:
        db.session.execute(insert(_VOTES).values(idea_id=idea.id, member_id=member.id, value=value,
                                                 created_at=now, updated_at=now, ap_id=ap_id))
    else:
        changes = {"value": value, "updated_at": now, **({"ap_id": ap_id} if ap_id else {})}
        db.session.execute(update(_VOTES).where(where).values(**changes))
    support = (value == "support") - (previous == "support")
    oppose = (value == "oppose") - (previous == "oppose")
    counts = {"support_count": row.support_count + support, "oppose_count": row.oppose_count + oppose,
              "last_activity_at": now}
    ranks = rankings(published_at=row.published_at, last_activity_at=now, support=counts["support_count"],
                     oppose=counts["oppose_count"], comments=row.comment_count)
    # Increments, not the values computed here, so that a writer that took no lock cannot be overwritten.
    db.session.execute(update(_IDEAS).where(_IDEAS.c.id == idea.id).values(
        support_count=_IDEAS.c.support_count + support, oppose_count=_IDEAS.c.oppose_count + oppose,
        last_activity_at=now, **ranks))
    change_tally(idea, voter_host(member), support=support, oppose=oppose)
    tallies = list(db.session.execute(_TALLY_ROWS, {"idea_id": idea.id}))
    for key, current in {**counts, **ranks}.items():
        set_committed_value(idea, key, current)
    return VoteOutcome(value, previous, counts["support_count"], counts["oppose_count"], tallies)


def cast_vote(member: Member, idea: Idea, value: str, *, ap_id: str | None = None) -> VoteOutcome:
    """Support or oppose an idea; casting again changes the vote (the same value again changes nothing).

    The checks read; `end_reading()` then ends the request's read transaction if it has one (a view
    under `reads_first`), so that the write transaction, and on SQLite the write lock, lasts only for
    the few statements of `record_vote`."""
    if value not in IDEA_VOTE_VALUES:
        raise ValidationFailed.field("value", _("Choose one of: %(choices)s.", choices=", ".join(IDEA_VOTE_VALUES)))
    check_vote(member, idea, value)
    end_reading()
    outcome = record_vote(member, idea, value, ap_id=ap_id)
    if outcome.previous != value:
        publish("vote_cast", idea=idea, member=member, value=value, previous=outcome.previous,
                support_count=outcome.support, at=idea.last_activity_at)
    return outcome


def withdraw_vote(member: Member, idea: Idea) -> VoteOutcome:
    """Take one's vote back; without a vote, nothing changes."""
    check_vote(member, idea, None)
    end_reading()
    outcome = record_vote(member, idea, None)
    if outcome.previous is not None:
        publish("vote_withdrawn", idea=idea, member=member, previous=outcome.previous, at=idea.last_activity_at)
    return outcome


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
