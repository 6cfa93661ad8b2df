"""Backfill: a new ally pulls the ideas published before the alliance, with their past comments (same
threads, stances, comment votes) and votes (same tallies, same per-instance breakdown); running it again
changes nothing; the job queued with the alliance is run by the worker and resumes after a crash."""

from __future__ import annotations

from datetime import timedelta

import requests

from tests.federation.conftest import run_handshake
from tests.federation.content.conftest import Party, settle
from tests.federation.content.test_travel_debate import local_id
from tests.federation.content.test_travel_ideas import publish

AP = {"Accept": "application/activity+json"}


def _vote(party: Party, idea_id: int, who: str, value: str) -> None:
    party.api("PUT", f"/ideas/{idea_id}/vote", as_=who, json={"value": value}, expect=200)


def _comment(party: Party, idea_id: int, who: str, body: str, stance: str = "neutral", parent: int | None = None):
    payload = {"body": body, "stance": stance, **({"parent_id": parent} if parent else {})}
    return party.api("POST", f"/ideas/{idea_id}/comments", as_=who, json=payload, expect=201).get_json()


def _moderate(party: Party, action: str, target_type: str, target_id: int) -> None:
    party.api("POST", "/moderation/actions", as_="mod", expect=201,
              json={"action": action, "target_type": target_type, "target_id": target_id, "reason": "Test"})


def _debate(party: Party, idea_id: int) -> dict:
    """What a reader sees of an idea: state, tally, and the visible comments as threads (by body)."""
    view = party.api("GET", f"/ideas/{idea_id}", expect=200).get_json()
    comments = [c for c in party.comments(idea_id) if c.get("body")]
    body_of = {c["id"]: c["body"] for c in comments}
    threads = sorted((c["body"], c["stance"], body_of.get(c["parent_id"]), c["author"]["instance"], c["up"], c["down"])
                     for c in comments)
    tally = {k: view["tally"][k] for k in ("support", "oppose", "by_instance")}
    return {"state": view["state"], "tally": tally, "threads": threads}


def _counts(party: Party) -> tuple[int, ...]:
    from coopol.accounts.models import Member
    from coopol.ideas.models import Comment, CommentVote, Idea, IdeaTally, IdeaVote

    return tuple(party.live.count(m) for m in (Idea, Comment, IdeaVote, CommentVote, IdeaTally, Member))


def _job(party: Party, host: str):
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.federation.models import Backfill

    def read():
        job = db.session.scalar(select(Backfill).where(Backfill.host == host))
        if job is not None:
            db.session.expunge(job)
        return job

    return party.query(read)


def _update_job(party: Party, host: str, **fields) -> None:
    from sqlalchemy import update

    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.federation.models import Backfill

    def write():
        with unit_of_work():
            db.session.execute(update(Backfill).where(Backfill.host == host).values(**fields))

    party.query(write)


