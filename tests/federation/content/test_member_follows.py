"""Members following members of allied instances, both ways, over real instances: `Follow` of a Person
answered `Accept` (pending until then), `Undo(Follow)`, `Reject` from a non-allied host's Person and for
a member the followed one blocks; a block ends the follows on both sides and is never federated."""

from __future__ import annotations

from sqlalchemy import select

from coopol.extensions import db
from coopol.federation.models import OutboxActivity
from coopol.notifications.models import Follow
from tests.federation.conftest import signed_post
from tests.federation.content.conftest import Party, settle
from tests.federation.content.test_travel_ideas import publish


def _sent(party: Party, kind: str) -> list[dict]:
    return party.query(lambda: [row.payload for row in db.session.scalars(
        select(OutboxActivity).where(OutboxActivity.type == kind).order_by(OutboxActivity.id))])


def _follow_rows(party: Party) -> list[tuple[int, str, str]]:
    return party.query(lambda: [(r.member_id, r.target, r.state) for r in db.session.scalars(
        select(Follow).where(Follow.kind == "member").order_by(Follow.id))])


def _pair(parties) -> tuple[Party, Party, dict]:
    a, b = parties(2)
    a.member("ana")
    b.member("bob")
    idea = publish(a, "ana")  # B knows ana from her idea's copy
    settle(a, b)
    return a, b, idea


def test_an_allys_member_follows_ours_accepted_counted_and_undone(parties):
    a, b, idea = _pair(parties)
    ana = f"ana@{a.host}"
    answer = b.api("PUT", f"/members/{ana}/follow", as_="bob", expect=200).get_json()
    assert answer == {"following": True, "state": "pending"}  # until A accepts
    assert b.api("GET", "/members/bob", expect=200).get_json()["following_count"] == 0
    settle(a, b)

    profile = a.api("GET", "/members/ana", expect=200).get_json()
    assert profile["follower_count"] == 1
    followers_page = a.app.test_client().get("/members/ana/followers").get_data(as_text=True)
    assert f"bob@{b.host}" in followers_page
    assert "1 follower" in a.app.test_client().get("/members/ana").get_data(as_text=True)
    notices = a.api("GET", "/notifications", as_="ana", expect=200).get_json()["items"]
    assert [(n["kind"], n["actor"]["instance"]) for n in notices] == [("follower", b.host)]
    assert b.api("GET", "/me/following", as_="bob", expect=200).get_json()["members"] == [
        {"handle": ana, "state": "active"}]
    assert b.api("GET", "/members/bob", expect=200).get_json()["following_count"] == 1
    accepts = _sent(a, "Accept")
    assert [(x["actor"], x["object"]["actor"]) for x in accepts if x["actor"].endswith("/u/ana")] == [
        (f"{a.url}/u/ana", f"{b.url}/u/bob")]
    assert b.api("PUT", f"/members/{ana}/follow", as_="bob", expect=200).get_json()["state"] == "active"

    assert b.api("DELETE", f"/members/{ana}/follow", as_="bob", expect=200).get_json()["following"] is False
    settle(a, b)
    assert a.api("GET", "/members/ana", expect=200).get_json()["follower_count"] == 0
    assert _follow_rows(a) == [] and _follow_rows(b) == []
    assert b.api("GET", "/me/following", as_="bob", expect=200).get_json()["members"] == []


def test_an_answer_to_a_follow_undone_meanwhile_is_acknowledged(parties):
    a, b, idea = _pair(parties)
    ana = f"ana@{a.host}"
    b.api("PUT", f"/members/{ana}/follow", as_="bob", expect=200)
    b.live.drain()  # the Follow reaches A, whose Accept waits in its outbox
    b.api("DELETE", f"/members/{ana}/follow", as_="bob", expect=200)
    b.live.drain()
    assert _follow_rows(a) == [] and _follow_rows(b) == []
    settle(a, b)  # the Accept of a follow B no longer has
    assert _follow_rows(a) == [] and _follow_rows(b) == []
    sent = a.live.deliveries()
    assert ("Accept", "delivered") in sent
    assert all(state == "delivered" for _kind, state in sent + b.live.deliveries()), sent


