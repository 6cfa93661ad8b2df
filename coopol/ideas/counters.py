"""Counters change by atomic SQL (`SET n = n + 1`), never by read-modify-write in Python, so they stay
equal to the rows they count whatever the concurrency."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm.attributes import set_committed_value

from coopol.accounts.models import Member
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.ideas.models import Comment, Idea, IdeaTally
from coopol.ideas.rankings import rankings


def dialect_insert(model):
    return (pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert)(model)


def voter_host(member: Member) -> str:
    return member.host or current_app.config["SERVER_HOST"]


def change_idea_counts(idea: Idea, *, support: int = 0, oppose: int = 0, comments: int = 0,
                       touch: bool = True) -> None:
    """Apply deltas atomically, then recompute the stored sort keys from the values just written."""
    table = Idea.__table__
    values: dict = {}
    if support:
        values["support_count"] = table.c.support_count + support
    if oppose:
        values["oppose_count"] = table.c.oppose_count + oppose
    if comments:
        values["comment_count"] = table.c.comment_count + comments
    if touch:
        values["last_activity_at"] = utcnow()
    if not values:
        return
    row = db.session.execute(
        update(table).where(table.c.id == idea.id).values(**values)
        .returning(table.c.support_count, table.c.oppose_count, table.c.comment_count, table.c.published_at,
                   table.c.last_activity_at)).one()
    ranks = rankings(published_at=row.published_at, last_activity_at=row.last_activity_at,
                     support=row.support_count, oppose=row.oppose_count, comments=row.comment_count)
    db.session.execute(update(table).where(table.c.id == idea.id).values(**ranks))
    current = {"support_count": row.support_count, "oppose_count": row.oppose_count,
               "comment_count": row.comment_count, "last_activity_at": row.last_activity_at, **ranks}
    for key, value in current.items():
        set_committed_value(idea, key, value)


def refresh_rankings(idea: Idea) -> None:
    """After a change of dates (publication): the counters are read, not written."""
    ranks = rankings(published_at=idea.published_at, last_activity_at=idea.last_activity_at,
                     support=idea.support_count, oppose=idea.oppose_count, comments=idea.comment_count)
    for key, value in ranks.items():
        setattr(idea, key, value)


def change_tally(idea: Idea, host: str, *, support: int = 0, oppose: int = 0) -> None:
    """Upsert the per-instance tally row with atomic increments."""
    table = IdeaTally.__table__
    stmt = dialect_insert(table).values(idea_id=idea.id, host=host, support=max(support, 0),
                                        oppose=max(oppose, 0))
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.idea_id, table.c.host],
        set_={"support": table.c.support + support, "oppose": table.c.oppose + oppose})
    db.session.execute(stmt)


def change_comment_counts(comment: Comment, *, up: int = 0, down: int = 0) -> None:
    table = Comment.__table__
    row = db.session.execute(
        update(table).where(table.c.id == comment.id)
        .values(up_count=table.c.up_count + up, down_count=table.c.down_count + down)
        .returning(table.c.up_count, table.c.down_count)).one()
    set_committed_value(comment, "up_count", row.up_count)
    set_committed_value(comment, "down_count", row.down_count)

