"""Found in review: hostile input that was a 500 or silently wrong, keyset cursors, calendar time zones,
gatherings of moderated groups, and the capacity rule on PATCH."""

from __future__ import annotations

from datetime import date

import pytest
from icalendar import Calendar

BASE = {"title": "Door-to-door", "starts_at": "2031-05-01T18:00", "ends_at": "2031-05-01T20:00",
        "timezone": "Europe/Paris", "mode": "in_person", "place": {"name": "Square"}}
ONLINE = {**BASE, "mode": "online", "place": None}


@pytest.mark.parametrize("url", ["https://[::1", "https://meet.example:99999/room", "https://meet.example:abc/",
                                 "https://:443/room"])
def test_malformed_meeting_url_is_a_422_not_a_500(client, member, rows, url):
    alice = member("alice")
    before = rows()
    response = client.post("/api/v1/events", json={**ONLINE, "online_url": url}, headers=alice)
    assert response.status_code == 422 and "online_url" in response.json["errors"], response.json
    assert rows() == before


@pytest.mark.parametrize("zone", ["localtime", "Factory"])
def test_zones_that_are_not_places_are_refused(client, member, zone):
    response = client.post("/api/v1/events", json={**BASE, "timezone": zone}, headers=member("alice"))
    assert response.status_code == 422 and "timezone" in response.json["errors"]


def test_a_wall_time_in_a_dst_gap_is_a_422(client, member):
    # 2031-03-30 02:30 never happens in Paris (the clocks jump from 02:00 to 03:00).
    body = {**BASE, "starts_at": "2031-03-30T02:30", "ends_at": "2031-03-30T04:00"}
    response = client.post("/api/v1/events", json=body, headers=member("alice"))
    assert response.status_code == 422 and "starts_at" in response.json["errors"]
    assert "ends_at" not in response.json["errors"]


def test_a_wall_time_in_a_dst_overlap_is_its_first_occurrence(client, member):
    # 2031-10-26 02:30 happens twice in Paris: first at +02:00 (00:30 UTC).
    body = {**BASE, "starts_at": "2031-10-26T02:30", "ends_at": "2031-10-26T05:00"}
    response = client.post("/api/v1/events", json=body, headers=member("alice"))
    assert response.status_code == 201, response.json
    assert response.json["starts_at"].startswith("2031-10-26T00:30:00")


def test_an_offset_that_moves_past_the_latest_moment_is_a_422(client, member):
    body = {**BASE, "starts_at": "8999-12-31T20:00-14:00", "ends_at": "8999-12-31T23:59-14:00"}
    response = client.post("/api/v1/events", json=body, headers=member("alice"))
    assert response.status_code == 422 and "ends_at" in response.json["errors"]


def test_keyset_pages_keep_ties_far_from_1970(client, member):
    """A float timestamp lost microseconds in the cursor: the second of two gatherings at the same
    instant (in 7574) was skipped."""
    alice = member("alice")
    moment = "7574-10-29T09:53:21.290822+00:00"
    ids = [client.post("/api/v1/events", json={**BASE, "title": f"Tie {n}", "starts_at": moment,
                                               "ends_at": "7574-10-29T12:00:00+00:00", "timezone": "UTC"},
                       headers=alice).json["id"] for n in range(3)]
    seen, cursor = [], None
    for _page in range(10):
        answer = client.get("/api/v1/events", query_string={"limit": 1, **({"cursor": cursor} if cursor else {})})
        assert answer.status_code == 200
        seen += [item["id"] for item in answer.json["items"]]
        cursor = answer.json["next_cursor"]
        if cursor is None:
            break
    assert seen == ids


@pytest.mark.parametrize("cursor", ["１２３.１", "1.²", "--1.1", "1.", ".1", "1e5.1"])
def test_tampered_cursor_is_a_422(client, cursor):
    response = client.get("/api/v1/events", query_string={"cursor": cursor})
    assert response.status_code == 422 and "cursor" in response.json["errors"]


def _vtimezone_years(body: bytes, zone: str) -> set[int]:
    calendar = Calendar.from_ical(body)
    years = set()
    for tz in calendar.walk("VTIMEZONE"):
        if str(tz["TZID"]) != zone:
            continue
        for part in tz.walk("DAYLIGHT"):
            years.add(part.decoded("DTSTART").year)
            rdates = part.get("RDATE") or []
            for rdate in rdates if isinstance(rdates, list) else [rdates]:
                years.update(d.dt.year for d in rdate.dts)
            if part.get("RRULE"):
                years.add(-1)  # open-ended: covers every year
    return years


def test_vtimezone_covers_a_gathering_after_2038(client, member):
    body = {**BASE, "starts_at": "2040-07-01T18:00", "ends_at": "2040-07-01T20:00"}
    event = client.post("/api/v1/events", json=body, headers=member("alice")).json
    ics = client.get(f"/events/{event['id']}.ics").data
    years = _vtimezone_years(ics, "Europe/Paris")
    assert 2040 in years or -1 in years, years
    calendar = Calendar.from_ical(ics)
    start = calendar.walk("VEVENT")[0]["DTSTART"]
    assert start.params["TZID"] == "Europe/Paris" and start.dt.replace(tzinfo=None).hour == 18


def _hide_group(app, slug: str, *, removed: bool = False) -> None:
    from coopol.core.time import utcnow
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.groups.models import Group

    with app.app_context(), unit_of_work():
        group = db.session.query(Group).filter_by(slug=slug).one()
        if removed:
            group.removed_at = utcnow()
        else:
            group.hidden_at = utcnow()


