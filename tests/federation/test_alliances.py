"""Alliances through the CLI between live instances: request, accept (mutual), reject, revoke, health."""

from __future__ import annotations

import json

from coopol.federation.models import InboxItem
from tests.conftest import TEST_PASSWORD


def test_request_then_accept_makes_a_mutual_alliance(instance):
    a, b = instance("a"), instance("b")

    requested = a.cli("allies", "request", b.url)
    assert f"Asked {b.host}" in requested.output and "delivered (HTTP 202)" in requested.output
    assert a.ally_row(b.host).status == "requested"
    pending = b.ally_row(a.host)
    assert pending.status == "pending" and pending.group_id == f"{a.url}/g/ideas"
    assert "pending" in b.cli("allies", "list").output

    b.cli("allies", "accept", a.host)  # sends Accept and b's own Follow; a accepts that Follow at once
    assert a.ally_row(b.host).outgoing == "accepted"
    assert a.ally_row(b.host).incoming == "accepted"
    assert b.ally_row(a.host).outgoing == "pending"  # a's Accept waits for a's worker
    a.drain()
    assert a.ally_row(b.host).is_allied and b.ally_row(a.host).is_allied

    listed = json.loads(a.cli("allies", "list", "--json").output)
    assert [(row["host"], row["status"], row["queued"]) for row in listed] == [(b.host, "allied", 0)]
    assert listed[0]["last_success_at"] is not None
    assert f"{b.host}\tallied" in a.cli("allies", "list").output


def test_the_followers_collection_lists_allied_groups(instance, ally):
    a, b = instance("a"), instance("b")
    ally(a, b)
    response = a.app.test_client().get("/g/ideas/followers", headers={"Accept": "application/activity+json"})
    assert response.json["orderedItems"] == [f"{b.url}/g/ideas"]


def test_reject_sends_reject_and_the_requester_sees_it(instance):
    a, b = instance("a"), instance("b")
    a.cli("allies", "request", b.url)
    b.cli("allies", "reject", a.host)
    assert b.ally_row(a.host).status == "rejected"
    assert a.ally_row(b.host).status == "rejected"
    # A rejected host cannot post ordinary activities, and a second answer is refused.
    result = b.cli("allies", "accept", a.host, expect_ok=False)
    assert result.exit_code == 1 and "no pending alliance request" in result.output


def test_asking_again_after_a_rejection_is_pending_again(instance):
    a, b = instance("a"), instance("b")
    a.cli("allies", "request", b.url)
    b.cli("allies", "reject", a.host)
    a.cli("allies", "request", b.url)
    assert b.ally_row(a.host).status == "pending"
    assert a.ally_row(b.host).status == "requested"


def test_revoke_ends_the_alliance_on_both_sides_and_cancels_queued_deliveries(instance, ally):
    from coopol.federation.outbox import ally_inboxes, build_activity, enqueue_activity

    a, b = instance("a"), instance("b")
    ally(a, b)

    def queue_note():
        from coopol.core.uow import unit_of_work
        from coopol.federation.actors import group_id

        with unit_of_work():
            enqueue_activity(build_activity("Create", group_id(), {"id": f"{a.url}/notes/1", "type": "Note"}),
                             ally_inboxes())

    a.query(queue_note)
    a.cli("allies", "revoke", b.host)
    assert a.ally_row(b.host).status == "revoked" and b.ally_row(a.host).status == "revoked"
    states = a.deliveries()
    assert ("Create", "cancelled") in states and ("Undo", "delivered") in states
    assert b.count(InboxItem) == 3  # Follow, Accept of b's Follow, Undo: never the Create


def test_revoked_instance_must_be_accepted_again(instance, ally):
    a, b = instance("a"), instance("b")
    ally(a, b)
    b.cli("allies", "revoke", a.host)
    b.cli("allies", "request", a.url)
    assert a.ally_row(b.host).status == "pending"  # a's admin decides again
    a.cli("allies", "accept", b.host)
    b.drain()
    assert a.ally_row(b.host).is_allied and b.ally_row(a.host).is_allied


def test_request_refuses_our_own_instance_and_non_coopol_urls(instance, peer):
    a = instance("a")
    own = a.cli("allies", "request", a.url, expect_ok=False)
    assert own.exit_code == 1 and "own instance" in own.output
    stranger = peer()  # answers 404 to WebFinger
    result = a.cli("allies", "request", stranger.url, expect_ok=False)
    assert result.exit_code == 1 and "Cannot discover" in result.output
    assert a.ally_row(stranger.host) is None


def test_answering_an_unknown_host_is_a_clear_error(instance):
    a = instance("a")
    for verb in ("accept", "reject", "revoke"):
        result = a.cli("allies", verb, "nowhere.example", expect_ok=False)
        assert result.exit_code == 1 and "No alliance or request" in result.output


def test_admin_page_lists_requests_and_accepts_without_contacting_the_peer(instance, create_member, auth):
    a, b = instance("a"), instance("b")
    a.cli("allies", "request", b.url)
    create_member("boss", role="admin", target_app=b.app)
    client = b.app.test_client()
    client.post("/login", data={"login": "boss", "password": TEST_PASSWORD})
    page = client.get("/admin/allies")
    assert page.status_code == 200 and a.host in page.text and "pending" in page.text
    a.served.stop()  # the peer is down: accepting must still answer at once, the worker retries later
    response = client.post(f"/admin/allies/{a.host}/accept", follow_redirects=True)
    assert response.status_code == 200 and "accepted" in response.text
    row = b.ally_row(a.host)
    assert row.incoming == "accepted" and row.outgoing == "pending"
    assert b.deliveries() == [("Accept", "pending"), ("Follow", "pending")]  # waiting for the worker


def test_admin_page_is_for_admins_only(instance, create_member):
    b = instance("b")
    create_member("carol", target_app=b.app)
    client = b.app.test_client()
    assert client.get("/admin/allies").status_code == 302  # to the login page
    client.post("/login", data={"login": "carol", "password": TEST_PASSWORD})
    assert client.get("/admin/allies").status_code == 403
    assert client.post("/admin/allies/x.example/accept").status_code == 403
