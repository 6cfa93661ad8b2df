"""Listings: upcoming first, keyset pages, scope and everything below it, group, origin, dates, past ones."""

from __future__ import annotations

from tests.events.conftest import soon


def _titles(client, query="", headers=None):
    response = client.get(f"/api/v1/events{query}", headers=headers)
    assert response.status_code == 200, response.json
    return [e["title"] for e in response.json["items"]], response.json["next_cursor"]


def test_upcoming_soonest_first_and_keyset_pages(client, member, create_event):
    alice = member("alice")
    for day in (5, 1, 3, 2, 4):
        create_event(alice, title=f"Day {day}", starts_at=soon(day), ends_at=soon(day, 1))
    create_event(alice, title="Over", starts_at=soon(-3), ends_at=soon(-3, 1))
    create_event(alice, title="Hidden draft", publish=False)
    first, cursor = _titles(client, "?limit=2")
    assert first == ["Day 1", "Day 2"] and cursor
    second, cursor = _titles(client, f"?limit=2&cursor={cursor}")
    assert second == ["Day 3", "Day 4"]
    third, cursor = _titles(client, f"?limit=2&cursor={cursor}")
    assert third == ["Day 5"] and cursor is None
    assert _titles(client, "?past=true")[0] == ["Over"]
    assert client.get("/api/v1/events?cursor=bogus").status_code == 422


def test_scope_includes_scopes_below_and_dates_bound(client, member, create_event):
    alice = member("alice")
    create_event(alice, title="Paris", scope="fr-paris", starts_at=soon(1), ends_at=soon(1, 1))
    create_event(alice, title="France", scope="fr", starts_at=soon(10), ends_at=soon(10, 1))
    create_event(alice, title="Barcelona", scope="es-barcelona", starts_at=soon(2), ends_at=soon(2, 1))
    assert _titles(client, "?scope=fr")[0] == ["Paris", "France"]
    assert _titles(client, "?scope=fr-idf")[0] == ["Paris"]
    assert _titles(client, "?scope=eu")[0] == ["Paris", "Barcelona", "France"]
    until = soon(5).replace("+00:00", "Z")
    assert _titles(client, f"?to={until}")[0] == ["Paris", "Barcelona"]
    assert _titles(client, f"?from={until}")[0] == ["France"]
    assert client.get("/api/v1/events?scope=atlantis").status_code == 422


def test_by_group_and_origin(client, member, create_event, app):
    alice = member("alice")
    group = client.post("/api/v1/groups", json={"name": "Cyclists", "kind": "thematic"}, headers=alice).json
    create_event(alice, title="Ride", group=group["slug"])
    create_event(alice, title="Solo")
    _save_copy(app, "Ally's rally")
    assert _titles(client, f"?group={group['slug']}")[0] == ["Ride"]
    assert client.get("/api/v1/events?group=nope-nope").status_code == 404
    assert sorted(_titles(client, "?origin=local")[0]) == ["Ride", "Solo"]
    assert _titles(client, "?origin=ally.example")[0] == ["Ally's rally"]
    # The group shows its count of upcoming gatherings.
    assert client.get(f"/api/v1/groups/{group['slug']}").json["upcoming_event_count"] == 1


def _save_copy(app, title):
    from datetime import UTC, datetime, timedelta

    from coopol.core.uow import unit_of_work
    from coopol.events.copies import save_copy

    with app.test_request_context(), unit_of_work():
        start = datetime.now(UTC) + timedelta(days=3)
        event = save_copy(ap_id="https://ally.example/events/7", origin_host="ally.example", origin_name="Ally",
                          url="https://ally.example/events/7", title=title, starts_at=start,
                          ends_at=start + timedelta(hours=2), timezone="Europe/Rome", capacity=10)
        return event.id


def test_past_gatherings_with_their_reports(client, member, create_event):
    alice = member("alice")
    past = create_event(alice, title="Assembly", starts_at=soon(-2), ends_at=soon(-2, 2))
    response = client.post(f"/api/v1/events/{past['id']}/report", json={"minutes": "We **decided**.", "turnout": 31},
                           headers=alice)
    assert response.status_code == 200
    listed = client.get("/api/v1/events?past=true").json["items"][0]
    assert listed["report"]["turnout"] == 31
    assert "<strong>decided</strong>" in listed["report"]["minutes_html"]
