"""Fixtures for the groups tests: members with API headers, groups made through the API, row counts."""

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
def create_group(client) -> Callable[..., dict[str, Any]]:
    """`group = create_group(headers, name="Paris greens", kind="territorial", scope="fr-paris")`."""

    def factory(headers: dict[str, str], **fields: Any) -> dict[str, Any]:
        fields.setdefault("name", "Climate action")
        fields.setdefault("kind", "thematic")
        response = client.post("/api/v1/groups", json=fields, headers=headers)
        assert response.status_code == 201, response.json
        return response.json

    return factory


@pytest.fixture
def rows(app) -> Callable[[], dict[str, int]]:
    """Row counts of the groups tables, to prove that a refused request stored nothing."""
    from coopol.extensions import db
    from coopol.groups.models import Group, Membership

    def counts() -> dict[str, int]:
        with app.app_context():
            return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                    for model in (Group, Membership)}

    return counts


@pytest.fixture
def check_counts(app) -> Callable[[], None]:
    """Asserts the invariant: every group's member_count equals its active membership rows."""
    from coopol.extensions import db
    from coopol.groups.models import Group, Membership

    def check() -> None:
        with app.app_context():
            for group in db.session.scalars(select(Group)):
                active = db.session.scalar(select(func.count()).select_from(Membership).where(
                    Membership.group_id == group.id, Membership.state == "active"))
                assert group.member_count == active, (group.slug, group.member_count, active)

    return check
