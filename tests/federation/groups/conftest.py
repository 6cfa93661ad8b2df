"""Live allied instances (see tests/federation/content/conftest.py) and helpers for groups."""

from __future__ import annotations

from typing import Any

from tests.federation.content.conftest import Party, parties, settle  # noqa: F401  (fixtures)


def make_group(party: Party, organiser: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "Night buses now", "kind": "thematic", "joining": "open", "description": "We ride **late**.",
            **fields}
    return party.api("POST", "/groups", as_=organiser, json=body, expect=201).get_json()


def copy_of(party: Party, ap_id: str) -> dict[str, Any] | None:
    """The API view of `party`'s copy of the group with ActivityPub id `ap_id` (None if it has none or it is
    not listed)."""
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.groups.models import Group

    slug = party.query(lambda: db.session.scalar(select(Group.slug).where(Group.ap_id == ap_id)))
    if slug is None:
        return None
    response = party.api("GET", f"/groups/{slug}")
    return response.get_json() if response.status_code == 200 else None
