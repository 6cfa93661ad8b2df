"""Drafts, publishing, changes recorded for the people going, cancelling: the domain events and the
EventChange rows that notifications will use."""

from __future__ import annotations

import pytest

from tests.events.conftest import soon


def _plain(payload):
    """Handles instead of rows: the rows are gone with the request's session."""
    out = dict(payload)
    if "member" in out:
        out["member"] = out["member"].handle
    if "event" in out:
        out["event"] = out["event"].id
    return out


@pytest.fixture
def published(app):
    """Every domain event the gatherings publish, as (name, payload) pairs."""
    from coopol.core.events import subscribe

    seen = []
    for name in ("event_published", "event_updated", "event_cancelled", "event_removed", "rsvp_changed",
                 "event_reported"):
        subscribe(app, name, lambda _name=name, **payload: seen.append((_name, _plain(payload))))
    return seen


def test_draft_then_published_then_changed_then_cancelled(client, member, create_event, published, app):
    alice, bob = member("alice"), member("bob")
    draft = create_event(alice, publish=False, title="Planning")
    assert draft["state"] == "draft" and published == []
    assert client.get(f"/api/v1/events/{draft['id']}", headers=bob).status_code == 404
    assert client.get("/api/v1/events").json["items"] == []
    # Changing a draft tells nobody.
    client.patch(f"/api/v1/events/{draft['id']}", json={"title": "Planning night"}, headers=alice)
    assert published == []
    response = client.patch(f"/api/v1/events/{draft['id']}", json={"state": "scheduled"}, headers=alice)
    assert response.json["state"] == "scheduled"
    assert [name for name, _ in published] == ["event_published"]
    client.put(f"/api/v1/events/{draft['id']}/rsvp", json={}, headers=bob)
    assert published[-1][0] == "rsvp_changed"
    assert published[-1][1]["status"] == "going" and published[-1][1]["previous"] is None
    published.clear()

    new_start, new_end = soon(8), soon(8, 3)
    response = client.patch(f"/api/v1/events/{draft['id']}", json={"starts_at": new_start, "ends_at": new_end,
                                                                    "place": {"name": "Café"}}, headers=alice)
    assert response.status_code == 200 and response.json["sequence"] == 1
    ((name, payload),) = published
    assert name == "event_updated"
    assert set(payload["changes"]) == {"starts_at", "ends_at", "place"}
    assert payload["changes"]["place"][1]["name"] == "Café"
    # The same PATCH again changes nothing and tells nobody.
    client.patch(f"/api/v1/events/{draft['id']}", json={"place": {"name": "Café"}}, headers=alice)
    assert len(published) == 1

    postponed = client.patch(f"/api/v1/events/{draft['id']}", json={"state": "postponed"}, headers=alice)
    assert postponed.json["state"] == "postponed"
    cancelled = client.post(f"/api/v1/events/{draft['id']}/cancel", json={"reason": "Venue closed"}, headers=alice)
    assert cancelled.json["state"] == "cancelled" and cancelled.json["cancel_reason"] == "Venue closed"
    assert published[-1] == ("event_cancelled", {"event": published[-1][1]["event"], "reason": "Venue closed"})
    assert client.patch(f"/api/v1/events/{draft['id']}", json={"title": "Back"}, headers=alice).status_code == 409
    # Cancelling again changes nothing.
    assert client.post(f"/api/v1/events/{draft['id']}/cancel", json={}, headers=alice).status_code == 200

    with app.app_context():
        from coopol.events.services import changes_of, find_event

        kinds = [(c.kind, sorted(c.changes)) for c in changes_of(find_event(draft["id"]))]
    assert kinds == [("updated", ["ends_at", "place", "starts_at"]), ("postponed", ["state"]),
                     ("cancelled", ["state"])]


def test_only_organisers_change_or_cancel(client, member, create_event):
    alice, bob = member("alice"), member("bob")
    event = create_event(alice)
    assert client.patch(f"/api/v1/events/{event['id']}", json={"title": "Mine"}, headers=bob).status_code == 403
    assert client.post(f"/api/v1/events/{event['id']}/cancel", json={}, headers=bob).status_code == 403
    assert client.patch(f"/api/v1/events/{event['id']}", json={"title": "Mine"}).status_code == 401


def test_promotion_publishes_rsvp_changed(client, member, create_event, published):
    alice, bob, carol = member("alice"), member("bob"), member("carol")
    event = create_event(alice, capacity=1)
    client.put(f"/api/v1/events/{event['id']}/rsvp", json={}, headers=bob)
    client.put(f"/api/v1/events/{event['id']}/rsvp", json={}, headers=carol)
    published.clear()
    client.delete(f"/api/v1/events/{event['id']}/rsvp", headers=bob)
    assert [(p["member"], p["status"], p["previous"]) for _, p in published] == [
        ("bob", None, "going"), ("carol", "going", "waitlisted")]


def test_host_is_not_going_until_they_rsvp(client, member, create_event):
    alice = member("alice")
    event = create_event(alice, capacity=3)
    assert event["going_count"] == 0 and event["my_rsvp"] is None
    assert client.put(f"/api/v1/events/{event['id']}/rsvp", json={}, headers=alice).json["status"] == "going"