def _a_debated_party(parties) -> tuple[Party, Party, list[dict]]:
    """A (allied with C) has: an open idea with a thread of comments from A and C and votes from both;
    an accepted, locked idea with votes and a comment; an idea with a removed, a hidden and a deleted
    comment."""
    a, c = parties(2)
    a.member("alice")
    a.member("alan")
    a.member("mod", role="moderator")
    c.member("carol")
    open_idea = publish(a, "alice", title="Free night buses")
    closed = publish(a, "alice", title="Solar roofs on schools")
    moderated = publish(a, "alan", title="A park on the old rail yard")
    settle(a, c)
    on_c = {i["id"]: local_id(c, i["ap_id"]) for i in (open_idea, closed, moderated)}

    _comment(a, open_idea["id"], "alan", "Buses at night save lives.", "for")
    settle(a, c)
    top_on_c = next(x for x in c.comments(on_c[open_idea["id"]]) if x["body"] == "Buses at night save lives.")
    _comment(c, on_c[open_idea["id"]], "carol", "Too **expensive**.", "against", parent=top_on_c["id"])
    settle(a, c)
    carols = next(x for x in a.comments(open_idea["id"]) if x["body"] == "Too **expensive**.")
    _comment(a, open_idea["id"], "alice", "Cheaper than accidents.", "for", parent=carols["id"])
    _comment(a, open_idea["id"], "alan", "What about trams?")
    _vote(a, open_idea["id"], "alice", "support")
    _vote(a, open_idea["id"], "alan", "oppose")
    c.api("PUT", f"/ideas/{on_c[open_idea['id']]}/vote", as_="carol", json={"value": "support"}, expect=200)
    c.api("PUT", f"/comments/{top_on_c['id']}/vote", as_="carol", json={"value": "up"}, expect=200)
    a.api("PUT", f"/comments/{carols['id']}/vote", as_="alan", json={"value": "down"}, expect=200)

    _vote(a, closed["id"], "alan", "support")
    c.api("PUT", f"/ideas/{on_c[closed['id']]}/vote", as_="carol", json={"value": "oppose"}, expect=200)
    c.api("POST", f"/ideas/{on_c[closed['id']]}/comments", as_="carol", expect=201,
          json={"body": "Schools first, yes.", "stance": "for"})
    settle(a, c)
    a.api("POST", f"/ideas/{closed['id']}/answer", as_="mod", json={"state": "evaluating", "answer": "On it."},
          expect=200)
    a.api("POST", f"/ideas/{closed['id']}/answer", as_="mod", json={"state": "accepted", "answer": "Done."},
          expect=200)
    _moderate(a, "lock", "idea", closed["id"])

    removed = _comment(a, moderated["id"], "alice", "Something rude about alan.")
    hidden = _comment(a, moderated["id"], "alice", "Something borderline.")
    deleted = _comment(a, moderated["id"], "alan", "Oops, wrong idea.")
    _comment(a, moderated["id"], "alice", "Trees, please.", "for")
    _moderate(a, "remove", "comment", removed["id"])
    _moderate(a, "hide", "comment", hidden["id"])
    a.api("DELETE", f"/comments/{deleted['id']}", as_="alan", expect=200)
    settle(a, c)
    return a, c, [open_idea, closed, moderated]


def test_a_new_ally_gets_past_comments_and_votes_with_the_same_threads_and_tallies(parties, instance):
    a, c, ideas = _a_debated_party(parties)
    b = Party(instance("b", FEDERATION_AUTO_BACKFILL=True))
    run_handshake(a.live, b.live)  # the alliance queues the job; the workers' drains run it
    settle(a, b, c)

    job = _job(b, a.host)
    assert job is not None and job.state == "done", job and (job.state, job.error)
    assert (job.total, job.seen, job.stored, job.skipped) == (3, 3, 3, 0)
    assert job.comments == 6 and job.votes == 7  # 4 + 1 + 1 comments; 3 + 2 idea votes, 2 comment votes
    for idea in ideas:
        on_b = local_id(b, idea["ap_id"])
        assert _debate(b, on_b) == _debate(a, idea["id"]), idea["title"]
    open_view = _debate(b, local_id(b, ideas[0]["ap_id"]))
    assert open_view["tally"]["by_instance"] == {a.host: {"support": 1, "oppose": 1},
                                                c.host: {"support": 1, "oppose": 0}}
    assert len(open_view["threads"]) == 4 and ("Too **expensive**.", "against", "Buses at night save lives.",
                                               c.host, 0, 1) in open_view["threads"]
    closed = b.copy_of(ideas[1]["ap_id"])
    assert closed["state"] == "accepted" and closed["answer"] == "Done." and closed["tally"]["support"] == 1
    assert closed["locked"] is True
    moderated = [x["body"] for x in b.comments(local_id(b, ideas[2]["ap_id"]))]
    assert moderated == ["Trees, please."]  # removed, hidden and deleted comments do not travel

    # Running it again (the CLI, inline) changes nothing.
    before = (_counts(b), [_debate(b, local_id(b, i["ap_id"])) for i in ideas])
    again = b.live.cli("allies", "backfill", a.host)
    assert "3 idea(s) stored, 0 skipped, 0 comment(s) and 0 vote(s) added" in again.output
    assert (_counts(b), [_debate(b, local_id(b, i["ap_id"])) for i in ideas]) == before


