"""Bans travel between allies (`Block`, `Undo(Block)` from the banning Group), and what the origin of an
idea refuses (a banned person, a thread locked while the activity was on its way) is taken back on the
ally that applied it first (`Reject`)."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import func, select

from coopol.extensions import db
from coopol.federation.models import AllyBan, OutboxActivity
from coopol.ideas.models import Comment, CommentRevision
from tests.federation.conftest import group_signer, signed_post
from tests.federation.content.conftest import settle
from tests.federation.content.test_travel_debate import local_id
from tests.federation.content.test_travel_ideas import publish


def bans(party) -> list[tuple[str, str, str]]:
    """The bans in force (a lifted ban keeps its row)."""
    return party.query(lambda: sorted(db.session.execute(
        select(AllyBan.group_host, AllyBan.actor_id, AllyBan.reason).where(AllyBan.lifted_at.is_(None))).all()))


def member_id(party, handle_start: str) -> int:
    from coopol.accounts.models import Member

    return party.query(lambda: db.session.scalar(select(Member.id).where(Member.handle.startswith(handle_start))))


def act(party, mod: str, action: str, member: int, reason: str, expect: int = 201):
    return party.api("POST", "/moderation/actions", as_=mod, expect=expect,
                     json={"action": action, "target_type": "member", "target_id": member, "reason": reason})


def comment_rows(party) -> int:
    return party.query(lambda: db.session.scalar(select(func.count(Comment.id))))


def outbox_types(party) -> list[str]:
    return party.query(lambda: sorted(db.session.scalars(select(OutboxActivity.type))))


def setup_debate(parties):
    """A's idea copied on B and C; bob (B) has commented on it from B, so A knows him."""
    a, b, c = parties(3)
    a.member("alice")
    a.member("amod", role="moderator")
    b.member("bob")
    idea = publish(a, "alice")
    settle(a, b, c)
    on_b = local_id(b, idea["ap_id"])
    b.api("POST", f"/ideas/{on_b}/comments", as_="bob", json={"body": "First words"}, expect=201)
    a.api("POST", f"/ideas/{idea['id']}/comments", as_="alice", json={"body": "Alice answers"}, expect=201)
    settle(a, b, c)
    return a, b, c, idea, on_b


def test_a_ban_on_the_origin_reaches_every_ally_and_is_enforced_there_until_lifted(parties):
    a, b, c, idea, on_b = setup_debate(parties)
    bob_on_a = member_id(a, f"bob@{b.host}")
    bob_actor = f"{b.url}/u/bob"
    act(a, "amod", "ban", bob_on_a, "Harassment of other members")
    settle(a, b, c)
    for party in (b, c):
        assert bans(party) == [(a.host, bob_actor, "Harassment of other members")], party.host

    alice_comment = next(x for x in b.comments(on_b) if x["body"] == "Alice answers")
    before_rows, before_outbox = comment_rows(b), outbox_types(b)
    refused = b.api("POST", f"/ideas/{on_b}/comments", as_="bob", json={"body": "Let me speak"}, expect=403)
    body = refused.get_json()
    assert body["code"] == 403 and a.host in body["message"] and "banned" in body["message"]
    assert "Harassment of other members" in body["message"]
    b.api("PUT", f"/ideas/{on_b}/vote", as_="bob", json={"value": "support"}, expect=403)
    b.api("PUT", f"/comments/{alice_comment['id']}/vote", as_="bob", json={"value": "down"}, expect=403)
    assert comment_rows(b) == before_rows and outbox_types(b) == before_outbox
    assert b.copy_of(idea["ap_id"])["tally"]["support"] == 0
    b.member("carla")  # another member of B is not concerned
    b.api("PUT", f"/ideas/{on_b}/vote", as_="carla", json={"value": "support"}, expect=200)

    act(a, "amod", "unban", bob_on_a, "Apologised to everyone")
    settle(a, b, c)
    assert bans(b) == [] and bans(c) == []
    b.api("POST", f"/ideas/{on_b}/comments", as_="bob", json={"body": "Thank you"}, expect=201)
    settle(a, b, c)
    assert "Thank you" in [x["body"] for x in a.comments(idea["id"])]
    assert "Thank you" in [x["body"] for x in c.comments(local_id(c, idea["ap_id"]))]


