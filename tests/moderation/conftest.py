"""Factories for moderation tests: ideas and comments made through the ideas services."""

from __future__ import annotations

import pytest

from coopol.accounts.services import get_member_by_handle
from coopol.core.uow import unit_of_work


@pytest.fixture
def create_idea(app):
    def factory(handle: str, title: str = "Free public transport for everyone", body: str = "Let us do it.",
                target_app=None) -> int:
        from coopol.ideas.services import create_idea as create

        with (target_app or app).app_context(), unit_of_work():
            return create(get_member_by_handle(handle), title=title, body=body, publish=True).id

    return factory


@pytest.fixture
def create_comment(app):
    def factory(handle: str, idea_id: int, body: str = "I disagree.", target_app=None) -> int:
        from coopol.extensions import db
        from coopol.ideas.comments import post_comment
        from coopol.ideas.models import Idea

        with (target_app or app).app_context(), unit_of_work():
            return post_comment(get_member_by_handle(handle), db.session.get(Idea, idea_id), body=body).id

    return factory


@pytest.fixture
def community(create_member, token_for):
    """An author, three reporters, two moderators and an admin, each with a token."""
    handles = {"author": "member", "rosa": "member", "jean": "member", "olympe": "member",
               "modmarie": "moderator", "modpaul": "moderator", "adminaudrey": "admin"}
    for handle, role in handles.items():
        create_member(handle, role=role)
    return {handle: token_for(handle) for handle in handles}


@pytest.fixture
def fetch(app):
    """Run `fn()` in an app context and return its result (for reading the database in asserts)."""
    def run(fn):
        with app.app_context():
            return fn()

    return run