def test_the_cli_backfill_shows_progress_and_does_not_repeat_what_announces_brought(parties, instance):
    from coopol.core.uow import unit_of_work
    from coopol.federation.content import backfill as backfill_module

    (a,) = parties(1)
    a.member("alice")
    a.member("alan")
    backfill_module.PAGE_SIZE = 2
    try:
        ideas = [publish(a, "alice", title=f"Idea number {n}") for n in range(3)]
        publish(a, "alice", title="Still a draft", publish=False)
        first = _comment(a, ideas[0]["id"], "alan", "An old comment.")
        _comment(a, ideas[0]["id"], "alice", "An old reply.", parent=first["id"])
        _vote(a, ideas[0]["id"], "alan", "support")
        b = Party(instance("b"))  # no automatic backfill: the CLI does it
        b.member("bob")
        run_handshake(a.live, b.live)
        assert _job(b, a.host) is None
        _comment(a, ideas[0]["id"], "alan", "A new comment, announced.")  # B fetches the idea to store it
        _vote(a, ideas[0]["id"], "alice", "oppose")
        settle(a, b)
        on_b = local_id(b, ideas[0]["ap_id"])
        assert [x["body"] for x in b.comments(on_b)] == ["A new comment, announced."]
        b.api("PUT", f"/ideas/{on_b}/vote", as_="bob", json={"value": "support"}, expect=200)
        settle(a, b)

        def queue():
            with unit_of_work():
                backfill_module.queue_backfill(a.host)

        b.query(queue)  # a job waiting for the worker: the CLI does its work
        result = b.live.cli("allies", "backfill", a.host)
    finally:
        backfill_module.PAGE_SIZE = 20
    assert "2/3 ideas read, 2 stored, 0 skipped; 2 comment(s), 1 vote(s) added" in result.output
    assert "3/3 ideas read, 3 stored" in result.output
    assert "3 idea(s) stored, 0 skipped, 2 comment(s) and 1 vote(s) added." in result.output
    comments = {x["body"]: x for x in b.comments(on_b)}
    assert sorted(comments) == ["A new comment, announced.", "An old comment.", "An old reply."]
    assert comments["An old reply."]["parent_id"] == comments["An old comment."]["id"]
    assert sorted(i["title"] for i in b.api("GET", f"/ideas?origin={a.host}").get_json()["items"]) == \
        [i["title"] for i in ideas]  # not the draft
    assert _debate(b, on_b) == _debate(a, ideas[0]["id"])
    assert _debate(b, on_b)["tally"]["by_instance"] == {a.host: {"support": 1, "oppose": 1},
                                                       b.host: {"support": 1, "oppose": 0}}
    job = _job(b, a.host)
    assert job.state == "done" and (job.seen, job.comments, job.votes) == (3, 2, 1)
    refused = b.live.cli("allies", "backfill", "127.0.0.1:1", expect_ok=False)
    assert refused.exit_code != 0 and "No alliance" in refused.output


def test_the_worker_runs_the_job_and_resumes_from_its_saved_page_after_a_crash(parties, instance):
    from sqlalchemy import update

    from coopol.core.time import utcnow
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.federation.content import backfill as backfill_module
    from coopol.ideas.models import Idea

    (a,) = parties(1)
    a.member("alice")
    backfill_module.PAGE_SIZE = 2
    try:
        ideas = [publish(a, "alice", title=f"Idea number {n}") for n in range(3)]
        b = Party(instance("b"))
        run_handshake(a.live, b.live)

        def queue():
            with unit_of_work():
                backfill_module.queue_backfill(a.host)

        b.query(queue)
        assert b.query(backfill_module.run_backfill_step) == 1  # one page, then the worker moves on
        job = _job(b, a.host)
        assert job.state == "running" and job.next_url.endswith("/g/ideas/ideas?page=2")
        assert (job.seen, job.stored, job.claimed_until) == (2, 2, None)

        def rename_first():  # on A, without telling anyone: a restart from page 1 would copy it
            with unit_of_work():
                db.session.execute(update(Idea).where(Idea.id == ideas[0]["id"]).values(title="Renamed quietly"))

        a.query(rename_first)
        # a worker claimed it and died: its lease holds the job until it runs out
        _update_job(b, a.host, claimed_until=utcnow() + timedelta(hours=1))
        b.live.drain()
        assert _job(b, a.host).seen == 2 and b.copy_of(ideas[2]["ap_id"]) is None
        _update_job(b, a.host, claimed_until=utcnow() - timedelta(seconds=1))
        b.live.drain()
    finally:
        backfill_module.PAGE_SIZE = 20
    job = _job(b, a.host)
    assert job.state == "done" and (job.total, job.seen, job.stored, job.skipped) == (3, 3, 3, 0)
    assert job.next_url is None and job.finished_at is not None and job.error == ""
    assert b.copy_of(ideas[2]["ap_id"])["title"] == "Idea number 2"
    assert b.copy_of(ideas[0]["ap_id"])["title"] == "Idea number 0"  # resumed at page 2, not from the start
    assert b.query(backfill_module.run_backfill_step) == 0  # nothing left


