"""The unit of work: one commit at the edge, nothing written when anything fails."""

from __future__ import annotations

import pytest
from flask import redirect
from sqlalchemy import func, select

from coopol.accounts.models import Member
from coopol.accounts.services import register_member
from coopol.core.uow import unit_of_work
from coopol.extensions import db

PASSWORD = "a long and unusual pass phrase"


def count(app) -> int:
    with app.app_context():
        result = db.session.scalar(select(func.count(Member.id)))
        db.session.remove()
        return result


def test_a_unit_commits_when_it_ends_normally(app):
    with app.app_context(), unit_of_work():
        register_member("alice", "alice@example.org", PASSWORD, bypass_policy=True)

    assert count(app) == 1


def test_a_unit_rolls_back_on_any_exception(app):
    with app.app_context():
        with pytest.raises(KeyError), unit_of_work():
            register_member("alice", "alice@example.org", PASSWORD, bypass_policy=True)
            raise KeyError("late failure")
        with pytest.raises(KeyboardInterrupt), unit_of_work():
            register_member("bob", "bob@example.org", PASSWORD, bypass_policy=True)
            raise KeyboardInterrupt

    assert count(app) == 0


def test_services_only_flush(app):
    with app.app_context():
        register_member("alice", "alice@example.org", PASSWORD, bypass_policy=True)
        db.session.rollback()

    assert count(app) == 0


@pytest.fixture
def uow_app(make_app):
    app = make_app("uow")

    def create(handle: str):
        register_member(handle, f"{handle}@example.org", PASSWORD, bypass_policy=True)

    def ok():
        create("created")
        return "created", 201

    def moved():
        create("moved")
        return redirect("/")

    def refused():
        create("refused")
        return "refused without an exception", 400

    app.add_url_rule("/t/ok", "t_ok", ok, methods=["POST"])
    app.add_url_rule("/t/moved", "t_moved", moved, methods=["POST"])
    app.add_url_rule("/t/refused", "t_refused", refused, methods=["POST"])
    return app


def test_requests_commit_below_400_and_roll_back_from_400(uow_app):
    client = uow_app.test_client()

    assert client.post("/t/ok").status_code == 201
    assert client.post("/t/moved").status_code == 302
    assert client.post("/t/refused").status_code == 400

    with uow_app.app_context():
        assert set(db.session.scalars(select(Member.handle))) == {"created", "moved"}
