"""Our members' votes, from the vote to its signed activity: the vote's transaction writes one small row
(`publish.queue_vote`, a Core INSERT), the worker makes the activity (`build_queued_votes`: build, sign with the
member's Ed25519 key, keep the proof, announce or send to the origin), in the order of the votes.

One worker at a time builds (PostgreSQL: a transaction-level advisory lock; SQLite: its writers are
serialised), so a member's votes on one item are signed and kept in the order they were cast; the
`published` time of each is the vote's, which is what allies order them by (clocks.py).
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, select, text, update

from coopol.accounts.models import Member
from coopol.extensions import db

log = logging.getLogger(__name__)

ADVISORY_LOCK = 0x636F6F70766F7465  # "coopvote": the vote builder's (PostgreSQL)
MAX_ATTEMPTS = 5


def _batch() -> int:
    # On SQLite the batch holds the write lock while it signs (about 1.5 ms a vote): keep it short there.
    return 20 if db.session.get_bind().dialect.name == "postgresql" else 5


def build_queued_votes(limit: int | None = None) -> int:
    """The worker's turn (`add_worker_task`): build, sign, keep and send the oldest queued votes, in one
    transaction; returns how many were taken (0: none queued, or another worker is building)."""
    from coopol.federation.content.publish import build_vote
    from coopol.federation.models import QueuedVote
    from coopol.ideas.models import Comment, Idea

    session = db.session
    try:
        if session.get_bind().dialect.name == "postgresql" and not session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK}):
            return 0
        rows = list(session.scalars(select(QueuedVote).where(QueuedVote.attempts < MAX_ATTEMPTS)
                                    .order_by(QueuedVote.id).limit(limit or _batch())))
        for row in rows:
            member = session.get(Member, row.member_id)
            target = session.get(Comment if row.target_type == "comment" else Idea, row.target_id)
            if member is None or target is None or member.is_erased:
                session.delete(row)  # the voter or the item is gone: nothing left to sign
                continue
            try:
                with session.begin_nested():
                    build_vote(member, target, row.kind, row.undone, row.published_at)
            except Exception as error:  # noqa: BLE001 - one bad row must not hold up the others
                log.exception("cannot build the activity of queued vote %s", row.id)
                session.execute(update(QueuedVote.__table__).where(QueuedVote.id == row.id).values(
                    attempts=QueuedVote.attempts + 1, last_error=str(error)[:500]))
                continue
            session.execute(delete(QueuedVote.__table__).where(QueuedVote.id == row.id))
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return len(rows)


def vote_queue_health() -> dict:
    """For the allies panel: how many of our votes wait for the worker, how many it gave up on (their
    activity could not be built after MAX_ATTEMPTS tries: they stay in the table, with their error) and the
    newest error."""
    from sqlalchemy import case, func

    from coopol.federation.models import QueuedVote

    gave_up = QueuedVote.attempts >= MAX_ATTEMPTS
    waiting, failed = db.session.execute(select(
        func.count(QueuedVote.id), func.coalesce(func.sum(case((gave_up, 1), else_=0)), 0))).one()
    last_error = db.session.scalar(select(QueuedVote.last_error).where(QueuedVote.last_error != "")
                                   .order_by(QueuedVote.id.desc()).limit(1)) or ""
    return {"waiting": int(waiting) - int(failed), "failed": int(failed), "last_error": last_error}