def test_a_job_for_a_host_that_is_no_longer_an_ally_fails_with_its_reason(parties):
    from coopol.core.uow import unit_of_work
    from coopol.federation.content import backfill as backfill_module

    a, b = parties(2)
    b.live.cli("allies", "revoke", a.host)

    def queue():
        with unit_of_work():
            backfill_module.queue_backfill(a.host)

    b.query(queue)
    b.live.drain()
    job = _job(b, a.host)
    assert job.state == "failed" and "not an ally" in job.error


def test_the_collections_serve_only_what_anyone_may_read_and_votes_to_allies(parties):
    a, c, ideas = _a_debated_party(parties)
    moderated = ideas[2]
    replies = requests.get(f"{a.url}/ideas/{moderated['id']}/replies?page=1", headers=AP, timeout=10)
    assert replies.status_code == 200 and replies.headers["Content-Type"].startswith("application/activity+json")
    items = replies.json()["orderedItems"]
    assert [i["type"] for i in items] == ["Tombstone", "Tombstone", "Note"]  # removed, deleted; hidden left out
    assert "rude" not in replies.text and "borderline" not in replies.text and "Oops" not in replies.text
    page = requests.get(ideas[0]["ap_id"], headers=AP, timeout=10).json()
    assert page["likes"]["totalItems"] == 2 and page["dislikes"]["totalItems"] == 1
    assert requests.get(page["likes"]["first"], headers=AP, timeout=10).status_code == 403  # unsigned
    from coopol.federation.fetch import fetch_document

    likes = c.query(lambda: fetch_document(page["likes"]["first"]))  # signed by an ally
    assert sorted(v["actor"] for v in likes["orderedItems"]) == sorted([f"{a.url}/u/alice", f"{c.url}/u/carol"])
    thread = c.query(lambda: fetch_document(page["replies"]["first"]))
    served = str(thread) + str(likes)
    assert "@" + a.host.split(":")[0] + ".example" not in served  # no e-mail address leaves
    assert requests.get(f"{a.url}/ideas/999/replies", headers=AP, timeout=10).status_code == 404


def test_allies_list_shows_each_allys_backfill_job(parties):
    import json

    from coopol.core.uow import unit_of_work
    from coopol.federation.content import backfill as backfill_module

    a, b, c = parties(3)
    a.member("alice")
    publish(a, "alice", title="Free night buses")
    publish(a, "alice", title="Solar roofs on schools")
    settle(a, b, c)

    def queue(host):
        def run():
            with unit_of_work():
                backfill_module.queue_backfill(host)
        return run

    def listed():
        text = b.live.cli("allies", "list").output
        rows = {line.split("\t")[0]: line.split("\t") for line in text.splitlines()}
        return rows, {row["host"]: row for row in json.loads(b.live.cli("allies", "list", "--json").output)}

    rows, as_json = listed()
    assert rows["HOST"][-1] == "BACKFILL" and rows[a.host][-1] == "-" and as_json[a.host]["backfill"] is None
    b.query(queue(a.host))
    rows, as_json = listed()
    assert rows[a.host][-1] == "queued: 0/0 ideas (0 stored, 0 skipped), 0 comments, 0 votes"
    assert as_json[a.host]["backfill"]["state"] == "queued" and rows[c.host][-1] == "-"
    b.live.drain()
    rows, as_json = listed()
    assert rows[a.host][1] == "allied"
    assert rows[a.host][-1] == "done: 2/2 ideas (2 stored, 0 skipped), 0 comments, 0 votes", rows[a.host]
    job = as_json[a.host]["backfill"]
    assert (job["state"], job["total"], job["seen"], job["stored"], job["error"]) == ("done", 2, 2, 2, "")
    assert job["finished_at"] is not None

    b.live.cli("allies", "revoke", c.host)
    b.query(queue(c.host))
    b.live.drain()
    rows, as_json = listed()
    assert rows[c.host][-1].startswith("failed: 0/0 ideas") and "error: " in rows[c.host][-1]
    assert "not an ally" in rows[c.host][-1]
    job = as_json[c.host]["backfill"]
    assert job["state"] == "failed" and "not an ally" in job["error"]

    b.member("boss", role="admin")
    client = b.app.test_client()
    client.post("/login", data={"login": "boss", "password": "correct horse 12"})
    page = client.get("/admin/allies").text
    assert "backfill-done" in page and "2/2 ideas, 0 comments, 0 votes" in page
    assert "backfill-failed" in page and "not an ally" in page
