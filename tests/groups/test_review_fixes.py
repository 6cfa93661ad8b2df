"""Found in review: a malformed logo URL was a 500, invisible names, the hand-over's error field, and two
organisers leaving at once (PostgreSQL)."""

from __future__ import annotations

import os
import threading

import pytest


@pytest.mark.parametrize("url", ["https://[::1", "https://logo.example:99999/a.png"])
def test_malformed_logo_url_is_a_422_not_a_500(client, member, rows, url):
    alice = member("alice")
    before = rows()
    response = client.post("/api/v1/groups", json={"name": "Cyclists", "kind": "thematic", "logo_url": url},
                           headers=alice)
    assert response.status_code == 422 and "logo_url" in response.json["errors"], response.json
    assert rows() == before


def test_an_invisible_name_or_title_is_refused(client, member):
    alice = member("alice")
    invisible = "\u200b\u200b\u200b\u2060"
    response = client.post("/api/v1/groups", json={"name": invisible, "kind": "thematic"}, headers=alice)
    assert response.status_code == 422 and "name" in response.json["errors"]
    response = client.post("/api/v1/events", json={
        "title": invisible, "starts_at": "2031-05-01T18:00", "ends_at": "2031-05-01T20:00",
        "timezone": "Europe/Paris", "place": {"name": "Square"}}, headers=alice)
    assert response.status_code == 422 and "title" in response.json["errors"]


def test_handing_over_to_oneself_names_the_handle_field(client, member, create_group):
    alice = member("alice")
    create_group(alice, name="Cyclists", slug="cyclists")
    response = client.post("/api/v1/groups/cyclists/hand-over", json={"handle": "alice"}, headers=alice)
    assert response.status_code == 422 and "handle" in response.json["errors"], response.json


@pytest.mark.skipif(not os.environ.get("COOPOL_TEST_DATABASE_URL"),
                    reason="needs PostgreSQL's row locks: SQLite serialises the two writers anyway")
def test_two_organisers_leaving_at_once_leave_one_organiser(app, member, create_group, client):
    from sqlalchemy import text

    from coopol.accounts.services import get_member_by_handle
    from coopol.extensions import db
    from coopol.groups.memberships import count_organisers, leave_group
    from coopol.groups.services import find_group

    alice, bob = member("alice"), member("bob")
    create_group(alice, name="Cyclists", slug="cyclists")
    client.post("/api/v1/groups/cyclists/join", headers=bob)
    assert client.post("/api/v1/groups/cyclists/members/bob/organiser", headers=alice).status_code == 200
    first_done, outcome = threading.Event(), {}

    def second_leave() -> None:
        first_done.wait()
        with app.test_request_context():
            try:
                leave_group(get_member_by_handle("bob"), find_group("cyclists"))
                db.session.commit()
                outcome["left"] = True
            except Exception as error:  # noqa: BLE001 - the test reports what the second leave raised
                outcome["error"] = type(error).__name__
                db.session.rollback()

    thread = threading.Thread(target=second_leave)
    thread.start()
    with app.test_request_context():
        leave_group(get_member_by_handle("alice"), find_group("cyclists"))  # flushed, not committed
        first_done.set()
        with db.engine.connect() as watcher:  # commit once the second leave waits on our lock
            for _ in range(2_000):
                if watcher.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar():
                    break
                watcher.rollback()
        db.session.commit()
    thread.join(timeout=30)
    assert outcome == {"error": "Conflict"}, outcome
    with app.app_context():
        assert count_organisers(find_group("cyclists")) == 1
