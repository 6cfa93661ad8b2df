"""Gatherings travel as FEP-8a8e `Event`s; allies' members RSVP from home (Join → Accept, TentativeAccept
on the waitlist then Accept when promoted, Reject when full without waitlist or cancelled; Leave and
Undo(Join) withdraw), and every instance shows the origin's counts."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import requests
from sqlalchemy import select

from tests.federation.groups.conftest import copy_of, make_group, settle


def soon(days: float = 7, hours: float = 0) -> str:
    return (datetime.now(UTC) + timedelta(days=days, hours=hours)).replace(microsecond=0).isoformat()


def host_event(party, organiser, **fields):
    body = {"title": "Night bus rally", "description": "Bring **banners**.", "starts_at": soon(7),
            "ends_at": soon(7, 2), "timezone": "Europe/Paris", "mode": "in_person",
            "place": {"name": "Town hall", "address": "1 Main Street"}, "publish": True, **fields}
    return party.api("POST", "/events", as_=organiser, json=body, expect=201).get_json()


def copy_id(party, ap_id):
    from coopol.events.models import Event
    from coopol.extensions import db

    return party.query(lambda: db.session.scalar(select(Event.id).where(Event.ap_id == ap_id)))


def view(party, event_id, as_=None):
    return party.api("GET", f"/events/{event_id}", as_=as_, expect=200).get_json()


def counts(party, event_id):
    shown = view(party, event_id)
    return shown["going_count"], shown["waitlist_count"]


def status(party, event_id, who):
    mine = view(party, event_id, as_=who)["my_rsvp"]
    return mine["status"] if mine else None


def _rsvp(party, event_id, who, expect=200):
    return party.api("PUT", f"/events/{event_id}/rsvp", as_=who, expect=expect).get_json()


def test_the_event_document_is_fep_8a8e_as_mobilizon_sends_it(parties):
    (a,) = parties(1)
    a.member("alice")
    event = host_event(a, "alice", capacity=20, mode="hybrid", online_url="https://meet.example/secret")
    document = requests.get(event["ap_id"], headers={"Accept": "application/activity+json"}, timeout=10).json()
    assert document["type"] == "Event" and document["id"] == event["ap_id"]
    assert document["name"] == "Night bus rally" and document["url"] == event["ap_id"]
    assert document["timezone"] == "Europe/Paris" and document["category"] == "MOVEMENTS_POLITICS"
    assert document["eventStatus"] == "CONFIRMED" and document["joinMode"] == "free"
    assert document["maximumAttendeeCapacity"] == 20 and document["remainingAttendeeCapacity"] == 20
    assert document["participantCount"] == 0 and document["attendees"]["totalItems"] == 0
    assert document["startTime"].endswith("Z") and document["endTime"] > document["startTime"]
    kinds = [place["type"] for place in document["location"]]
    assert kinds == ["Place", "VirtualLocation"]
    assert document["location"][0]["address"]["streetAddress"] == "1 Main Street"
    assert "secret" not in str(document)  # the online URL is for those going only
    assert "<strong>banners</strong>" in document["content"] and document["summary"]
    assert document["attributedTo"] == f"{a.url}/u/alice"


def test_an_allys_member_rsvps_from_home_waitlist_then_promoted(parties):
    a, b, c = parties(3)
    for handle in ("alice", "ann"):
        a.member(handle)
    b.member("bob")
    c.member("cid")
    group = make_group(a, "alice", slug="night-buses")
    event = host_event(a, "alice", capacity=2, group="night-buses")
    settle(a, b, c)
    on_b, on_c = copy_id(b, event["ap_id"]), copy_id(c, event["ap_id"])
    assert on_b and on_c
    copy = view(b, on_b)
    assert copy["title"] == "Night bus rally" and copy["origin"]["host"] == a.host
    assert copy["capacity"] == 2 and copy["group"]["slug"] == copy_of(b, group["ap_id"])["slug"]
    assert b.api("GET", f"/events?origin={a.host}", expect=200).get_json()["items"][0]["id"] == on_b

    _rsvp(a, event["id"], "alice")
    settle(a, b, c)
    assert _rsvp(b, on_b, "bob")["status"] == "pending"  # the origin decides
    settle(a, b, c)
    assert status(b, on_b, "bob") == "going"
    assert counts(a, event["id"]) == counts(b, on_b) == counts(c, on_c) == (2, 0)

    _rsvp(c, on_c, "cid")  # full: the waitlist
    settle(a, b, c)
    assert status(c, on_c, "cid") == "waitlisted"
    assert counts(a, event["id"]) == counts(b, on_b) == counts(c, on_c) == (2, 1)

    b.api("DELETE", f"/events/{on_b}/rsvp", as_="bob")  # a place frees: cid moves up
    settle(a, b, c)
    assert status(b, on_b, "bob") is None
    assert status(c, on_c, "cid") == "going"
    assert counts(a, event["id"]) == counts(b, on_b) == counts(c, on_c) == (2, 0)
    handles = a.api("GET", f"/events/{event['id']}/attendees", as_="alice", expect=200).get_json()["items"]
    assert sorted(h["member"]["handle"] for h in handles) == ["alice", f"cid@{c.host}"]


def test_full_without_waitlist_is_rejected_and_a_cancellation_travels(parties):
    a, b = parties(2)
    a.member("alice")
    b.member("bob")
    b.member("bea")
    event = host_event(a, "alice", capacity=1, waitlist=False)
    settle(a, b)
    on_b = copy_id(b, event["ap_id"])
    _rsvp(b, on_b, "bob")
    settle(a, b)
    _rsvp(b, on_b, "bea")
    settle(a, b)
    assert status(b, on_b, "bob") == "going" and status(b, on_b, "bea") is None  # Reject: full
    assert counts(a, event["id"]) == counts(b, on_b) == (1, 0)

    a.api("PATCH", f"/events/{event['id']}", as_="alice", json={"title": "Night bus rally (moved)"}, expect=200)
    settle(a, b)
    assert view(b, on_b)["title"] == "Night bus rally (moved)"
    a.api("POST", f"/events/{event['id']}/cancel", as_="alice", json={"reason": "storm"}, expect=200)
    settle(a, b)
    assert view(b, on_b)["state"] == "cancelled"
    _rsvp(b, on_b, "bea", expect=409)  # a cancelled copy takes no RSVP
    # A Join that reaches the origin anyway (sent before the cancellation arrived) is answered Reject
    join_from(b, a, "bea", event["ap_id"])
    settle(a, b)
    assert counts(a, event["id"]) == counts(b, on_b) == (1, 0)
    rejects = a.query(lambda: _payloads("Reject"))
    assert [r["summary"] for r in rejects if r["object"]["actor"] == f"{b.url}/u/bea"] == [
        "This gathering is full.", "This gathering was cancelled."]


def _payloads(kind):
    from coopol.extensions import db
    from coopol.federation.models import OutboxActivity

    return [row.payload for row in db.session.scalars(select(OutboxActivity).where(OutboxActivity.type == kind)
                                                      .order_by(OutboxActivity.id))]


def join_from(ally, origin, handle, target, kind="Join", obj=None):
    """`handle` (a member of `ally`) sends `kind` straight to `origin`, as another server might."""
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.federation.models import Ally
    from coopol.federation.outbox import build_activity, enqueue_activity

    def send():
        with unit_of_work():
            row = db.session.scalar(select(Ally).where(Ally.host == origin.host))
            enqueue_activity(build_activity(kind, f"{ally.url}/u/{handle}", obj or target), [row.delivery_inbox])

    ally.query(send)


def test_approval_undo_join_and_moderator_removal(parties):
    a, b = parties(2)
    a.member("alice")
    a.member("mod", role="moderator")
    b.member("bob")
    event = host_event(a, "alice", requires_approval=True)
    settle(a, b)
    on_b = copy_id(b, event["ap_id"])
    _rsvp(b, on_b, "bob")
    settle(a, b)
    assert status(b, on_b, "bob") == "pending"
    a.api("POST", f"/events/{event['id']}/attendees/bob@{b.host}/approve", as_="alice", expect=200)
    settle(a, b)
    assert status(b, on_b, "bob") == "going" and counts(a, event["id"]) == counts(b, on_b) == (1, 0)

    # Mobilizon withdraws with Undo(Join): the same as Leave
    from coopol.events.models import Rsvp
    from coopol.extensions import db

    join_id = b.query(lambda: db.session.scalar(select(Rsvp.ap_id).where(Rsvp.event_id == on_b)))
    join_from(b, a, "bob", event["ap_id"], "Undo", {"id": join_id, "type": "Join", "actor": f"{b.url}/u/bob",
                                                    "object": event["ap_id"]})
    settle(a, b)
    assert counts(a, event["id"]) == counts(b, on_b) == (0, 0)

    a.api("POST", "/moderation/actions", as_="mod", json={"action": "remove", "target_type": "event",
                                                          "target_id": event["id"], "reason": "spam"}, expect=201)
    settle(a, b)
    assert b.api("GET", f"/events/{on_b}").status_code == 404
    a.api("POST", "/moderation/actions", as_="mod", json={"action": "restore", "target_type": "event",
                                                          "target_id": event["id"], "reason": "not spam"},
          expect=201)
    settle(a, b)
    assert view(b, on_b)["title"] == "Night bus rally"  # allies list it again


def test_a_new_ally_receives_the_groups_and_upcoming_gatherings_made_before(instance):
    from tests.federation.conftest import run_handshake
    from tests.federation.content.conftest import Party

    a, b = Party(instance("a", FEDERATION_SPACE_SYNC_DELAY=1)), Party(instance("b", FEDERATION_SPACE_SYNC_DELAY=1))
    a.member("alice")
    group = make_group(a, "alice", slug="night-buses")
    event = host_event(a, "alice", group="night-buses", capacity=5)
    _rsvp(a, event["id"], "alice")
    run_handshake(a.live, b.live)
    settle(a, b)
    assert copy_of(b, group["ap_id"]) is None  # not before our Accept reached b
    time.sleep(1.1)
    settle(a, b)
    assert copy_of(b, group["ap_id"])["member_count"] == 1
    on_b = copy_id(b, event["ap_id"])
    assert on_b is not None and counts(b, on_b) == (1, 0)
    assert view(b, on_b)["group"]["slug"] == copy_of(b, group["ap_id"])["slug"]


def _accepts_to(origin, actor):
    return [p for p in origin.query(lambda: _payloads("Accept")) if p.get("to") == [actor]]


def test_the_online_link_reaches_an_allys_person_going_privately(parties):
    a, b = parties(2)
    a.member("alice")
    for handle in ("bob", "bea", "ben"):
        b.member(handle)
    event = host_event(a, "alice", capacity=1, mode="hybrid", online_url="https://meet.example/secret")
    settle(a, b)
    on_b = copy_id(b, event["ap_id"])
    copy = view(b, on_b)
    assert copy["mode"] == "hybrid" and copy["online_url"] is None and copy["has_online_url"] is True

    _rsvp(b, on_b, "bob")
    settle(a, b)
    _rsvp(b, on_b, "ben")  # full: the waitlist
    settle(a, b)
    assert status(b, on_b, "bob") == "going" and status(b, on_b, "ben") == "waitlisted"
    assert view(b, on_b, as_="bob")["online_url"] == "https://meet.example/secret"  # going: for them only
    for who in (None, "bea", "ben"):
        assert view(b, on_b, as_=who)["online_url"] is None
    assert "secret" not in str(b.api("GET", f"/events?origin={a.host}", as_="bea", expect=200).get_json())
    from coopol.events.models import Event
    from coopol.extensions import db

    assert b.query(lambda: db.session.get(Event, on_b).online_url) is None  # the copy itself has none
    # the Accept carrying it was addressed to bob alone, never public; TentativeAccept carries nothing
    accept = _accepts_to(a, f"{b.url}/u/bob")[-1]
    assert accept["onlineUrl"] == "https://meet.example/secret" and "cc" not in accept
    from coopol.federation.models import OutboxActivity

    assert a.query(lambda: db.session.scalar(select(OutboxActivity.public)
                                             .where(OutboxActivity.ap_id == accept["id"]))) is False
    assert all("secret" not in str(p) for p in a.query(lambda: _payloads("TentativeAccept")))
    assert all("secret" not in str(p) for p in a.query(lambda: _payloads("Announce")))

    # the organiser changes the link: sent again, to those going only
    a.api("PATCH", f"/events/{event['id']}", as_="alice", json={"online_url": "https://meet.example/new"},
          expect=200)
    settle(a, b)
    assert view(b, on_b, as_="bob")["online_url"] == "https://meet.example/new"
    assert view(b, on_b, as_="ben")["online_url"] is None
    assert all("new" not in str(p) for p in _accepts_to(a, f"{b.url}/u/ben"))

    # bob leaves: ben is promoted, and his Accept brings him the link; bob's is forgotten
    b.api("DELETE", f"/events/{on_b}/rsvp", as_="bob")
    settle(a, b)
    assert status(b, on_b, "ben") == "going"
    assert view(b, on_b, as_="ben")["online_url"] == "https://meet.example/new"
    assert view(b, on_b, as_="bob")["online_url"] is None
    assert b"meet.example/new" in _ics(b, on_b, "ben") and b"meet.example" not in _ics(b, on_b, "bob")

    # in person now: the link is withdrawn from the person going
    a.api("PATCH", f"/events/{event['id']}", as_="alice", json={"mode": "in_person"}, expect=200)
    settle(a, b)
    assert view(b, on_b, as_="ben")["online_url"] is None and status(b, on_b, "ben") == "going"


def _ics(party, event_id, handle):
    from coopol.accounts.models import Member
    from coopol.events.calendars import calendar
    from coopol.events.models import Event
    from coopol.extensions import db

    def feed():
        viewer = db.session.scalar(select(Member).where(Member.handle == handle, Member.host.is_(None)))
        return calendar([db.session.get(Event, event_id)], "mine", viewer=viewer)

    return party.query(feed)


def test_a_count_update_delivered_after_a_newer_one_leaves_the_newest_counts(parties):
    """Two RSVPs at the origin are two `Update`s in flight; the older may reach an ally last (another worker,
    a retry). The copy keeps the state of the newest `updated` it has applied."""
    import uuid

    from tests.federation.conftest import group_signer, signed_post

    a, b = parties(2)
    for handle in ("alice", "ann", "amy"):
        a.member(handle)
    event = host_event(a, "alice", capacity=2)
    settle(a, b)
    on_b = copy_id(b, event["ap_id"])
    before = a.query(lambda: len(_payloads("Announce")))
    _rsvp(a, event["id"], "alice")
    _rsvp(a, event["id"], "ann")
    _rsvp(a, event["id"], "amy")  # the waitlist
    updates = a.query(lambda: _payloads("Announce")[before:])
    assert [u["object"]["object"]["participantCount"] for u in updates] == [1, 2, 2]
    assert [u["object"]["object"].get("waitlistCount") for u in updates] == [0, 0, 1]
    stamps = [u["object"]["object"]["updated"] for u in updates]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
    signer = group_signer(a)

    def deliver(activity):
        retried = {**activity, "id": f"{a.url}/activities/{uuid.uuid4()}"}  # not deduplicated by id
        assert signed_post(f"{b.url}/inbox", retried, *signer).status_code == 202

    deliver(updates[2])
    assert counts(b, on_b) == (2, 1)
    deliver(updates[0])  # older: changes nothing
    deliver(updates[1])
    assert counts(b, on_b) == (2, 1)
    a.api("DELETE", f"/events/{event['id']}/rsvp", as_="ann")  # amy moves up; a newer state applies
    settle(a, b)
    assert counts(a, event["id"]) == counts(b, on_b) == (2, 0)


def _bob_on_the_waitlist(parties):
    """Alice takes the one place of her gathering on A; bob, from B, is put on its waitlist."""
    a, b = parties(2)
    a.member("alice")
    b.member("bob")
    event = host_event(a, "alice", capacity=1)
    _rsvp(a, event["id"], "alice")
    settle(a, b)
    on_b = copy_id(b, event["ap_id"])
    _rsvp(b, on_b, "bob")
    settle(a, b)
    assert status(b, on_b, "bob") == "waitlisted"
    return a, b, event, on_b


def test_an_answer_delivered_after_a_newer_one_leaves_the_newest_status(parties):
    """A waitlisted person is promoted: TentativeAccept, then Accept. If the TentativeAccept reaches their
    instance last (a retry), they stay going."""
    import uuid

    from tests.federation.conftest import group_signer, signed_post

    a, b, event, on_b = _bob_on_the_waitlist(parties)
    a.api("DELETE", f"/events/{event['id']}/rsvp", as_="alice")
    settle(a, b)
    assert status(b, on_b, "bob") == "going"
    (tentative,) = a.query(lambda: _payloads("TentativeAccept"))
    (accept,) = [p for p in a.query(lambda: _payloads("Accept")) if p["object"].get("actor") == f"{b.url}/u/bob"]
    assert tentative["published"] < accept["published"]
    retried = {**tentative, "id": f"{a.url}/activities/{uuid.uuid4()}"}
    assert signed_post(f"{b.url}/inbox", retried, *group_signer(a)).status_code == 202
    assert status(b, on_b, "bob") == "going"
    assert counts(b, on_b) == (1, 0)


def test_an_answer_older_than_a_reject_does_not_bring_the_rsvp_back(parties):
    """The origin put bob on the waitlist (TentativeAccept), then turned him down (Reject): his RSVP went.
    Before, its answer clock went with it, so the TentativeAccept delivered again late (a retry) made him
    waitlisted once more. The time of the last answer is kept after the RSVP goes."""
    import uuid
    from datetime import datetime, timedelta

    from tests.federation.conftest import group_signer, signed_post

    a, b, event, on_b = _bob_on_the_waitlist(parties)
    (tentative,) = a.query(lambda: _payloads("TentativeAccept"))
    later = (datetime.fromisoformat(tentative["published"].replace("Z", "+00:00")) + timedelta(seconds=5))
    reject = {**tentative, "type": "Reject", "id": f"{a.url}/activities/{uuid.uuid4()}",
              "published": later.isoformat().replace("+00:00", "Z"), "summary": "turned down"}
    assert signed_post(f"{b.url}/inbox", reject, *group_signer(a)).status_code == 202
    settle(a, b)
    assert status(b, on_b, "bob") is None
    before = counts(b, on_b)  # the origin's counts, as its Event says
    retried = {**tentative, "id": f"{a.url}/activities/{uuid.uuid4()}"}
    assert signed_post(f"{b.url}/inbox", retried, *group_signer(a)).status_code == 202
    settle(a, b)
    assert status(b, on_b, "bob") is None
    assert counts(b, on_b) == before
