"""Gatherings: new ones in my groups and territory, changes, cancellations, waitlist promotion, reminders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from coopol.notifications.gatherings import send_reminders


def soon(days: float = 7, hours: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=days, hours=hours)).replace(microsecond=0).isoformat()


def new_event(client, headers, **fields):
    body = {"title": "Neighbourhood meeting", "starts_at": soon(7), "ends_at": soon(7, 2),
            "timezone": "Europe/Paris", "mode": "in_person", "place": {"name": "Town hall", "address": "1 Main St"},
            **fields}
    response = client.post("/api/v1/events", json=body, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def kinds(client, headers):
    return [n["kind"] for n in client.get("/api/v1/notifications", headers=headers).json["items"]]


def test_a_new_gathering_tells_my_group_and_territory_and_shows_in_my_feed(client, people):
    group = client.post("/api/v1/groups", json={"name": "Paris rail", "description": "Trains.", "kind": "thematic",
                                                "joining": "open"}, headers=people["ana"]).json
    client.post(f"/api/v1/groups/{group['slug']}/join", headers=people["bea"])
    client.put("/api/v1/scopes/fr/follow", headers=people["carl"])
    event = new_event(client, people["ana"], group=group["slug"], scope="fr-paris")
    assert kinds(client, people["bea"]) == ["event_new"] and kinds(client, people["carl"]) == ["event_new"]
    assert kinds(client, people["dora"]) == [] and kinds(client, people["ana"]) == []
    feed = client.get("/api/v1/feed", headers=people["bea"]).json["items"]
    assert [(i["kind"], i["object"]["id"]) for i in feed] == [("event", event["id"])]


def test_changes_cancellation_and_promotion_tell_those_going(client, people):
    event = new_event(client, people["ana"], capacity=1)
    assert client.put(f"/api/v1/events/{event['id']}/rsvp", headers=people["bea"]).json["status"] == "going"
    assert client.put(f"/api/v1/events/{event['id']}/rsvp", headers=people["carl"]).json["status"] == "waitlisted"
    client.delete(f"/api/v1/events/{event['id']}/rsvp", headers=people["bea"])
    assert kinds(client, people["carl"]) == ["event_promoted"]
    for title in ("Meeting, new room", "Meeting, new hour"):
        changed = client.patch(f"/api/v1/events/{event['id']}", json={"title": title}, headers=people["ana"])
        assert changed.status_code == 200, changed.json
    items = client.get("/api/v1/notifications", headers=people["carl"]).json["items"]
    assert [(n["kind"], n["count"]) for n in items] == [("event_changed", 2), ("event_promoted", 1)]
    assert client.post(f"/api/v1/events/{event['id']}/cancel", json={"reason": "Storm."},
                       headers=people["ana"]).status_code == 200
    items = client.get("/api/v1/notifications", headers=people["carl"]).json["items"]
    assert items[0]["kind"] == "event_cancelled" and "Storm." in items[0]["text"]
    assert kinds(client, people["bea"]) == []  # she left before any of it


def test_the_reminder_goes_once_the_day_before(app, client, people):
    tomorrow = new_event(client, people["ana"], starts_at=soon(0, 20), ends_at=soon(0, 22))
    later = new_event(client, people["ana"], title="Later", starts_at=soon(5), ends_at=soon(5, 1))
    for event in (tomorrow, later):
        client.put(f"/api/v1/events/{event['id']}/rsvp", headers=people["bea"])
    with app.app_context():
        assert send_reminders() == 1
        assert send_reminders() == 0
    items = client.get("/api/v1/notifications", headers=people["bea"]).json["items"]
    assert [(n["kind"], n["target"]["id"]) for n in items] == [("event_reminder", tomorrow["id"])]


def test_the_reminder_says_the_time_in_the_gatherings_own_zone(app, client, people):
    from zoneinfo import ZoneInfo

    # A gathering in Tokyo: the instance's default zone (UTC) would say a time nine hours off.
    event = new_event(client, people["ana"], starts_at=soon(0, 20), ends_at=soon(0, 22), timezone="Asia/Tokyo")
    client.put(f"/api/v1/events/{event['id']}/rsvp", headers=people["bea"])
    with app.app_context():
        assert send_reminders() == 1
    [notice] = client.get("/api/v1/notifications", headers=people["bea"]).json["items"]
    local = datetime.fromisoformat(event["starts_at"]).astimezone(ZoneInfo("Asia/Tokyo"))
    text = notice["text"]
    assert f"{local.hour % 12 or 12}:{local.minute:02d}" in text and "(Asia/Tokyo)" in text, text