@pytest.mark.parametrize("removed", [False, True])
def test_gatherings_of_a_moderated_group_leave_lists_feeds_and_counts(app, client, member, create_event, removed):
    alice, bob, carol = member("alice"), member("bob"), member("carol")
    assert client.post("/api/v1/groups", json={"name": "Cyclists", "slug": "cyclists", "kind": "thematic"},
                       headers=alice).status_code == 201
    client.post("/api/v1/groups/cyclists/join", headers=bob)
    event = create_event(alice, title="Critical mass", group="cyclists")
    solo = create_event(carol, title="Carol's own")
    _hide_group(app, "cyclists", removed=removed)

    listed = [e["id"] for e in client.get("/api/v1/events").json["items"]]
    assert listed == [solo["id"]]
    assert client.get(f"/api/v1/events/{event['id']}").status_code == 404
    assert client.get(f"/api/v1/events/{event['id']}", headers=carol).status_code == 404
    assert client.get(f"/events/{event['id']}.ics").status_code == 404
    assert "Critical mass" not in client.get("/events.ics").get_data(as_text=True)
    assert client.put(f"/api/v1/events/{event['id']}/rsvp", json={}, headers=carol).status_code == 404
    with app.test_request_context():
        from coopol.events.services import count_upcoming_events

        assert count_upcoming_events() == 1
    if not removed:  # a hidden group's members still see its gatherings there
        mine = client.get("/api/v1/events", query_string={"group": "cyclists"}, headers=bob).json["items"]
        assert [e["id"] for e in mine] == [event["id"]]
        assert client.get(f"/api/v1/events/{event['id']}", headers=bob).status_code == 200


def test_capacity_cannot_drop_below_the_people_going(client, member, create_event, check_counts):
    alice, bob, carol = member("alice"), member("bob"), member("carol")
    event = create_event(alice, capacity=5)
    for headers in (bob, carol):
        assert client.put(f"/api/v1/events/{event['id']}/rsvp", json={}, headers=headers).json["status"] == "going"
    too_low = client.patch(f"/api/v1/events/{event['id']}", json={"capacity": 1}, headers=alice)
    assert too_low.status_code == 422 and "capacity" in too_low.json["errors"]
    exact = client.patch(f"/api/v1/events/{event['id']}", json={"capacity": 2}, headers=alice)
    assert exact.status_code == 200 and exact.json["remaining_capacity"] == 0
    dave = member("dave")
    assert client.put(f"/api/v1/events/{event['id']}/rsvp", json={}, headers=dave).json["status"] == "waitlisted"
    check_counts()


def test_vtimezone_stays_small_for_a_near_gathering(client, member):
    event = client.post("/api/v1/events", json=BASE, headers=member("alice")).json
    years = _vtimezone_years(client.get(f"/events/{event['id']}.ics").data, "Europe/Paris")
    assert years and min(y for y in years if y > 0) >= date(2029, 1, 1).year


def test_a_host_removed_from_the_group_no_longer_manages_its_gathering(app, client, member):
    alice, bob = member("alice"), member("bob")
    client.post("/api/v1/groups", json={"name": "Cyclists", "slug": "cyclists", "kind": "thematic"}, headers=alice)
    client.post("/api/v1/groups/cyclists/join", headers=bob)
    assert client.post("/api/v1/groups/cyclists/members/bob/organiser", headers=alice).status_code == 200
    body = {**ONLINE, "online_url": "https://meet.example/room", "group": "cyclists"}
    event = client.post("/api/v1/events", json=body, headers=bob).json
    assert event["can_edit"] is True
    assert client.delete("/api/v1/groups/cyclists/members/bob", json={"reason": "Spam"},
                         headers=alice).status_code == 200

    seen = client.get(f"/api/v1/events/{event['id']}", headers=bob).json
    assert seen["can_edit"] is False and seen["online_url"] is None
    assert client.patch(f"/api/v1/events/{event['id']}", json={"title": "Mine now"}, headers=bob).status_code == 403
    assert client.post(f"/api/v1/events/{event['id']}/cancel", json={}, headers=bob).status_code == 403
    assert client.get(f"/api/v1/events/{event['id']}/attendees", headers=bob).json["complete"] is False
    assert client.patch(f"/api/v1/events/{event['id']}", json={"title": "Still ours"}, headers=alice).status_code == 200
    with app.test_request_context():
        from coopol.events.services import find_event, organisers_of

        assert [m.handle for m in organisers_of(find_event(event["id"]))] == ["alice"]


def test_the_meeting_room_in_calendars_only_for_those_going(client, member, create_event):
    host, bob, carol, dave = member("host"), member("bob"), member("carol"), member("dave")
    event = create_event(host, mode="online", online_url="https://meet.example/secret-room", capacity=1)
    assert client.put(f"/api/v1/events/{event['id']}/rsvp", json={}, headers=bob).json["status"] == "going"
    assert client.put(f"/api/v1/events/{event['id']}/rsvp", json={}, headers=carol).json["status"] == "waitlisted"

    def ics(path, headers=None):
        response = client.get(path, headers=headers or {})
        assert response.status_code == 200
        return response

    going = ics(f"/events/{event['id']}.ics", bob)
    assert "secret-room" in going.get_data(as_text=True)
    assert "no-store" in going.headers["Cache-Control"] and "private" in going.headers["Cache-Control"]
    for headers in (None, carol, dave):
        assert "secret-room" not in ics(f"/events/{event['id']}.ics", headers).get_data(as_text=True)
    for headers in (None, bob, host):  # shared feeds never carry it
        assert "secret-room" not in ics("/events.ics", headers).get_data(as_text=True)
    listed = client.get("/api/v1/events", headers=carol).json["items"]
    assert [e["online_url"] for e in listed] == [None]
    assert [e["online_url"] for e in client.get("/api/v1/events", headers=bob).json["items"]] == [
        "https://meet.example/secret-room"]
