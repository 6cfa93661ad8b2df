"""What the ideas module shows on the landing page: its participation counters and the top ideas,
ours and our allies' (registered with coopol/core/landing.py)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from coopol.extensions import db
from coopol.ideas import presenters
from coopol.ideas.models import Idea, IdeaState, IdeaVote

LISTED_STATES = (IdeaState.PUBLISHED, IdeaState.EVALUATING, IdeaState.ACCEPTED, IdeaState.REJECTED)
TOP_LOCAL, TOP_ALLIES = 4, 3


def _listed():
    return (Idea.state.in_(LISTED_STATES), Idea.hidden_at.is_(None), Idea.removed_at.is_(None))


def count_ideas() -> int:
    """Ideas anyone may read (ours and the copies of allies'), as the list counts them."""
    return db.session.scalar(select(func.count()).select_from(Idea).where(*_listed())) or 0


def count_votes() -> int:
    return db.session.scalar(select(func.count()).select_from(IdeaVote)) or 0


def top_ideas(*, local: bool, limit: int) -> list[Idea]:
    origin = Idea.origin_host.is_(None) if local else Idea.origin_host.is_not(None)
    stmt = (select(Idea).where(*_listed(), origin)
            .order_by(Idea.score.desc(), Idea.support_count.desc(), Idea.id.desc()).limit(limit))
    return list(db.session.scalars(stmt))


def top_ideas_section(viewer: Any) -> dict[str, Any] | None:
    ours = presenters.idea_views(top_ideas(local=True, limit=TOP_LOCAL), viewer)
    allies = presenters.idea_views(top_ideas(local=False, limit=TOP_ALLIES), viewer)
    return {"ours": ours, "allies": allies}


def register_landing(app: Flask) -> None:
    from coopol.core.landing import register_counter, register_section

    register_counter(app, "ideas", _l("ideas"), count_ideas, order=20, endpoint="ideas.index")
    register_counter(app, "votes", _l("votes"), count_votes, order=30, endpoint="ideas.stats")
    register_section(app, "top_ideas", "ideas/_landing.html", top_ideas_section, order=10)
