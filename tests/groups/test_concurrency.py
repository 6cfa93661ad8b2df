"""Two joins by the same member at once (a double click on two workers) make one membership, counted once."""

from __future__ import annotations

import os
import threading

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.skipif(not os.environ.get("COOPOL_TEST_DATABASE_URL"),
                                reason="needs PostgreSQL's row locks to hold the second join mid-way")


def test_two_joins_at_once_make_one_membership(app, member, create_group, check_counts):
    from coopol.accounts.services import get_member_by_handle
    from coopol.extensions import db
    from coopol.groups.memberships import join_group
    from coopol.groups.services import find_group

    alice = member("alice")
    member("bob")
    create_group(alice, name="Cycling", slug="cycling")
    first_flushed, outcome = threading.Event(), {}

    def second_join() -> None:
        first_flushed.wait()
        with app.test_request_context():
            try:
                membership = join_group(get_member_by_handle("bob"), find_group("cycling"))
                outcome["state"] = membership.state
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - the test reports what the second join raised
                outcome["error"] = error
                db.session.rollback()

    thread = threading.Thread(target=second_join)
    thread.start()
    with app.test_request_context():
        join_group(get_member_by_handle("bob"), find_group("cycling"))  # flushed, not committed
        first_flushed.set()
        # Commit only once the second join waits on our uncommitted row.
        with db.engine.connect() as watcher:
            for _ in range(10_000):
                if watcher.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                    break
                watcher.rollback()
        db.session.commit()
    thread.join()

    assert "error" not in outcome, outcome
    assert outcome["state"] == "active"
    check_counts()
    with app.app_context():
        from coopol.groups.models import Group

        assert db.session.query(Group).filter_by(slug="cycling").one().member_count == 2


def test_two_groups_created_at_once_with_one_name_get_two_addresses(app, member, check_counts):
    from coopol.accounts.services import get_member_by_handle
    from coopol.extensions import db
    from coopol.groups.services import create_group

    member("alice")
    member("bob")
    first_flushed, outcome = threading.Event(), {}

    def second_create() -> None:
        first_flushed.wait()
        with app.test_request_context():
            try:
                outcome["slug"] = create_group(get_member_by_handle("bob"), name="Cycling", kind="thematic").slug
                db.session.commit()
            except Exception as error:  # noqa: BLE001 - the test reports what the second creation raised
                outcome["error"] = error
                db.session.rollback()

    thread = threading.Thread(target=second_create)
    thread.start()
    with app.test_request_context():
        assert create_group(get_member_by_handle("alice"), name="Cycling", kind="thematic").slug == "cycling"
        first_flushed.set()
        with db.engine.connect() as watcher:
            for _ in range(10_000):
                if watcher.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                    break
                watcher.rollback()
        db.session.commit()
    thread.join()

    assert outcome == {"slug": "cycling-2"}
    check_counts()
