"""Helpers for the account tests: row counts (a failed request writes nothing) and CSRF tokens."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from coopol.accounts.models import ApiToken, Invitation, Member
from coopol.extensions import db

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
STRONG_PASSWORD = "correct horse battery staple"


def csrf_token_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


@pytest.fixture
def count_rows(app) -> Callable[[], dict[str, int]]:
    """`count_rows()` -> rows in every account table, to show a refused request wrote nothing."""

    def counts() -> dict[str, int]:
        with app.app_context():
            result = {model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
                      for model in (Member, ApiToken, Invitation)}
            db.session.remove()
            return result

    return counts


@pytest.fixture
def member_row(app):
    """`member_row("alice")` -> the member (detached) as stored now, or None."""

    def fetch(handle: str):
        with app.app_context():
            member = db.session.scalar(select(Member).where(Member.handle == handle))
            if member is not None:
                db.session.expunge(member)
            db.session.remove()
            return member

    return fetch


@pytest.fixture
def set_member(app):
    """`set_member("alice", status="banned")` writes columns directly, as a moderator's action would."""

    def update(handle: str, **values) -> None:
        with app.app_context():
            member = db.session.scalar(select(Member).where(Member.handle == handle))
            for key, value in values.items():
                setattr(member, key, value)
            db.session.commit()
            db.session.remove()

    return update