def test_the_page_says_why_a_banned_member_cannot_comment(parties):
    a, b, c, idea, on_b = setup_debate(parties)
    act(a, "amod", "ban", member_id(a, f"bob@{b.host}"), "Spam in every thread")
    settle(a, b, c)
    client = b.app.test_client()
    assert client.post("/login", data={"login": "bob", "password": "correct horse 12"}).status_code == 302
    response = client.post(f"/ideas/{on_b}/comments", data={"body": "From the page"}, follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "You are banned by" in page and a.host in page
    assert "Spam in every thread" in page
    assert "From the page" not in [x["body"] for x in b.comments(on_b)]


def test_an_action_in_flight_that_the_origin_refuses_is_taken_back_on_the_ally(parties):
    a, b, c, idea, on_b = setup_debate(parties)
    on_c = local_id(c, idea["ap_id"])
    b.api("PUT", f"/ideas/{on_b}/vote", as_="bob", json={"value": "oppose"}, expect=200)
    settle(a, b, c)
    # A locks the thread; before the Lock reaches B, bob comments, changes his vote and votes on a comment
    a.api("POST", "/moderation/actions", as_="amod", expect=201,
          json={"action": "lock", "target_type": "idea", "target_id": idea["id"], "reason": "Heated"})
    alice_comment = next(x for x in b.comments(on_b) if x["body"] == "Alice answers")
    late = b.api("POST", f"/ideas/{on_b}/comments", as_="bob", json={"body": "Too late"}, expect=201).get_json()
    b.api("PUT", f"/ideas/{on_b}/vote", as_="bob", json={"value": "support"}, expect=200)
    b.api("PUT", f"/comments/{alice_comment['id']}/vote", as_="bob", json={"value": "up"}, expect=200)
    assert b.copy_of(idea["ap_id"])["tally"]["support"] == 1
    settle(a, b, c)

    assert "Reject" in outbox_types(a)
    for party, idea_id in ((a, idea["id"]), (b, on_b), (c, on_c)):
        view = party.api("GET", f"/ideas/{idea_id}", expect=200).get_json()
        assert (view["tally"]["support"], view["tally"]["oppose"]) == (0, 1), party.host  # back to oppose
        assert view["comment_count"] == 2, party.host
        shown = {x["body"]: x for x in party.comments(idea_id)}
        assert "Too late" not in shown, party.host
        assert (shown["Alice answers"]["up"], shown["Alice answers"]["down"]) == (0, 0), party.host
    (taken_back,) = [x for x in b.comments(on_b) if x["id"] == late["id"]]
    assert taken_back["deleted"] is True
    # a second delivery of the same Reject (a replay) changes nothing
    reject = a.query(lambda: next(r.payload for r in db.session.scalars(
        select(OutboxActivity).where(OutboxActivity.type == "Reject")) if r.payload["object"]["type"] == "Create"))
    assert signed_post(f"{b.url}/inbox", reject, *group_signer(a)).status_code == 202
    again = {**reject, "id": f"{a.url}/activities/{uuid.uuid4()}"}
    assert signed_post(f"{b.url}/inbox", again, *group_signer(a)).status_code == 202
    assert b.api("GET", f"/ideas/{on_b}", expect=200).get_json()["comment_count"] == 2


def test_a_ban_still_in_flight_is_enforced_by_the_origin_and_rolled_back_on_the_ally(parties):
    a, b, c, idea, on_b = setup_debate(parties)
    act(a, "amod", "ban", member_id(a, f"bob@{b.host}"), "Harassment of other members")
    # B has not heard of the ban yet: it accepts bob's actions and sends them to A, which refuses them
    b.api("POST", f"/ideas/{on_b}/comments", as_="bob", json={"body": "Sneaking in"}, expect=201)
    b.api("PUT", f"/ideas/{on_b}/vote", as_="bob", json={"value": "support"}, expect=200)
    settle(a, b, c)
    assert bans(b) and "Sneaking in" not in [x["body"] for x in b.comments(on_b)]
    assert b.copy_of(idea["ap_id"])["tally"]["support"] == 0
    assert "Sneaking in" not in [x["body"] for x in a.comments(idea["id"])]
    assert a.api("GET", f"/ideas/{idea['id']}", expect=200).get_json()["tally"]["support"] == 0


def test_only_the_banning_group_bans_and_replays_change_nothing(parties, instance):
    a, b, c, idea, on_b = setup_debate(parties)
    bob_actor = f"{b.url}/u/bob"
    block = {"@context": "https://www.w3.org/ns/activitystreams", "type": "Block",
             "actor": f"{a.url}/g/ideas", "object": bob_actor, "target": f"{a.url}/g/ideas", "summary": "Forged"}
    # a person of the ally, signing with their own key, is not its Group
    from coopol.federation.actors import member_actor_id, signer_for

    alice = f"{a.url}/u/alice"
    alice_signer = a.query(lambda: signer_for(member_actor_id("alice")))
    by_alice = {**block, "id": f"{a.url}/activities/{uuid.uuid4()}", "actor": alice}
    assert signed_post(f"{b.url}/inbox", by_alice, *alice_signer).status_code == 403
    # C's Group cannot ban on behalf of A's Group
    for_a = {**block, "id": f"{c.url}/activities/{uuid.uuid4()}", "actor": f"{c.url}/g/ideas"}
    assert signed_post(f"{b.url}/inbox", for_a, *group_signer(c)).status_code == 403
    # a Group that is not an ally
    stranger = instance("d")
    from_stranger = {**block, "id": f"{stranger.url}/activities/{uuid.uuid4()}", "actor": f"{stranger.url}/g/ideas",
                     "target": f"{stranger.url}/g/ideas"}
    assert signed_post(f"{b.url}/inbox", from_stranger, *group_signer(stranger)).status_code == 403
    # A's Group itself, but naming no person, or not by an actor URL: refused, never a 500
    for odd in ({"object": None}, {"object": "javascript:alert(1)"}, {"object": {"type": "Person"}}):
        bad = {**block, "id": f"{a.url}/activities/{uuid.uuid4()}", **odd}
        assert signed_post(f"{b.url}/inbox", bad, *group_signer(a)).status_code == 400, odd
    assert bans(b) == []
    b.api("POST", f"/ideas/{on_b}/comments", as_="bob", json={"body": "Still free"}, expect=201)

    # the real ban, lifted; then the old Block delivered again changes nothing
    bob_on_a = member_id(a, f"bob@{b.host}")
    act(a, "amod", "ban", bob_on_a, "Harassment of other members")
    settle(a, b, c)
    act(a, "amod", "unban", bob_on_a, "Apologised")
    settle(a, b, c)
    assert bans(b) == []
    real = a.query(lambda: next(r.payload for r in db.session.scalars(
        select(OutboxActivity).where(OutboxActivity.type == "Block"))))
    assert signed_post(f"{b.url}/inbox", real, *group_signer(a)).status_code == 202
    assert bans(b) == []
    b.api("PUT", f"/ideas/{on_b}/vote", as_="bob", json={"value": "support"}, expect=200)


def test_a_reject_not_from_the_origin_or_of_unknown_activities_changes_nothing(parties):
    a, b, c, idea, on_b = setup_debate(parties)
    sent = b.query(lambda: next(r.payload for r in db.session.scalars(
        select(OutboxActivity).where(OutboxActivity.type == "Create"))))
    # C's Group rejects what bob sent to A: C is not the idea's origin
    by_c = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{c.url}/activities/{uuid.uuid4()}",
            "type": "Reject", "actor": f"{c.url}/g/ideas",
            "object": {"id": sent["id"], "type": "Create", "actor": sent["actor"]}}
    assert signed_post(f"{b.url}/inbox", by_c, *group_signer(c)).status_code == 202
    # A's Group rejects something nobody sent
    unknown = {**by_c, "id": f"{a.url}/activities/{uuid.uuid4()}", "actor": f"{a.url}/g/ideas",
               "object": {"id": f"{b.url}/activities/{uuid.uuid4()}", "type": "Like"}}
    assert signed_post(f"{b.url}/inbox", unknown, *group_signer(a)).status_code == 202
    # a person of A cannot reject in its Group's name
    from coopol.federation.actors import member_actor_id, signer_for

    by_alice = {**by_c, "id": f"{a.url}/activities/{uuid.uuid4()}", "actor": f"{a.url}/u/alice"}
    assert signed_post(f"{b.url}/inbox", by_alice, *a.query(lambda: signer_for(member_actor_id("alice")))
                       ).status_code == 403
    assert "First words" in [x["body"] for x in b.comments(on_b)]
    assert b.api("GET", f"/ideas/{on_b}", expect=200).get_json()["comment_count"] == 2


