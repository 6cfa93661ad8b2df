"""Votes anyone can audit: three live allied instances; every vote carries its member's FEP-8b32 proof,
kept by every instance that counts it; `coopol audit` re-verifies them all and recounts per party, and
finds a vote changed in an ally's database. A vote whose proof fails is refused by the inbox."""

from __future__ import annotations

import json

from sqlalchemy import select

from coopol.extensions import db
from coopol.federation.models import Delivery, OutboxActivity, ProofHealth, VoteProof
from coopol.ideas.models import Idea, IdeaVote
from tests.federation.content.conftest import settle
from tests.federation.content.test_travel_ideas import publish

AP = {"Accept": "application/activity+json"}


def _vote(party, idea_ap_id: str, handle: str, value: str) -> None:
    idea_id = party.copy_of(idea_ap_id)["id"]
    party.api("PUT", f"/ideas/{idea_id}/vote", as_=handle, json={"value": value}, expect=200)


def _voted(parties_):
    a, b, c = parties_(3)
    for party, handles in ((a, ("ann", "amy")), (b, ("bob",)), (c, ("cid", "cat"))):
        for handle in handles:
            party.member(handle)
    idea = publish(a, "ann")
    settle(a, b, c)
    _vote(a, idea["ap_id"], "ann", "support")
    _vote(a, idea["ap_id"], "amy", "oppose")
    _vote(b, idea["ap_id"], "bob", "oppose")
    b.api("DELETE", f"/ideas/{b.copy_of(idea['ap_id'])['id']}/vote", as_="bob", expect=200)  # a signed Undo
    settle(a, b, c)
    # the origin keeps the Undo as bob's latest signed vote activity (whichever of the two reached it first)
    assert next(v for k, v in _proofs(a).items() if k.startswith("bob@"))["type"] == "Undo"
    _vote(b, idea["ap_id"], "bob", "support")
    _vote(c, idea["ap_id"], "cid", "support")
    _vote(c, idea["ap_id"], "cat", "oppose")
    _vote(c, idea["ap_id"], "cat", "support")  # changed their mind: the latest signed vote counts
    settle(a, b, c)
    return a, b, c, idea


def _audit(party, url: str):
    runner = party.app.test_cli_runner()
    return runner.invoke(args=["audit", url], catch_exceptions=False)


def _proofs(party) -> dict[str, dict]:
    from coopol.accounts.models import Member

    return party.query(lambda: {member.handle: proof.activity for proof, member in db.session.execute(
        select(VoteProof, Member).join(Member, Member.id == VoteProof.member_id)
        .where(VoteProof.target_type == "idea"))})


def test_every_instance_keeps_every_vote_with_its_signature(parties):
    from coopol.federation.proofs import public_from_multibase, verify_document

    a, b, c, idea = _voted(parties)
    for party in (a, b, c):
        proofs = _proofs(party)
        assert len(proofs) == 5, party.host
        for activity in proofs.values():
            assert activity["proof"]["cryptosuite"] == "eddsa-jcs-2022"
            assert activity["proof"]["proofPurpose"] == "assertionMethod"
            assert activity["object"] == idea["ap_id"]
    # b holds c's member's vote as c signed it, relayed by a's Group (an Announce keeps it intact)
    on_b = next(v for k, v in _proofs(b).items() if k.startswith("cid@"))
    person = c.app.test_client().get("/u/cid", headers=AP).get_json()
    [key] = person["assertionMethod"]
    assert on_b["proof"]["verificationMethod"] == key["id"]
    verify_document(on_b, public_from_multibase(key["publicKeyMultibase"]))
    assert on_b == _proofs(c)["cid"]
    assert _proofs(c)["cat"]["type"] == "Like"


def test_the_votes_collection_serves_each_vote_with_its_proof_to_allies_only(parties):
    a, b, c, idea = _voted(parties)
    assert a.app.test_client().get(f"/ideas/{idea['id']}/votes", headers=AP).status_code == 403
    for path in ("/ideas/99999999999999999999999/votes", "/ideas/votes", "/ideas/votes?object=nothing",
                 f"/ideas/votes?object={'x' * 5000}"):
        assert a.app.test_client().get(path, headers=AP).status_code == 404, path

    def read(url: str) -> dict:
        from coopol.federation.fetch import fetch_document

        return b.query(lambda: fetch_document(url))

    collection = read(f"{idea['ap_id']}/votes")
    assert collection["totalItems"] == 5 and collection["votesOn"] == idea["ap_id"]
    assert collection["tally"] == {a.host: {"support": 1, "oppose": 1}, b.host: {"support": 1, "oppose": 0},
                                   c.host: {"support": 2, "oppose": 0}}
    items = read(collection["first"])["orderedItems"]
    assert {item["actor"].rsplit("/", 1)[1]: item["type"] for item in items} == {
        "ann": "Like", "amy": "Dislike", "bob": "Like", "cid": "Like", "cat": "Like"}
    assert all(item["signed"]["proof"]["type"] == "DataIntegrityProof" for item in items)


