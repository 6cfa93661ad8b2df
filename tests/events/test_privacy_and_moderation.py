"""Export (gatherings hosted, RSVPs), erasure (RSVPs go and free places; gatherings stay, organiser shown
as deleted), moderation of gatherings (report, hide, remove, lock), stats, landing and group page."""

from __future__ import annotations

from tests.events.conftest import soon


def test_export_lists_hosted_gatherings_and_rsvps(client, member, create_event):
    alice, bob = member("alice"), member("bob")
    event = create_event(alice, title="Assembly")
    other = create_event(bob, title="Picnic")
    client.put(f"/api/v1/events/{other['id']}/rsvp", json={"public": True}, headers=alice)
    data = client.get("/api/v1/me/export", headers=alice).json["events"]
    assert [e["title"] for e in data["hosted"]] == ["Assembly"] and data["hosted"][0]["id"] == event["id"]
    assert data["rsvps"] == [{"event_id": other["id"], "title": "Picnic", "starts_at": data["rsvps"][0]["starts_at"],
                              "status": "going", "public": True, "created_at": data["rsvps"][0]["created_at"]}]


def test_erasure_removes_rsvps_and_keeps_gatherings(client, member, create_event, check_counts):
    alice, bob, carol = member("alice"), member("bob"), member("carol")
    hosted = create_event(alice, title="Kept gathering", capacity=1)
    draft = create_event(alice, title="Private draft", publish=False)
    client.put(f"/api/v1/events/{hosted['id']}/rsvp", json={}, headers=bob)
    client.put(f"/api/v1/events/{hosted['id']}/rsvp", json={}, headers=carol)
    other = create_event(carol, title="Carol's")
    client.put(f"/api/v1/events/{other['id']}/rsvp", json={}, headers=alice)
    assert client.delete("/api/v1/me", headers=bob).status_code == 204
    # Bob's place went to Carol, first on the waitlist.
    assert client.get(f"/api/v1/events/{hosted['id']}", headers=carol).json["my_rsvp"]["status"] == "going"
    assert client.delete("/api/v1/me", headers=alice).status_code == 204
    kept = client.get(f"/api/v1/events/{hosted['id']}").json
    assert kept["title"] == "Kept gathering"
    assert kept["organiser"]["handle"] is None and kept["organiser"]["deleted"] is True
    assert kept["organiser"]["name"] == "deleted member"
    assert client.get(f"/api/v1/events/{other['id']}").json["going_count"] == 0
    assert client.get(f"/api/v1/events/{draft['id']}", headers=carol).status_code == 404
    check_counts()


def test_moderators_report_hide_lock_and_remove_a_gathering(client, member, create_event, app):
    alice, bob = member("alice"), member("bob")
    mod = member("modmarie", role="moderator")
    event = create_event(alice, title="Suspicious meetup")
    report = client.post("/api/v1/reports", json={"target_type": "event", "target_id": event["id"],
                                                  "reason": "spam", "text": "Advertising"}, headers=bob)
    assert report.status_code == 201, report.json
    queue = client.get("/api/v1/moderation/queue", headers=mod)
    assert queue.status_code == 200 and queue.json["items"][0]["target"]["label"] == "gathering “Suspicious meetup”"
    assert client.get("/moderation", headers=mod).status_code == 200
    page = client.get(f"/moderation/items/event/{event['id']}", headers=mod)
    assert page.status_code == 200 and "Suspicious meetup" in page.get_data(as_text=True)

    def act(action, **extra):
        return client.post("/api/v1/moderation/actions", json={"action": action, "target_type": "event",
                                                               "target_id": event["id"], "reason": "Spam here",
                                                               **extra}, headers=mod)

    assert act("lock").status_code in (200, 201)
    locked = client.get(f"/api/v1/events/{event['id']}").json
    assert locked["moderation"]["locked"] is True
    assert client.put(f"/api/v1/events/{event['id']}/rsvp", json={}, headers=bob).status_code == 409
    assert client.patch(f"/api/v1/events/{event['id']}", json={"title": "Changed"}, headers=alice).status_code == 409
    assert act("lock").status_code == 409
    assert act("unlock").status_code in (200, 201)
    assert act("hide").status_code in (200, 201)
    assert client.get(f"/api/v1/events/{event['id']}", headers=bob).status_code == 404
    assert client.get(f"/api/v1/events/{event['id']}", headers=alice).status_code == 200
    assert client.get("/api/v1/events").json["items"] == []
    assert act("unhide").status_code in (200, 201)

    removed = []
    from coopol.core.events import subscribe

    subscribe(app, "event_removed", lambda event: removed.append(event.id))
    assert act("remove").status_code in (200, 201)
    assert removed == [event["id"]]
    assert client.get(f"/api/v1/events/{event['id']}", headers=alice).status_code == 404
    assert client.get(f"/api/v1/events/{event['id']}", headers=mod).status_code == 200
    log = client.get("/api/v1/modlog").json["items"]
    assert any(entry["target"]["notice"] for entry in log if entry["target"]["type"] == "event")


def test_stats_count_gatherings_held_and_people_who_went(client, member, create_event, app):
    alice, bob = member("alice"), member("bob")
    held = create_event(alice, starts_at=soon(-3), ends_at=soon(-3, 2))
    create_event(alice)  # upcoming
    cancelled = create_event(alice, starts_at=soon(-5), ends_at=soon(-5, 2))
    from coopol.core.uow import unit_of_work

    with app.test_request_context(), unit_of_work():
        # RSVPs were made before it ended: write them as the service would have then.
        from coopol.accounts.services import get_member_by_handle
        from coopol.events.models import Event, Rsvp
        from coopol.extensions import db

        for handle in ("alice", "bob"):
            db.session.add(Rsvp(event_id=held["id"], member_id=get_member_by_handle(handle).id, status="going"))
        db.session.get(Event, held["id"]).going_count = 2
        db.session.get(Event, cancelled["id"]).state = "cancelled"
    stats = client.get("/api/v1/stats").json["gatherings"]
    local = "local.coopol.test"
    assert stats["held"] == {"total": 1, "by_instance": {local: 1}}
    assert stats["people_went"] == {"total": 2, "by_instance": {local: 2}}
    assert stats["upcoming"]["total"] == 1
    page = client.get("/stats").get_data(as_text=True)
    assert 'data-testid="stats-gatherings"' in page
    assert bob


def test_landing_counter_and_group_section(client, member, create_event):
    alice = member("alice")
    group = client.post("/api/v1/groups", json={"name": "Cyclists", "kind": "thematic"}, headers=alice).json
    event = create_event(alice, title="Critical mass", group=group["slug"], capacity=10)
    page = client.get(f"/groups/{group['slug']}").get_data(as_text=True)
    assert "Upcoming gatherings" in page and "Critical mass" in page and f"/events/{event['id']}" in page
    assert f"/groups/{group['slug']}/events.ics" in page
    assert "upcoming gatherings" in client.get("/").get_data(as_text=True)
