"""Participation made visible: counts by instance and by month, and a small SVG chart drawn on the
server (no JavaScript)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from coopol.accounts.models import Member
from coopol.core.parties import party_names
from coopol.core.stats import extra_participation, hosts_of
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.ideas.models import Comment, Idea, IdeaState, IdeaVote

MONTHS = 12


def _by_host(stmt) -> dict[str, int]:
    local = current_app.config["SERVER_HOST"]
    counts: dict[str, int] = {}
    for host, count in db.session.execute(stmt):
        counts[host or local] = counts.get(host or local, 0) + count
    return dict(sorted(counts.items()))


def _month(column):
    if db.session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM")
    return func.strftime("%Y-%m", column)


def _months(now: datetime) -> list[str]:
    year, month = now.year, now.month
    months = []
    for _i in range(MONTHS):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(months))


def _per_month(column, *where, join=None) -> dict[str, int]:
    bucket = _month(column).label("month")
    start = datetime.fromisoformat(_months(utcnow())[0] + "-01T00:00:00+00:00")
    stmt = select(bucket, func.count()).select_from(column.class_)
    if join is not None:
        stmt = stmt.join(*join)
    stmt = stmt.where(column >= start, *where).group_by(bucket)
    return dict(db.session.execute(stmt).all())


def participation_stats() -> dict[str, Any]:
    listed = (Idea.state != IdeaState.DRAFT, Idea.removed_at.is_(None))
    members = _by_host(select(Member.host, func.count()).where(Member.erased_at.is_(None)).group_by(Member.host))
    ideas = _by_host(select(Idea.origin_host, func.count()).where(*listed).group_by(Idea.origin_host))
    comments = _by_host(select(Member.host, func.count()).select_from(Comment).join(Member, Comment.author)
                        .where(Comment.deleted_at.is_(None)).group_by(Member.host))
    votes = _by_host(select(Member.host, func.count()).select_from(IdeaVote)
                     .join(Member, Member.id == IdeaVote.member_id).group_by(Member.host))
    # The monthly series count exactly what the totals count (same rows, same filters), by creation month.
    series = {
        "members": _per_month(Member.created_at, Member.erased_at.is_(None)),
        "ideas": _per_month(Idea.published_at, *listed),
        "comments": _per_month(Comment.created_at, Comment.deleted_at.is_(None),
                               join=(Member, Comment.author)),
        "votes": _per_month(IdeaVote.created_at, join=(Member, Member.id == IdeaVote.member_id)),
    }
    extra = extra_participation()  # gatherings (events), registered through core/stats.py
    return {
        **extra,
        "instance": current_app.config["SERVER_HOST"],
        "parties": party_names(set(members) | set(ideas) | set(comments) | set(votes) | hosts_of(extra)),
        "members": {"total": sum(members.values()), "by_instance": members},
        "ideas": {"total": sum(ideas.values()), "by_instance": ideas},
        "comments": {"total": sum(comments.values()), "by_instance": comments},
        "votes": {"total": sum(votes.values()), "by_instance": votes},
        "over_time": [{"month": month, **{name: counts.get(month, 0) for name, counts in series.items()}}
                      for month in _months(utcnow())],
    }


def chart(over_time: list[dict[str, Any]], width: int = 640, height: int = 220) -> dict[str, Any]:
    """Coordinates for an SVG line chart of ideas, comments and votes per month."""
    # Wide enough margins that the first and last month labels (centred on their points) fit inside.
    left, right, top, bottom = 40, 28, 10, 30
    names = ("ideas", "comments", "votes")
    peak = max([1] + [p[name] for p in over_time for name in names])
    step = (width - left - right) / max(1, len(over_time) - 1)

    def y(value: int) -> float:
        return round(top + (height - top - bottom) * (1 - value / peak), 1)

    lines = {name: " ".join(f"{round(left + i * step, 1)},{y(p[name])}" for i, p in enumerate(over_time))
             for name in names}
    labels = [{"x": round(left + i * step, 1), "text": p["month"][2:]} for i, p in enumerate(over_time)]
    return {"width": width, "height": height, "left": left, "top": top, "bottom": height - bottom,
            "right": width - right, "peak": peak, "lines": lines, "labels": labels, "y_mid": y(peak // 2),
            "mid": peak // 2}
