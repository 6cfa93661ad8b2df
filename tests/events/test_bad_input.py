"""Bad input is a 422 naming the field, and stores nothing."""

from __future__ import annotations

import pytest

from tests.events.conftest import soon

BASE = {"title": "Door-to-door", "starts_at": "2031-05-01T18:00", "ends_at": "2031-05-01T20:00",
        "timezone": "Europe/Paris", "mode": "in_person", "place": {"name": "Square"}}


@pytest.mark.parametrize("changes, field", [
    ({"ends_at": "2031-05-01T17:00"}, "ends_at"),
    ({"ends_at": "2031-05-01T18:00"}, "ends_at"),
    ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"timezone": "../../etc/passwd"}, "timezone"),
    ({"capacity": 0}, "capacity"),
    ({"capacity": -3}, "capacity"),
    ({"capacity": 2.5}, "capacity"),
    ({"mode": "online", "place": None}, "online_url"),
    ({"mode": "hybrid", "online_url": ""}, "online_url"),
    ({"mode": "in_person", "place": {}}, "place"),
    ({"place": {"name": "Square", "lat": 91, "lon": 2}}, "place"),
    ({"place": {"name": "Square", "lat": 48.8}}, "place"),
    ({"title": "x"}, "title"),
    ({"starts_at": "tomorrow"}, "starts_at"),
    ({"scope": "atlantis"}, "scope"),
    ({"language": "tlh"}, "language"),
    ({"mode": "telepathy"}, "mode"),
    ({"group": "no-such-group"}, "group"),
    ({"surprise": 1}, "surprise"),
])
def test_bad_event_is_422_naming_the_field(client, member, rows, changes, field):
    alice = member("alice")
    before = rows()
    response = client.post("/api/v1/events", json={**BASE, **changes}, headers=alice)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json
    assert rows() == before


def test_http_meeting_url_refused_in_production_mode(make_app, create_member, token_for):
    app = make_app("prod", URL="https://prod.coopol.test")
    create_member("alice", target_app=app)
    headers = token_for("alice", target_app=app)
    client = app.test_client()
    body = {**BASE, "mode": "online", "place": None, "online_url": "http://meet.example/room"}
    response = client.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code == 422 and "online_url" in response.json["errors"]
    body["online_url"] = "https://meet.example/room"
    assert client.post("/api/v1/events", json=body, headers=headers).status_code == 201


def test_http_meeting_url_allowed_on_a_local_instance(client, member):
    alice = member("alice")
    body = {**BASE, "mode": "online", "place": None, "online_url": "http://127.0.0.1:8080/room"}
    assert client.post("/api/v1/events", json=body, headers=alice).status_code == 201


def test_naive_times_are_read_in_the_event_time_zone(client, member):
    alice = member("alice")
    event = client.post("/api/v1/events", json=BASE, headers=alice).json
    assert event["starts_at"].startswith("2031-05-01T16:00:00")  # 18:00 in Paris (summer time) is 16:00 UTC


def test_only_a_group_organiser_hosts_for_the_group(client, member):
    alice, bob = member("alice"), member("bob")
    group = client.post("/api/v1/groups", json={"name": "Paris greens", "kind": "territorial", "scope": "fr-paris"},
                        headers=alice).json
    client.post(f"/api/v1/groups/{group['slug']}/join", headers=bob)
    refused = client.post("/api/v1/events", json={**BASE, "group": group["slug"]}, headers=bob)
    assert refused.status_code == 422 and "group" in refused.json["errors"]
    hosted = client.post("/api/v1/events", json={**BASE, "group": group["slug"]}, headers=alice)
    assert hosted.status_code == 201
    assert hosted.json["group"]["slug"] == group["slug"]
    assert hosted.json["scope"] == "fr-paris"  # the group's scope by default
    # The group's other organisers may change it too; its members may not.
    event_id = hosted.json["id"]
    assert client.patch(f"/api/v1/events/{event_id}", json={"title": "Renamed"}, headers=bob).status_code == 403


def test_patch_bad_values_are_422_and_change_nothing(client, member, create_event, rows):
    alice = member("alice")
    event = create_event(alice)
    before = rows()
    for body, field in (({"ends_at": soon(1)}, "ends_at"), ({"timezone": "Nowhere/City"}, "timezone"),
                        ({"capacity": 0}, "capacity"), ({"mode": "online"}, "online_url"),
                        ({"state": "cancelled"}, "state")):
        response = client.patch(f"/api/v1/events/{event['id']}", json=body, headers=alice)
        assert response.status_code == 422 and field in response.json["errors"], (body, response.json)
    assert rows() == before
    assert client.get(f"/api/v1/events/{event['id']}").json["sequence"] == 0


def test_report_before_the_end_is_409_and_bad_report_422(client, member, create_event):
    alice = member("alice")
    future = create_event(alice)
    assert client.post(f"/api/v1/events/{future['id']}/report", json={"minutes": "Great"},
                       headers=alice).status_code == 409
    past = create_event(alice, starts_at=soon(-1), ends_at=soon(-1, 2))
    response = client.post(f"/api/v1/events/{past['id']}/report", json={"minutes": "  "}, headers=alice)
    assert response.status_code == 422 and "minutes" in response.json["errors"]
    response = client.post(f"/api/v1/events/{past['id']}/report", json={"minutes": "x", "turnout": -1}, headers=alice)
    assert response.status_code == 422 and "turnout" in response.json["errors"]


def test_wrong_types_are_422_naming_the_field(client, member, rows):
    alice = member("alice")
    before = rows()
    for body, field in (({"place": {"name": "Square", "lat": "north", "lon": 2}}, "place"),
                        ({"capacity": "ten"}, "capacity"), ({"capacity": True}, "capacity"),
                        ({"requires_approval": "maybe"}, "requires_approval"), ({"starts_at": 12}, "starts_at")):
        response = client.post("/api/v1/events", json={**BASE, **body}, headers=alice)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["errors"] or any(k.startswith(field) for k in response.json["errors"]), \
            response.json
    assert rows() == before
