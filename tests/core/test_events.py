"""Publish/subscribe is per app and runs inside the publisher's unit of work."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from coopol.accounts.models import Member
from coopol.core.events import publish, subscribe
from coopol.core.uow import unit_of_work
from coopol.extensions import db


def test_subscribers_receive_the_payload_in_order(app):
    calls = []
    subscribe(app, "test_happened", lambda idea: calls.append(("first", idea)))
    subscribe(app, "test_happened", lambda idea: calls.append(("second", idea)))

    with app.app_context():
        publish("test_happened", idea=7)
        publish("test_nobody_listens", idea=8)

    assert calls == [("first", 7), ("second", 7)]


def test_two_apps_do_not_share_subscribers(make_app):
    one, two = make_app("one"), make_app("two")
    heard = []
    subscribe(one, "test_happened", lambda **payload: heard.append("one"))

    with two.app_context():
        publish("test_happened", vote=1)
    assert heard == []
    with one.app_context():
        publish("test_happened", vote=1)
    assert heard == ["one"]


def test_a_failing_subscriber_rolls_the_whole_unit_back(app):
    def refuse(member):
        raise RuntimeError("the outbox could not be written")

    subscribe(app, "member_registered", refuse)

    from coopol.accounts.services import register_member

    with app.app_context():
        with pytest.raises(RuntimeError), unit_of_work():
            register_member("alice", "alice@example.org", "a long and unusual pass phrase", bypass_policy=True)
        assert db.session.scalar(select(func.count(Member.id))) == 0


def test_what_a_subscriber_writes_commits_with_the_change(app):
    from coopol.accounts.services import register_member

    def promote(member):
        member.display_name = "Set by a subscriber"

    subscribe(app, "member_registered", promote)

    with app.app_context():
        with unit_of_work():
            register_member("alice", "alice@example.org", "a long and unusual pass phrase", bypass_policy=True)
        db.session.remove()
        assert db.session.scalar(select(Member.display_name)) == "Set by a subscriber"