def test_a_block_ends_follows_on_both_sides_and_refuses_new_ones(parties):
    a, b, idea = _pair(parties)
    ana, bob = f"ana@{a.host}", f"bob@{b.host}"
    publish(b, "bob")
    settle(a, b)
    b.api("PUT", f"/members/{ana}/follow", as_="bob", expect=200)
    a.api("PUT", f"/members/{bob}/follow", as_="ana", expect=200)
    settle(a, b)
    assert a.api("GET", "/members/ana", expect=200).get_json()["follower_count"] == 1
    assert b.api("GET", "/members/bob", expect=200).get_json()["follower_count"] == 1

    assert a.api("PUT", f"/members/{bob}/block", as_="ana", expect=200).get_json() == {"blocked": True}
    assert [x["handle"] for x in a.api("GET", "/me/blocks", as_="ana", expect=200).get_json()["items"]] == [bob]
    assert a.api("GET", "/members/ana", expect=200).get_json()["follower_count"] == 0
    settle(a, b)
    # B hears a Reject of bob's Follow and an Undo of ana's: no follow is left there either, no Block is sent
    assert _follow_rows(b) == [] and _follow_rows(a) == []
    assert _sent(a, "Block") == []
    assert b.api("GET", "/me/following", as_="bob", expect=200).get_json()["members"] == []

    # bob follows again: pending on B, refused by A (bob is not told why), ana is told nothing
    before = a.api("GET", "/notifications", as_="ana", expect=200).get_json()["items"]
    assert b.api("PUT", f"/members/{ana}/follow", as_="bob", expect=200).get_json()["state"] == "pending"
    settle(a, b)
    assert _follow_rows(a) == [] and _follow_rows(b) == []
    assert a.api("GET", "/notifications", as_="ana", expect=200).get_json()["items"] == before
    rejects = [x for x in _sent(a, "Reject") if x["actor"] == f"{a.url}/u/ana"]
    assert len(rejects) == 2 and all(x["object"]["actor"] == f"{b.url}/u/bob" for x in rejects)
    # bob comments on ana's idea from B: applied at A, ana is not told
    on_b = b.copy_of(idea["ap_id"])["id"]
    b.api("POST", f"/ideas/{on_b}/comments", as_="bob", expect=201, json={"body": "Hello @ana@" + a.host})
    settle(a, b)
    assert [c["body"] for c in a.comments(idea["id"])] == ["Hello @ana@" + a.host]
    assert a.api("GET", "/notifications", as_="ana", expect=200).get_json()["items"] == before
    # ana cannot follow bob while she blocks him; unblocking lets her
    refused = a.api("PUT", f"/members/{bob}/follow", as_="ana", expect=422).get_json()
    assert "handle" in refused["errors"]
    a.api("DELETE", f"/members/{bob}/block", as_="ana", expect=200)
    assert a.api("PUT", f"/members/{bob}/follow", as_="ana", expect=200).get_json()["state"] == "pending"
    settle(a, b)
    assert a.api("GET", "/me/following", as_="ana", expect=200).get_json()["members"] == [
        {"handle": bob, "state": "active"}]


def test_a_person_of_a_host_that_is_not_allied_is_answered_reject(parties, instance):
    (a,) = parties(1)
    a.member("ana")
    stranger = Party(instance("c"))
    stranger.member("carl")
    from coopol.core.uow import unit_of_work
    from coopol.federation.actors import member_actor_id, signer_for

    def carl_signer():
        with unit_of_work():  # the key is created once, and kept
            return signer_for(member_actor_id("carl"))

    carl = f"{stranger.url}/u/carl"
    key_id, pem = stranger.query(carl_signer)
    follow = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{stranger.url}/activities/f1",
              "type": "Follow", "actor": carl, "object": f"{a.url}/u/ana"}
    response = signed_post(f"{a.url}/inbox", follow, key_id, pem)
    assert response.status_code == 202, response.text
    assert _follow_rows(a) == []
    rejects = _sent(a, "Reject")
    assert [(x["actor"], x["object"]["id"]) for x in rejects] == [(f"{a.url}/u/ana", follow["id"])]
    assert a.api("GET", "/notifications", as_="ana", expect=200).get_json()["items"] == []


def test_erasure_ends_follows_with_allies_by_the_delete_of_the_person_alone(parties):
    """The erased member's key is gone with them: an `Undo(Follow)` signed by them could never be delivered
    (a failed delivery on the admin dashboard). The `Delete` of their Person, sent by the Group, ends the
    follow on the ally."""
    a, b, _idea = _pair(parties)
    b.api("PUT", f"/members/ana@{a.host}/follow", as_="bob", expect=200)
    settle(a, b)
    assert _follow_rows(a) and _follow_rows(b)
    b.api("DELETE", "/me", as_="bob", json={"password": "correct horse 12"})
    settle(a, b)
    assert _sent(b, "Undo") == []
    assert [d for d in b.live.deliveries() if d[1] not in ("delivered",)] == []
    assert _follow_rows(a) == [] and _follow_rows(b) == []
    assert a.api("GET", "/members/ana", expect=200).get_json()["follower_count"] == 0
