"""Factories for notification tests: members with tokens, ideas and comments through the domain services."""

from __future__ import annotations

import pytest

from coopol.accounts.services import get_member_by_handle
from coopol.core.events import subscribe
from coopol.core.uow import unit_of_work


@pytest.fixture
def people(create_member, token_for):
    """Five members and a moderator, each with API headers."""
    handles = {"ana": "member", "bea": "member", "carl": "member", "dora": "member", "eli": "member",
               "modmo": "moderator"}
    headers = {}
    for handle, role in handles.items():
        create_member(handle, role=role, display_name=handle.capitalize())
        headers[handle] = token_for(handle)
    return headers


@pytest.fixture
def create_idea(app):
    def factory(handle: str, title: str = "Night trains to Lyon", body: str = "Let us do it.", *, tags=None,
                scope=None, target_app=None) -> int:
        from coopol.ideas.services import create_idea as create

        with (target_app or app).app_context(), unit_of_work():
            return create(get_member_by_handle(handle), title=title, body=body, tags=tags, scope=scope,
                          publish=True).id

    return factory


@pytest.fixture
def create_comment(app):
    def factory(handle: str, idea_id: int, body: str = "I agree.", parent_id: int | None = None,
                target_app=None) -> int:
        from coopol.extensions import db
        from coopol.ideas.comments import post_comment
        from coopol.ideas.models import Idea

        with (target_app or app).app_context(), unit_of_work():
            return post_comment(get_member_by_handle(handle), db.session.get(Idea, idea_id), body=body,
                                parent_id=parent_id).id

    return factory


@pytest.fixture
def notices(app):
    """Every `notification_created` event the app publishes (the mail package's contract)."""
    seen: list[dict] = []
    subscribe(app, "notification_created", lambda **event: seen.append(event))
    return seen
