"""Debate across allies (FEP-1b12): a member of B comments and votes on A's idea from B; A applies it
through the same services and announces it; C sees it. Tallies converge, per instance, one person one
vote; stance, threading and comment votes survive; undoing travels too."""

from __future__ import annotations

from tests.federation.content.conftest import settle
from tests.federation.content.test_travel_ideas import publish


def local_id(party, ap_id: str) -> int:
    return party.copy_of(ap_id)["id"]


def test_comments_and_votes_from_an_ally_reach_everyone_with_the_same_tallies(parties):
    a, b, c = parties(3)
    a.member("alice")
    b.member("bob")
    c.member("carol")
    idea = publish(a, "alice")
    settle(a, b, c)
    on_b, on_c = local_id(b, idea["ap_id"]), local_id(c, idea["ap_id"])

    top = b.api("POST", f"/ideas/{on_b}/comments", as_="bob", expect=201,
                json={"body": "Buses at night save lives.", "stance": "for"}).get_json()
    b.api("PUT", f"/ideas/{on_b}/vote", as_="bob", json={"value": "support"}, expect=200)
    c.api("PUT", f"/ideas/{on_c}/vote", as_="carol", json={"value": "oppose"}, expect=200)
    a.api("PUT", f"/ideas/{idea['id']}/vote", as_="alice", json={"value": "support"}, expect=200)
    settle(a, b, c)

    # carol (C) replies to bob's comment (from B) on A's idea, on her copy
    bob_on_c = next(x for x in c.comments(on_c) if x["body"] == "Buses at night save lives.")
    reply = c.api("POST", f"/ideas/{on_c}/comments", as_="carol", expect=201,
                  json={"body": "Too **expensive**.", "stance": "against", "parent_id": bob_on_c["id"]}).get_json()
    c.api("PUT", f"/comments/{bob_on_c['id']}/vote", as_="carol", json={"value": "down"}, expect=200)
    settle(a, b, c)

    expected = {a.host: {"support": 1, "oppose": 0}, b.host: {"support": 1, "oppose": 0},
                c.host: {"support": 0, "oppose": 1}}
    for party, idea_id in ((a, idea["id"]), (b, on_b), (c, on_c)):
        view = party.api("GET", f"/ideas/{idea_id}", expect=200).get_json()
        assert view["tally"]["support"] == 2 and view["tally"]["oppose"] == 1, party.host
        assert view["tally"]["by_instance"] == expected, party.host
        assert view["comment_count"] == 2
        comments = party.comments(idea_id)
        by_body = {x["body"]: x for x in comments}
        first, second = by_body["Buses at night save lives."], by_body["Too **expensive**."]
        assert first["stance"] == "for" and second["stance"] == "against"
        assert second["parent_id"] == first["id"], party.host
        assert first["author"]["instance"] == b.host and second["author"]["instance"] == c.host
        assert (first["up"], first["down"]) == (0, 1), party.host  # carol's down vote on bob's comment
    assert top["id"] != reply["id"]


def test_one_person_one_vote_and_undo_travel(parties):
    a, b, c = parties(3)
    a.member("alice")
    b.member("bob")
    idea = publish(a, "alice")
    settle(a, b, c)
    on_b = local_id(b, idea["ap_id"])
    b.api("PUT", f"/ideas/{on_b}/vote", as_="bob", json={"value": "support"}, expect=200)
    settle(a, b, c)
    b.api("PUT", f"/ideas/{on_b}/vote", as_="bob", json={"value": "oppose"}, expect=200)
    settle(a, b, c)
    for party in (a, b, c):
        tally = party.copy_of(idea["ap_id"])["tally"]
        assert (tally["support"], tally["oppose"]) == (0, 1), party.host
        assert tally["by_instance"] == {b.host: {"support": 0, "oppose": 1}}
    b.api("DELETE", f"/ideas/{on_b}/vote", as_="bob", expect=200)
    settle(a, b, c)
    for party in (a, b, c):
        tally = party.copy_of(idea["ap_id"])["tally"]
        assert (tally["support"], tally["oppose"]) == (0, 0), party.host


def test_edits_and_deletions_of_comments_travel(parties):
    a, b, c = parties(3)
    a.member("alice")
    b.member("bob")
    idea = publish(a, "alice")
    settle(a, b, c)
    on_b = local_id(b, idea["ap_id"])
    comment = b.api("POST", f"/ideas/{on_b}/comments", as_="bob", expect=201,
                    json={"body": "First thought", "stance": "neutral"}).get_json()
    settle(a, b, c)
    b.api("PATCH", f"/comments/{comment['id']}", as_="bob", json={"body": "Second thought", "stance": "for"},
          expect=200)
    settle(a, b, c)
    for party in (a, c):
        (seen,) = party.comments(party.copy_of(idea["ap_id"])["id"])
        assert (seen["body"], seen["stance"]) == ("Second thought", "for"), party.host
    b.api("DELETE", f"/comments/{comment['id']}", as_="bob", expect=200)
    settle(a, b, c)
    for party in (a, c):
        assert party.copy_of(idea["ap_id"])["comment_count"] == 0, party.host
