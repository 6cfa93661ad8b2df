"""A GET request context that has already written (a seed, a test, a CLI step run as a request) creates a
group's or member's key inside its own transaction: a second connection would wait on the write lock that
transaction holds (SQLite: "database is locked" after the busy timeout)."""

from __future__ import annotations

from coopol.core.uow import unit_of_work


def test_a_group_created_inside_a_get_context_gets_its_key_without_a_second_connection(app):
    from coopol.accounts.services import register_member
    from coopol.federation.groups.actors import ensure_group_key
    from coopol.federation.models import GroupKey
    from coopol.groups.services import create_group

    with app.test_request_context(), unit_of_work():  # method GET, as seeds and tests use
        ana = register_member("ana", "ana@example.org", "a long password 123", bypass_policy=True)
        group = create_group(ana, name="Night workers", kind="thematic")  # announcing it needs its key
        key = ensure_group_key(group)
        assert key.group_id == group.id
        group_id = group.id
    from coopol.extensions import db

    with app.app_context():
        assert db.session.query(GroupKey).filter_by(group_id=group_id).count() == 1


def test_a_plain_get_still_writes_the_key_in_a_short_transaction_of_its_own(app):
    from coopol.accounts.services import register_member
    from coopol.core.uow import has_written

    with app.test_request_context(), unit_of_work():
        assert not has_written()
        register_member("bea", "bea@example.org", "a long password 123", bypass_policy=True)
        assert has_written()
    with app.test_request_context():
        from coopol.extensions import db

        assert not has_written() and db.session.info.get("coopol.wrote") is None
