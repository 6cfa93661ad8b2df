"""RSVP: going and leaving, capacity and the ordered waitlist, approval, and the states that refuse."""

from __future__ import annotations

from tests.events.conftest import soon


def _rsvp(client, event, headers, **body):
    return client.put(f"/api/v1/events/{event['id']}/rsvp", json=body, headers=headers)


def test_capacity_fills_then_waitlist_moves_up_in_order(client, member, create_event, check_counts):
    host = member("host")
    people = [member(f"person{n}") for n in range(4)]
    event = create_event(host, capacity=2)
    statuses = [_rsvp(client, event, h).json["status"] for h in people]
    assert statuses == ["going", "going", "waitlisted", "waitlisted"]
    shown = client.get(f"/api/v1/events/{event['id']}").json
    assert (shown["going_count"], shown["waitlist_count"]) == (2, 2)
    # The first going leaves: the first on the waitlist (p2), not p3, takes the place.
    assert client.delete(f"/api/v1/events/{event['id']}/rsvp", headers=people[0]).json["status"] is None
    assert client.get(f"/api/v1/events/{event['id']}", headers=people[2]).json["my_rsvp"]["status"] == "going"
    assert client.get(f"/api/v1/events/{event['id']}", headers=people[3]).json["my_rsvp"]["status"] == "waitlisted"
    check_counts()


def test_second_rsvp_changes_nothing(client, member, create_event, rows, check_counts):
    host, bob = member("host"), member("bob")
    event = create_event(host, capacity=1)
    assert _rsvp(client, event, bob).json["status"] == "going"
    before = rows()
    again = _rsvp(client, event, bob)
    assert again.status_code == 200 and again.json == {"status": "going", "going_count": 1, "waitlist_count": 0}
    assert rows() == before
    check_counts()


def test_rsvp_to_draft_cancelled_or_past_is_409(client, member, create_event, rows):
    host, bob = member("host"), member("bob")
    draft = create_event(host, publish=False)
    cancelled = create_event(host)
    assert client.post(f"/api/v1/events/{cancelled['id']}/cancel", json={"reason": "rain"},
                       headers=host).status_code == 200
    past = create_event(host, starts_at=soon(-2), ends_at=soon(-2, 2))
    before = rows()
    # The draft is not visible to bob at all (404); its organiser gets the 409.
    assert _rsvp(client, draft, bob).status_code == 404
    assert _rsvp(client, draft, host).status_code == 409
    for event in (cancelled, past):
        response = _rsvp(client, event, bob)
        assert response.status_code == 409, response.json
        assert response.json["code"] == 409
    assert rows() == before


def test_full_without_waitlist_is_409(client, member, create_event, check_counts):
    host, bob, carol = member("host"), member("bob"), member("carol")
    event = create_event(host, capacity=1, waitlist=False)
    assert _rsvp(client, event, bob).json["status"] == "going"
    assert _rsvp(client, event, carol).status_code == 409
    check_counts()


def test_approval_mode_pending_then_approved_or_rejected(client, member, create_event, check_counts):
    host, bob, carol, dan = member("host"), member("bob"), member("carol"), member("dan")
    event = create_event(host, capacity=1, requires_approval=True)
    assert _rsvp(client, event, bob).json["status"] == "pending"
    assert _rsvp(client, event, carol).json["status"] == "pending"
    assert client.post(f"/api/v1/events/{event['id']}/attendees/bob/approve", headers=dan).status_code == 403
    assert client.post(f"/api/v1/events/{event['id']}/attendees/bob/approve", headers=host).json["status"] == "going"
    # Full now: the next approved goes on the waitlist.
    assert client.post(f"/api/v1/events/{event['id']}/attendees/carol/approve",
                       headers=host).json["status"] == "waitlisted"
    assert _rsvp(client, event, dan).json["status"] == "pending"
    assert client.post(f"/api/v1/events/{event['id']}/attendees/dan/reject", headers=host).json["status"] is None
    assert client.post(f"/api/v1/events/{event['id']}/attendees/dan/reject", headers=host).status_code == 404
    check_counts()


def test_raising_capacity_promotes_the_waitlist(client, member, create_event, check_counts):
    host, a, b, c = member("host"), member("anna"), member("bert"), member("cleo")
    event = create_event(host, capacity=1)
    for h in (a, b, c):
        _rsvp(client, event, h)
    response = client.patch(f"/api/v1/events/{event['id']}", json={"capacity": 2}, headers=host)
    assert response.status_code == 200
    assert (response.json["going_count"], response.json["waitlist_count"]) == (2, 1)
    lowered = client.patch(f"/api/v1/events/{event['id']}", json={"capacity": 1}, headers=host)
    assert lowered.status_code == 422 and "capacity" in lowered.json["errors"]
    check_counts()


def test_online_url_only_for_those_going_and_organisers(client, member, create_event):
    host, bob, carol = member("host"), member("bob"), member("carol")
    event = create_event(host, mode="online", online_url="https://meet.example/room")
    assert event["online_url"] == "https://meet.example/room"  # the organiser
    assert client.get(f"/api/v1/events/{event['id']}").json["online_url"] is None
    assert client.get(f"/api/v1/events/{event['id']}", headers=carol).json["online_url"] is None
    _rsvp(client, event, bob)
    assert client.get(f"/api/v1/events/{event['id']}", headers=bob).json["online_url"] == "https://meet.example/room"


def test_attendee_list_private_unless_opted_in(client, member, create_event):
    host, bob, carol = member("host"), member("bob"), member("carol")
    event = create_event(host)
    _rsvp(client, event, bob, public=True)
    _rsvp(client, event, carol)
    public = client.get(f"/api/v1/events/{event['id']}/attendees").json
    assert [a["member"]["handle"] for a in public["items"]] == ["bob"] and public["complete"] is False
    full = client.get(f"/api/v1/events/{event['id']}/attendees", headers=host).json
    assert [a["member"]["handle"] for a in full["items"]] == ["bob", "carol"] and full["complete"] is True
    # Carol opts in with a second RSVP: her status stays, the flag changes.
    assert _rsvp(client, event, carol, public=True).json["status"] == "going"
    assert len(client.get(f"/api/v1/events/{event['id']}/attendees").json["items"]) == 2


def test_nobody_is_promoted_into_a_cancelled_gathering(client, member, create_event, check_counts):
    host, bob, carol = member("host"), member("bob"), member("carol")
    event = create_event(host, capacity=1)
    _rsvp(client, event, bob)
    _rsvp(client, event, carol)
    client.post(f"/api/v1/events/{event['id']}/cancel", json={}, headers=host)
    assert client.delete(f"/api/v1/events/{event['id']}/rsvp", headers=bob).status_code == 200
    assert client.get(f"/api/v1/events/{event['id']}", headers=carol).json["my_rsvp"]["status"] == "waitlisted"
    check_counts()
