"""Moderation across allies: reports travel to the origin (`Flag`), the origin's locks and removals
apply everywhere, an ally's hide stays local, an ally can ban a remote person from acting on it, and
a revoked alliance stops everything; an erased member is blanked on every ally."""

from __future__ import annotations

from tests.federation.content.conftest import settle
from tests.federation.content.test_travel_debate import local_id
from tests.federation.content.test_travel_ideas import publish


def test_a_report_from_an_ally_reaches_the_origin_moderators(parties):
    a, b = parties(2)
    a.member("alice")
    a.member("mod", role="moderator")
    b.member("bob")
    idea = publish(a, "alice")
    settle(a, b)
    b.api("POST", "/reports", as_="bob", expect=201,
          json={"target_type": "idea", "target_id": local_id(b, idea["ap_id"]), "reason": "spam",
                "text": "Copied from an ad"})
    settle(a, b)
    queue = a.api("GET", "/moderation/queue", as_="mod", expect=200).get_json()["items"]
    assert len(queue) == 1
    report = queue[0]["reports"][0] if "reports" in queue[0] else queue[0]
    assert report["reason"] == "spam" and "Copied from an ad" in str(queue[0])
    assert f"bob@{b.host}" in str(queue[0]) or b.host in str(queue[0])


def test_a_lock_and_unlock_by_the_origin_apply_everywhere(parties):
    a, b = parties(2)
    a.member("alice")
    a.member("mod", role="moderator")
    b.member("bob")
    idea = publish(a, "alice")
    settle(a, b)
    a.api("POST", "/moderation/actions", as_="mod", expect=201,
          json={"action": "lock", "target_type": "idea", "target_id": idea["id"], "reason": "Heated"})
    settle(a, b)
    on_b = local_id(b, idea["ap_id"])
    response = b.api("POST", f"/ideas/{on_b}/comments", as_="bob", json={"body": "Still here"})
    assert response.status_code == 409
    a.api("POST", "/moderation/actions", as_="mod", expect=201,
          json={"action": "unlock", "target_type": "idea", "target_id": idea["id"], "reason": "Calmer now"})
    settle(a, b)
    b.api("POST", f"/ideas/{on_b}/comments", as_="bob", json={"body": "Back again"}, expect=201)
    settle(a, b)
    assert [x["body"] for x in a.comments(idea["id"])] == ["Back again"]


def test_a_local_hide_on_an_ally_stays_local(parties):
    a, b, c = parties(3)
    a.member("alice")
    b.member("bmod", role="moderator")
    idea = publish(a, "alice")
    settle(a, b, c)
    on_b = local_id(b, idea["ap_id"])
    b.api("POST", "/moderation/actions", as_="bmod", expect=201,
          json={"action": "hide", "target_type": "idea", "target_id": on_b, "reason": "Not for our members"})
    settle(a, b, c)
    assert b.api("GET", f"/ideas/{on_b}").status_code == 404
    assert a.api("GET", f"/ideas/{idea['id']}").status_code == 200
    assert c.copy_of(idea["ap_id"]) is not None
    assert "hide" in str(b.api("GET", "/modlog", expect=200).get_json()["items"])
    assert a.api("GET", "/modlog", expect=200).get_json()["items"] == []


def test_an_ally_can_ban_a_remote_person_from_acting_on_it(parties):
    a, b = parties(2)
    a.member("alice")
    b.member("bob")
    b.member("bmod", role="moderator")
    idea = publish(b, "bob")
    settle(a, b)
    on_a = local_id(a, idea["ap_id"])
    a.api("POST", f"/ideas/{on_a}/comments", as_="alice", json={"body": "Hello from A"}, expect=201)
    settle(a, b)
    (seen,) = b.comments(idea["id"])
    alice_on_b = seen["author"]["handle"]
    from coopol.accounts.models import Member
    from coopol.extensions import db

    alice_id = b.query(lambda: db.session.query(Member.id).filter(Member.handle == alice_on_b).scalar())
    b.api("POST", "/moderation/actions", as_="bmod", expect=201,
          json={"action": "ban", "target_type": "member", "target_id": alice_id,
                "reason": "Repeated harassment of our members"})
    a.api("POST", f"/ideas/{on_a}/comments", as_="alice", json={"body": "Let me in"}, expect=201)
    a.api("PUT", f"/ideas/{on_a}/vote", as_="alice", json={"value": "oppose"}, expect=200)
    settle(a, b)
    assert [x["body"] for x in b.comments(idea["id"])] == ["Hello from A"]
    assert b.api("GET", f"/ideas/{idea['id']}", expect=200).get_json()["tally"]["oppose"] == 0


def test_a_revoked_alliance_stops_everything(parties):
    a, b = parties(2)
    a.member("alice")
    b.member("bob")
    idea = publish(a, "alice")
    settle(a, b)
    on_b = local_id(b, idea["ap_id"])
    a.live.cli("allies", "revoke", b.host)
    settle(a, b)
    a.api("PATCH", f"/ideas/{idea['id']}", as_="alice", json={"title": "Changed after the end"}, expect=200)
    publish(a, "alice", title="Another idea")
    b.api("PUT", f"/ideas/{on_b}/vote", as_="bob", json={"value": "support"}, expect=200)
    settle(a, b)
    assert b.copy_of(idea["ap_id"])["title"] == "Free night buses"
    assert b.api("GET", f"/ideas?origin={a.host}", expect=200).get_json()["items"][0]["ap_id"] == idea["ap_id"]
    assert len(b.api("GET", f"/ideas?origin={a.host}").get_json()["items"]) == 1
    assert a.api("GET", f"/ideas/{idea['id']}", expect=200).get_json()["tally"]["support"] == 0


def test_an_erased_member_is_blanked_on_every_ally(parties):
    a, b, c = parties(3)
    a.member("alice")
    idea = publish(a, "alice")
    on_a = idea["id"]
    a.api("POST", f"/ideas/{on_a}/comments", as_="alice", json={"body": "My own view"}, expect=201)
    settle(a, b, c)
    a.api("DELETE", "/me", as_="alice", json={"password": "correct horse 12"})
    settle(a, b, c)
    for party in (b, c):
        copy = party.copy_of(idea["ap_id"])
        assert copy["author"]["handle"] is None, party.host
        assert copy["author"]["name"] == "deleted member"
        (comment,) = party.comments(copy["id"])
        assert comment["author"]["handle"] is None
