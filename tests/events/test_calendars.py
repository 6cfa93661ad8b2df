"""iCalendar files parse back with `icalendar`: time zones, a stable UID, SEQUENCE rising, STATUS:CANCELLED."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar


def _events(response):
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "text/calendar"
    return [c for c in Calendar.from_ical(response.data).walk("VEVENT")]


def test_one_gathering_parses_back_in_its_own_zone(client, member, create_event):
    alice = member("alice")
    event = create_event(alice, title="Night market", starts_at="2031-01-10T19:00", ends_at="2031-01-10T21:30",
                         timezone="America/New_York", place={"name": "Pier 4", "address": "Brooklyn",
                                                             "lat": 40.7, "lon": -74.0})
    response = client.get(f"/events/{event['id']}.ics")
    cal = Calendar.from_ical(response.data)
    (vevent,) = _events(response)
    start = vevent.decoded("dtstart")
    assert start == datetime(2031, 1, 10, 19, 0, tzinfo=ZoneInfo("America/New_York"))
    assert vevent["dtstart"].params["TZID"] == "America/New_York"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["America/New_York"]
    assert str(vevent["uid"]) == event["ap_id"]
    assert str(vevent["summary"]) == "Night market"
    assert "Pier 4" in str(vevent["location"])
    assert int(vevent["sequence"]) == 0
    assert str(vevent["status"]) == "CONFIRMED"


def test_sequence_rises_with_changes_and_cancelled_shows(client, member, create_event):
    alice = member("alice")
    event = create_event(alice)
    uid = str(_events(client.get(f"/events/{event['id']}.ics"))[0]["uid"])
    client.patch(f"/api/v1/events/{event['id']}", json={"place": {"name": "Library"}}, headers=alice)
    (after_edit,) = _events(client.get(f"/events/{event['id']}.ics"))
    assert int(after_edit["sequence"]) == 1 and str(after_edit["uid"]) == uid
    client.post(f"/api/v1/events/{event['id']}/cancel", json={"reason": "storm"}, headers=alice)
    (cancelled,) = _events(client.get(f"/events/{event['id']}.ics"))
    assert str(cancelled["status"]) == "CANCELLED" and int(cancelled["sequence"]) == 2
    assert str(cancelled["uid"]) == uid
    # Subscribed calendars still see it in the feed, cancelled.
    feed = {str(v["uid"]): str(v["status"]) for v in _events(client.get("/events.ics"))}
    assert feed[uid] == "CANCELLED"


def test_feeds_by_scope_and_group(client, member, create_event):
    alice = member("alice")
    group = client.post("/api/v1/groups", json={"name": "Barcelona en comú", "kind": "territorial",
                                                "scope": "es-barcelona"}, headers=alice).json
    in_group = create_event(alice, title="Group assembly", group=group["slug"], timezone="Europe/Madrid")
    in_paris = create_event(alice, title="Paris picnic", scope="fr-paris")
    create_event(alice, title="Draft", publish=False)
    spain = [str(v["summary"]) for v in _events(client.get("/events.ics?scope=es"))]
    assert spain == ["Group assembly"]
    france = [str(v["summary"]) for v in _events(client.get("/events.ics?scope=fr"))]
    assert france == ["Paris picnic"]
    everything = {str(v["summary"]) for v in _events(client.get("/events.ics"))}
    assert everything == {"Group assembly", "Paris picnic"}
    group_feed = _events(client.get(f"/groups/{group['slug']}/events.ics"))
    assert [str(v["uid"]) for v in group_feed] == [in_group["ap_id"]]
    assert client.get("/events.ics?group=" + group["slug"]).status_code == 200
    assert client.get("/groups/no-such-group/events.ics").status_code == 404
    assert client.get("/events.ics?scope=atlantis").status_code == 404
    assert in_paris["id"] != in_group["id"]


def test_draft_calendar_is_private(client, member, create_event):
    alice, bob = member("alice"), member("bob")
    draft = create_event(alice, publish=False)
    assert client.get(f"/events/{draft['id']}.ics").status_code == 404
    assert client.get(f"/events/{draft['id']}.ics", headers=bob).status_code == 404
    assert client.get(f"/events/{draft['id']}.ics", headers=alice).status_code == 200