def test_a_new_ally_hears_of_the_bans_in_force(parties, instance):
    from tests.federation.conftest import run_handshake
    from tests.federation.content.conftest import Party

    a, b = parties(2, FEDERATION_BAN_SYNC_DELAY=1)
    a.member("alice")
    a.member("amod", role="moderator")
    b.member("bob")
    idea = publish(a, "alice")
    settle(a, b)
    b.api("POST", f"/ideas/{local_id(b, idea['ap_id'])}/comments", as_="bob", json={"body": "Hi"}, expect=201)
    settle(a, b)
    bob_on_a = member_id(a, f"bob@{b.host}")
    act(a, "amod", "ban", bob_on_a, "Harassment of other members")
    settle(a, b)
    c = Party(instance("c"))
    run_handshake(a.live, c.live)
    settle(a, b, c)
    time.sleep(1.2)  # the bans leave a little later: once the new ally has our Accept
    settle(a, b, c)
    assert bans(c) == [(a.host, f"{b.url}/u/bob", "Harassment of other members")]
    act(a, "amod", "unban", bob_on_a, "Apologised")
    settle(a, b, c)
    assert bans(b) == [] and bans(c) == []


def sent(party, kind: str) -> list[dict]:
    """What `party`'s Group sent of `kind`, oldest first."""
    return party.query(lambda: [r.payload for r in db.session.scalars(
        select(OutboxActivity).where(OutboxActivity.type == kind).order_by(OutboxActivity.id))])


