"""Fixtures for the ideas tests: members with tokens, and ideas created through the services."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select


@pytest.fixture
def member(create_member, token_for) -> Callable[..., dict[str, str]]:
    """`headers = member("alice", role="moderator")`: a new member and their API headers."""

    def factory(handle: str, **kwargs: Any) -> dict[str, str]:
        create_member(handle, **kwargs)
        return token_for(handle)

    return factory


@pytest.fixture
def create_idea(app) -> Callable[..., int]:
    """`idea_id = create_idea("alice", title=..., publish=True)` through the service, committed."""
    from coopol.accounts.services import get_member_by_handle
    from coopol.core.uow import unit_of_work
    from coopol.ideas.services import create_idea as create

    counter = iter(range(1, 100_000))

    def factory(handle: str, **fields: Any) -> int:
        n = next(counter)
        fields.setdefault("title", f"Idea number {n}")
        fields.setdefault("body", f"The body of idea {n}.")
        with app.test_request_context(), unit_of_work():
            idea = create(get_member_by_handle(handle), **fields)
            return idea.id

    return factory


@pytest.fixture
def count_rows(app) -> Callable[[], dict[str, int]]:
    """Row counts of every table of the module, to prove that a failed request wrote nothing."""
    from coopol.extensions import db
    from coopol.ideas import models

    tables = [models.Idea, models.IdeaRevision, models.Comment, models.CommentRevision, models.IdeaVote,
              models.CommentVote, models.IdeaTally, models.Tag, models.IdeaTag]

    def counts() -> dict[str, int]:
        with app.app_context():
            result = {m.__tablename__: db.session.scalar(select(func.count()).select_from(m)) for m in tables}
            db.session.remove()
            return result

    return counts


@pytest.fixture
def tally_matches_rows(app) -> Callable[[Any, int], dict]:
    def check(app, idea_id: int) -> dict:
        """The stored counts and per-instance tallies, after checking they equal the vote rows."""
        from coopol.accounts.models import Member
        from coopol.extensions import db
        from coopol.ideas.models import Idea, IdeaTally, IdeaVote

        with app.app_context():
            idea = db.session.get(Idea, idea_id)
            rows = db.session.execute(select(func.coalesce(Member.host, app.config["SERVER_HOST"]), IdeaVote.value,
                                             func.count()).join(Member, Member.id == IdeaVote.member_id)
                                      .where(IdeaVote.idea_id == idea_id).group_by(Member.host, IdeaVote.value)).all()
            expected: dict[str, dict[str, int]] = {}
            for host, value, count in rows:
                expected.setdefault(host, {"support": 0, "oppose": 0})[value] = count
            tallies = {t.host: {"support": t.support, "oppose": t.oppose}
                       for t in db.session.scalars(select(IdeaTally).where(IdeaTally.idea_id == idea_id))
                       if t.support or t.oppose}
            assert tallies == expected
            assert idea.support_count == sum(v["support"] for v in expected.values())
            assert idea.oppose_count == sum(v["oppose"] for v in expected.values())
            assert idea.score == idea.support_count - idea.oppose_count
            result = {"support": idea.support_count, "oppose": idea.oppose_count, "by_instance": tallies}
            db.session.remove()
            return result

    return check
