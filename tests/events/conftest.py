"""Fixtures for the gatherings tests: members with API headers, gatherings made through the API, the
counter invariant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select


def soon(days: float = 7, hours: float = 0) -> str:
    """An ISO instant in the future (UTC), for starts_at/ends_at."""
    return (datetime.now(UTC) + timedelta(days=days, hours=hours)).replace(microsecond=0).isoformat()


@pytest.fixture
def member(create_member, token_for) -> Callable[..., dict[str, str]]:
    """`headers = member("alice", role="moderator")`: a new member and their API headers."""

    def factory(handle: str, **kwargs: Any) -> dict[str, str]:
        create_member(handle, **kwargs)
        return token_for(handle)

    return factory


@pytest.fixture
def create_event(client) -> Callable[..., dict[str, Any]]:
    """`event = create_event(headers, capacity=2)`: a scheduled in-person gathering next week."""

    def factory(headers: dict[str, str], **fields: Any) -> dict[str, Any]:
        fields.setdefault("title", "Neighbourhood meeting")
        fields.setdefault("starts_at", soon(7))
        fields.setdefault("ends_at", soon(7, 2))
        fields.setdefault("timezone", "Europe/Paris")
        fields.setdefault("mode", "in_person")
        if fields["mode"] != "online":
            fields.setdefault("place", {"name": "Town hall", "address": "1 Main Street"})
        response = client.post("/api/v1/events", json=fields, headers=headers)
        assert response.status_code == 201, response.json
        return response.json

    return factory


@pytest.fixture
def rows(app) -> Callable[[], dict[str, int]]:
    """Row counts of the events tables, to prove that a refused request stored nothing."""
    from coopol.events.models import Event, EventChange, Rsvp
    from coopol.extensions import db

    def counts() -> dict[str, int]:
        with app.app_context():
            return {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                    for model in (Event, Rsvp, EventChange)}

    return counts


def assert_counts_match(app) -> None:
    """The invariant: every local event's counters equal its RSVP rows, and going ≤ capacity."""
    from coopol.events.models import Event, Rsvp
    from coopol.extensions import db

    with app.app_context():
        for event in db.session.scalars(select(Event)):
            by_status = dict(db.session.execute(select(Rsvp.status, func.count()).where(Rsvp.event_id == event.id)
                                                .group_by(Rsvp.status)).all())
            assert (event.going_count, event.waitlist_count, event.pending_count) == (
                by_status.get("going", 0), by_status.get("waitlisted", 0), by_status.get("pending", 0)), event.id
            if event.capacity is not None and event.is_local:
                assert event.going_count <= event.capacity
        db.session.remove()


@pytest.fixture
def check_counts(app) -> Callable[[], None]:
    return lambda: assert_counts_match(app)