def test_ban_messages_delivered_out_of_order_end_as_the_origin_decided(parties):
    a, b, c, idea, on_b = setup_debate(parties)
    bob_on_a = member_id(a, f"bob@{b.host}")
    bob_actor = f"{b.url}/u/bob"
    act(a, "amod", "ban", bob_on_a, "First offence, spam")
    act(a, "amod", "unban", bob_on_a, "Apologised to all")
    act(a, "amod", "ban", bob_on_a, "Second offence, insults")
    (block1, block2), (undo1,) = sent(a, "Block"), sent(a, "Undo")
    assert undo1["object"]["id"] == block1["id"] and block1["published"] < undo1["published"] < block2["published"]
    signer = group_signer(a)

    def deliver(party, *activities):
        for activity in activities:
            assert signed_post(f"{party.url}/inbox", activity, *signer).status_code == 202

    # in order on B: banned, lifted
    deliver(b, block1)
    assert bans(b) == [(a.host, bob_actor, "First offence, spam")]
    deliver(b, undo1)
    assert bans(b) == []
    # the Undo overtakes its Block on C (a retried delivery): the late Block does not ban again
    deliver(c, undo1)
    assert bans(c) == []
    deliver(c, block1)
    assert bans(c) == []
    on_c = local_id(c, idea["ap_id"])
    c.member("cid")
    c.api("PUT", f"/ideas/{on_c}/vote", as_="cid", json={"value": "support"}, expect=200)
    # the second ban is in force on both, whatever reaches them late
    deliver(b, block2)
    deliver(c, block2)
    assert bans(b) == bans(c) == [(a.host, bob_actor, "Second offence, insults")]
    b.api("POST", f"/ideas/{on_b}/comments", as_="bob", json={"body": "Not yet"}, expect=403)

    # an older Undo or Block arriving after a newer decision changes nothing
    late_undo = {**undo1, "id": f"{a.url}/activities/{uuid.uuid4()}"}  # a retried copy of the first lift
    deliver(b, late_undo)
    assert bans(b) == [(a.host, bob_actor, "Second offence, insults")]

    act(a, "amod", "unban", bob_on_a, "Apologised again to all")
    settle(a, b, c)
    assert bans(b) == [] and bans(c) == []
    late_block = {**block2, "id": f"{a.url}/activities/{uuid.uuid4()}"}  # the second ban, published before its lift
    deliver(b, late_block)
    assert bans(b) == []
    b.api("POST", f"/ideas/{on_b}/comments", as_="bob", json={"body": "Free again"}, expect=201)
    settle(a, b, c)
    assert "Free again" in [x["body"] for x in a.comments(idea["id"])]


def test_an_edit_the_origin_refuses_is_undone_on_the_ally(parties):
    a, b, c, idea, on_b = setup_debate(parties)
    on_c = local_id(c, idea["ap_id"])
    mine = next(x for x in b.comments(on_b) if x["body"] == "First words")
    b.api("PATCH", f"/comments/{mine['id']}", as_="bob", json={"body": "Edited once"}, expect=200)
    settle(a, b, c)
    assert "Edited once" in [x["body"] for x in a.comments(idea["id"])]
    # A locks the thread; before the Lock reaches B, bob edits his comment twice
    a.api("POST", "/moderation/actions", as_="amod", expect=201,
          json={"action": "lock", "target_type": "idea", "target_id": idea["id"], "reason": "Heated"})
    b.api("PATCH", f"/comments/{mine['id']}", as_="bob", json={"body": "Edited in flight", "stance": "against"},
          expect=200)
    b.api("PATCH", f"/comments/{mine['id']}", as_="bob", json={"body": "Edited again in flight"}, expect=200)
    settle(a, b, c)

    rejected = [r["object"]["type"] for r in sent(a, "Reject")]
    assert rejected == ["Update", "Update"]
    for party, idea_id in ((a, idea["id"]), (b, on_b), (c, on_c)):
        (comment,) = [x for x in party.comments(idea_id) if x["body"] != "Alice answers"]
        assert (comment["body"], comment["stance"]) == ("Edited once", "neutral"), party.host
    versions = b.query(lambda: [r.body for r in db.session.scalars(
        select(CommentRevision).where(CommentRevision.comment_id == mine["id"]).order_by(CommentRevision.id))])
    assert versions == ["First words"]  # the refused versions are not kept
    # a replayed Reject changes nothing
    reject = sent(a, "Reject")[0]
    again = {**reject, "id": f"{a.url}/activities/{uuid.uuid4()}"}
    assert signed_post(f"{b.url}/inbox", again, *group_signer(a)).status_code == 202
    assert next(x for x in b.comments(on_b) if x["id"] == mine["id"])["body"] == "Edited once"