def test_an_untampered_audit_finds_no_difference_and_a_tampered_vote_is_reported(parties):
    a, b, c, idea = _voted(parties)
    result = _audit(c, idea["ap_id"])
    assert result.exit_code == 0, result.output
    assert "No difference" in result.output
    assert f"{a.host}: 1 support, 1 oppose" in result.output and f"{c.host}: 2 support, 0 oppose" in result.output
    assert f"Reading the votes {b.host} holds" in result.output  # progress

    def tamper() -> None:  # someone with b's database turns cid's support into an opposition
        from coopol.accounts.models import Member

        copy = db.session.scalar(select(Idea).where(Idea.ap_id == idea["ap_id"]))
        cid = db.session.scalar(select(Member).where(Member.handle.startswith("cid@")))
        vote = db.session.scalar(select(IdeaVote).where(IdeaVote.idea_id == copy.id, IdeaVote.member_id == cid.id))
        vote.value = "oppose"
        db.session.commit()

    b.query(tamper)
    result = _audit(c, idea["ap_id"])
    assert result.exit_code == 1, result.output
    assert f"{b.host}: {c.url}/u/cid's vote is counted as oppose, but the voter signed support" in result.output
    assert f"{b.host} counts 1 support / 1 oppose for {c.host}; the votes say 2 support / 0 oppose" in result.output
    assert f"{a.host}:" not in result.output.split("difference(s):")[1]  # the others are not blamed

    health = c.query(lambda: {row.host: (row.audit_votes, row.audit_problems)
                              for row in db.session.scalars(select(ProofHealth))})
    assert health[a.host] == (5, 0) and health[b.host][1] == 2
    c.member("boss", role="admin")  # the admin dashboard shows the last audit of each ally
    admin = c.app.test_client()
    admin.post("/login", data={"login": "boss", "password": "correct horse 12"})
    page = admin.get("/admin/allies")
    assert page.status_code == 200
    row_b = page.text.split(f'data-host="{b.host}"')[1].split("</tr>")[0]
    row_a = page.text.split(f'data-host="{a.host}"')[1].split("</tr>")[0]
    assert "2 differences" in row_b and "counted as oppose" in row_b
    assert "no difference" in row_a and "5 votes" in row_a

    # The same audit run on the origin, and a stored signed vote changed too: the proof fails.
    def forge() -> None:
        row = db.session.scalar(select(VoteProof).where(VoteProof.kind == "Like").order_by(VoteProof.id))
        row.activity = {**row.activity, "type": "Dislike"}
        db.session.commit()

    b.query(forge)
    result = _audit(a, idea["ap_id"])
    assert result.exit_code == 1
    assert "the proof fails" in result.output


def test_a_vote_whose_proof_fails_is_refused_and_counted(parties):
    a, b, c = parties(3)
    a.member("ann")
    b.member("bob")
    idea = publish(a, "ann")
    settle(a, b, c)
    _vote(b, idea["ap_id"], "bob", "support")
    b.build_votes()

    def forge() -> None:  # the vote is changed after bob signed it
        row = db.session.scalar(select(OutboxActivity).where(OutboxActivity.type == "Like"))
        row.payload = {**row.payload, "type": "Dislike"}
        db.session.commit()

    b.query(forge)
    settle(a, b, c)
    refused = b.query(lambda: db.session.scalar(select(Delivery).join(Delivery.activity)
                                                .where(OutboxActivity.type == "Like")))
    assert refused.state == "failed" and refused.last_status == 422, refused.last_error
    assert "Vote proof check failed" in refused.last_error
    assert a.copy_of(idea["ap_id"])["tally"]["oppose"] == 0
    assert a.query(lambda: db.session.scalar(select(IdeaVote.id))) is None
    health = a.query(lambda: db.session.scalar(select(ProofHealth).where(ProofHealth.host == b.host)))
    assert health.refused_proofs == 1 and "proof" in health.last_refused_reason
    listed = {row["host"]: row for row in json.loads(a.live.cli("allies", "list", "--json").output)}
    assert listed[b.host]["proofs"]["refused"] == 1 and listed[b.host]["proofs"]["audited_at"] is None
    assert listed[c.host]["proofs"] is None
    a.member("boss", role="admin")
    admin = a.app.test_client()
    admin.post("/login", data={"login": "boss", "password": "correct horse 12"})
    row = admin.get("/admin/allies").text.split(f'data-host="{b.host}"')[1].split("</tr>")[0]
    assert "1 vote refused: its proof failed" in row and "no audit yet" in row


def test_an_erased_members_signed_votes_go_everywhere_and_their_votes_stay_counted(parties):
    a, b, c, idea = _voted(parties)
    assert "cid" in _proofs(c) and any(k.startswith("cid@") for k in _proofs(a))
    c.api("DELETE", "/me", as_="cid", expect=204)
    settle(a, b, c)
    for party in (a, b, c):  # the Delete of their Person reached every ally
        assert not any(k == "cid" or k.startswith("cid@") for k in _proofs(party)), party.host
        assert len(_proofs(party)) == 4
    counted = a.query(lambda: db.session.scalar(select(Idea).where(Idea.ap_id.is_(None))))
    assert (counted.support_count, counted.oppose_count) == (4, 1)  # ann, bob, cid, cat; amy
