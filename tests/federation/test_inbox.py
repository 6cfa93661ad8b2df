"""The inbox between live allied instances: each bad request is refused with its status and stores
nothing; a good one is stored once, answered 202, and applied by the worker (queued: retried when it
fails, finally `failed`, never lost; one actor's activities in the order they came, whatever the number
of workers)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import requests

from coopol.core.time import utcnow
from coopol.federation import activities
from coopol.federation.models import InboxItem, RemoteActor
from coopol.federation.signatures import generate_rsa_keypair
from tests.federation.conftest import group_signer, signed_post


@pytest.fixture
def allies(instance, ally):
    a, b = instance("a"), instance("b")
    ally(a, b)
    return a, b


def note_activity(sender, *, kind: str = "Create", activity_id: str | None = None, obj_id: str | None = None,
                  actor: str | None = None) -> dict:
    actor = actor or f"{sender.url}/g/ideas"
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": activity_id or f"{sender.url}/activities/{uuid.uuid4()}",
        "type": kind,
        "actor": actor,
        "object": {"id": obj_id or f"{sender.url}/notes/{uuid.uuid4()}", "type": "Note", "content": "hello",
                   "attributedTo": actor},
    }


def assert_nothing_stored(receiver, before: int) -> None:
    assert receiver.count(InboxItem) == before


def item_state(live, ap_id: str) -> tuple[str, int, str]:
    from sqlalchemy import select

    from coopol.extensions import db

    return live.query(lambda: tuple(db.session.execute(
        select(InboxItem.state, InboxItem.attempts, InboxItem.last_error).where(InboxItem.ap_id == ap_id)).one()))


def test_a_signed_activity_from_an_ally_is_stored_and_answered_202(allies):
    a, b = allies
    before = b.count(InboxItem)
    activity = note_activity(a, kind="Arrive")  # a type no handler knows: stored, never dropped silently
    response = signed_post(f"{b.url}/inbox", activity, *group_signer(a), apply=False)
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "queued", "id": activity["id"]}
    assert b.count(InboxItem) == before + 1
    assert item_state(b, activity["id"]) == ("received", 0, "")
    assert b.apply_inbox() == 1
    assert item_state(b, activity["id"])[:2] == ("ignored", 1)


def test_the_group_inbox_accepts_the_same_way(allies):
    a, b = allies
    response = signed_post(f"{b.url}/g/ideas/inbox", note_activity(a), *group_signer(a))
    assert response.status_code == 202


def test_unsigned_request_is_401(allies):
    a, b = allies
    before = b.count(InboxItem)
    response = requests.post(f"{b.url}/inbox", json=note_activity(a),
                             headers={"Content-Type": "application/activity+json"}, timeout=10)
    assert response.status_code == 401
    assert response.json()["code"] == 401 and "Signature" in response.json()["message"]
    assert_nothing_stored(b, before)


def test_badly_signed_request_is_401(allies):
    a, b = allies
    before = b.count(InboxItem)
    key_id, _ = group_signer(a)
    wrong_private, _ = generate_rsa_keypair()
    response = signed_post(f"{b.url}/inbox", note_activity(a), key_id, wrong_private)
    assert response.status_code == 401 and "does not verify" in response.json()["message"]
    assert_nothing_stored(b, before)


def test_body_changed_after_signing_is_400(allies):
    a, b = allies
    before = b.count(InboxItem)
    activity = note_activity(a)
    key_id, pem = group_signer(a)
    from coopol.federation.signatures import sign_request

    headers = sign_request("POST", f"{b.url}/inbox", {"Content-Type": "application/activity+json"},
                           json.dumps(activity).encode(), key_id, pem)
    activity["object"]["content"] = "tampered"
    response = requests.post(f"{b.url}/inbox", data=json.dumps(activity).encode(), headers=headers, timeout=10)
    assert response.status_code == 400 and "digest" in response.json()["message"]
    assert_nothing_stored(b, before)


def test_stale_request_is_401(allies):
    a, b = allies
    before = b.count(InboxItem)
    response = signed_post(f"{b.url}/inbox", note_activity(a), *group_signer(a), now=utcnow() - timedelta(hours=2))
    assert response.status_code == 401 and "past" in response.json()["message"]
    assert_nothing_stored(b, before)


def test_date_window_is_configurable(instance, ally):
    a, b = instance("a"), instance("b", FEDERATION_SIGNATURE_WINDOW=60)
    ally(a, b)
    five_minutes_ago = utcnow() - timedelta(minutes=5)
    assert signed_post(f"{b.url}/inbox", note_activity(a), *group_signer(a), now=five_minutes_ago).status_code == 401
    assert signed_post(f"{a.url}/inbox", note_activity(b), *group_signer(b), now=five_minutes_ago).status_code == 202


def test_replayed_request_is_acknowledged_and_ignored(allies):
    a, b = allies
    before = b.count(InboxItem)
    activity = note_activity(a)
    key_id, pem = group_signer(a)
    from coopol.federation.signatures import sign_request

    body = json.dumps(activity).encode()
    headers = sign_request("POST", f"{b.url}/inbox", {"Content-Type": "application/activity+json"}, body, key_id, pem)
    first = requests.post(f"{b.url}/inbox", data=body, headers=headers, timeout=10)
    replay = requests.post(f"{b.url}/inbox", data=body, headers=headers, timeout=10)
    assert (first.status_code, replay.status_code) == (202, 202)
    assert replay.json()["status"] == "duplicate"
    assert b.count(InboxItem) == before + 1


def test_oversized_request_is_413(allies):
    a, b = allies
    before = b.count(InboxItem)
    activity = note_activity(a)
    activity["object"]["content"] = "x" * (1024 * 1024)
    response = signed_post(f"{b.url}/inbox", activity, *group_signer(a))
    assert response.status_code == 413
    assert_nothing_stored(b, before)


@pytest.mark.parametrize("body, content_type", [
    (b"this is not json", "application/activity+json"),
    (b"[1, 2, 3]", "application/activity+json"),
    (b'{"type": "Create"}', "application/activity+json"),
    (b"<html></html>", "text/html"),
])
def test_non_json_or_unreadable_activity_is_400(allies, body, content_type):
    a, b = allies
    before = b.count(InboxItem)
    response = signed_post(f"{b.url}/inbox", None, *group_signer(a), body=body, content_type=content_type)
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/json")
    assert_nothing_stored(b, before)


def test_instance_that_is_not_an_ally_is_403_and_never_fetched(allies, instance):
    a, b = allies
    c = instance("c")
    before, actors_before = b.count(InboxItem), b.count(RemoteActor)
    response = signed_post(f"{b.url}/inbox", note_activity(c), *group_signer(c))
    assert response.status_code == 403 and "not an ally" in response.json()["message"]
    assert_nothing_stored(b, before)
    assert b.count(RemoteActor) == actors_before


def test_requested_but_not_yet_accepted_host_is_403_for_ordinary_activities(instance):
    a, b = instance("a"), instance("b")
    a.cli("allies", "request", b.url)
    response = signed_post(f"{b.url}/inbox", note_activity(a), *group_signer(a))
    assert response.status_code == 403


def test_key_of_another_actor_is_401(allies, create_member):
    a, b = allies
    before = b.count(InboxItem)
    activity = note_activity(a, actor=f"{a.url}/u/alice")  # signed with the Group's key, not alice's
    response = signed_post(f"{b.url}/inbox", activity, *group_signer(a))
    assert response.status_code == 401 and "does not belong" in response.json()["message"]
    assert_nothing_stored(b, before)


def test_key_on_another_host_than_the_actor_is_401(allies, instance):
    a, b = allies
    c = instance("c")
    before = b.count(InboxItem)
    response = signed_post(f"{b.url}/inbox", note_activity(a), *group_signer(c))
    assert response.status_code == 401
    assert_nothing_stored(b, before)


@pytest.mark.parametrize("where", ["activity", "object"])
def test_ids_on_a_foreign_host_are_403(allies, where):
    a, b = allies
    before = b.count(InboxItem)
    foreign = f"https://elsewhere.example/{uuid.uuid4()}"
    activity = note_activity(a, **({"activity_id": foreign} if where == "activity" else {"obj_id": foreign}))
    response = signed_post(f"{b.url}/inbox", activity, *group_signer(a))
    assert response.status_code == 403 and "host" in response.json()["message"]
    assert_nothing_stored(b, before)


def test_announce_of_a_foreign_object_is_allowed_from_the_objects_own_group(allies):
    a, b = allies
    announced = {"id": f"https://elsewhere.example/notes/{uuid.uuid4()}", "type": "Note",
                 "audience": f"{a.url}/g/ideas"}
    activity = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{a.url}/activities/{uuid.uuid4()}",
                "type": "Announce", "actor": f"{a.url}/g/ideas", "object": announced}
    assert signed_post(f"{b.url}/inbox", activity, *group_signer(a)).status_code == 202
    announced = {**announced, "id": f"https://elsewhere.example/notes/{uuid.uuid4()}",
                 "audience": "https://elsewhere.example/g/ideas"}
    activity = {**activity, "id": f"{a.url}/activities/{uuid.uuid4()}", "object": announced}
    assert signed_post(f"{b.url}/inbox", activity, *group_signer(a)).status_code == 403


def test_accept_from_a_host_we_did_not_ask_is_403(instance):
    a, b = instance("a"), instance("b")
    activity = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{a.url}/activities/{uuid.uuid4()}",
                "type": "Accept", "actor": f"{a.url}/g/ideas",
                "object": {"id": f"{b.url}/activities/x", "type": "Follow"}}
    assert signed_post(f"{b.url}/inbox", activity, *group_signer(a)).status_code == 403
    assert b.count(InboxItem) == 0 and b.ally_row(a.host) is None


def test_follow_from_a_person_is_a_follower_not_an_alliance_request(instance, create_member):
    """Issue 15: a person following a Group is a fediverse follower (answered Accept), never an ally."""
    from coopol.federation.actors import member_actor_id, signer_for

    a, b = instance("a"), instance("b")
    create_member("alice", target_app=a.app)
    alice = a.query(lambda: member_actor_id("alice"))
    from coopol.core.uow import unit_of_work

    def sign_as_alice():
        with unit_of_work():  # the key is created on first use: keep it
            return signer_for(alice)

    key_id, pem = a.query(sign_as_alice)
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{a.url}/activities/{uuid.uuid4()}",
              "type": "Follow", "actor": alice, "object": f"{b.url}/g/ideas"}
    response = signed_post(f"{b.url}/inbox", follow, key_id, pem)
    assert response.status_code == 202, response.text
    from coopol.federation.models import Ally, Follower

    assert b.count(Ally) == 0 and b.count(Follower) == 1
    assert [kind for kind, _state in b.deliveries()] == ["Accept"]


@pytest.fixture
def flaky_handler():
    """A handler for a test-only activity type that fails on its first run."""
    calls = []

    def receive(activity, ctx):
        calls.append(activity["id"])
        if len(calls) == 1:
            raise RuntimeError("the database of a dependency is down")

    activities.register_handler("CoopolTestPing", receive)
    yield calls
    activities._HANDLERS.pop(("CoopolTestPing", None))


def test_processing_failure_is_kept_errored_then_retried_by_the_worker(allies, flaky_handler):
    from sqlalchemy import select, update

    from coopol.core.uow import unit_of_work
    from coopol.extensions import db

    a, b = allies
    activity = note_activity(a, kind="CoopolTestPing")
    response = signed_post(f"{b.url}/inbox", activity, *group_signer(a))  # and b's worker applies it
    assert response.status_code == 202 and response.json()["status"] == "queued"

    def item():
        row = db.session.scalar(select(InboxItem).where(InboxItem.ap_id == activity["id"]))
        return row.state, row.attempts, row.last_error

    state, attempts, error = b.query(item)
    assert (state, attempts) == ("errored", 1) and "dependency is down" in error
    b.apply_inbox()
    assert b.query(item)[:2] == ("errored", 1)  # not due yet: backing off

    def make_due():
        with unit_of_work():
            db.session.execute(update(InboxItem).values(next_attempt_at=utcnow()))

    b.query(make_due)
    b.drain()
    assert b.query(item) == ("processed", 2, "")
    assert flaky_handler == [activity["id"], activity["id"]]
