"""Backfill: a new ally pulls the ideas published before the alliance, with their past comments (same
threads, stances, comment votes) and votes (same tallies, same per-instance breakdown); running it again
changes nothing; the job queued with the alliance is run by the worker and resumes after a crash."""

from __future__ import annotations

import threading
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


# ------------------------------------------------------------------ a hostile ally: bounded backfills


class HostileAlly:
    """An ally (not ours) whose one idea has a `replies` collection that does not end (it stops at
    `last`, only so that an unbounded reader fails the test instead of running for minutes), or whose
    pages are huge, or loop, or fail from some page on. Counts what it served."""

    AP = {"Content-Type": "application/activity+json"}

    def __init__(self, url: str, *, last: int = 200, padding: int = 0, fail_from: int | None = None,
                 loop_at: int | None = None, huge_at: int | None = None, endless_ideas: bool = False) -> None:
        self.url, self.last, self.padding, self.endless_ideas = url, last, padding, endless_ideas
        self.fail_from, self.loop_at, self.huge_at = fail_from, loop_at, huge_at
        self.idea = f"{url}/post/1"
        self.replies = f"{self.idea}/replies"
        self.served: list[str] = []
        self.release = threading.Event()  # what the `peer` fixture sets when it stops (nothing waits here)

    def reply_page(self, n: int) -> dict:
        note = {"id": f"{self.idea}/comments/{n}", "type": "Note", "attributedTo": f"{self.url}/u/mallory",
                "inReplyTo": self.idea, "content": f"Reply number {n}", "published": "2026-01-01T00:00:00Z"}
        if self.padding:
            note["padding"] = "x" * self.padding  # an unknown field: ignored, but it must be read and parsed
        page = {"id": f"{self.replies}?page={n}", "type": "OrderedCollectionPage", "partOf": self.replies,
                "orderedItems": [note]}
        if n < self.last:
            page["next"] = f"{self.replies}?page={1 if n == self.loop_at else n + 1}"
        return page

    def document(self, path: str, page: str | None) -> tuple[int, bytes]:
        import json

        ideas = f"{self.url}/g/ideas/ideas"
        if path == "/g/ideas/ideas" and page is None:
            doc = {"id": ideas, "type": "OrderedCollection", "totalItems": 1, "first": f"{ideas}?page=1"}
        elif path == "/g/ideas/ideas" and self.endless_ideas and page and page.isdigit():
            n = int(page)
            idea = {"id": f"{self.url}/post/{n + 100}", "type": "Page", "attributedTo": f"{self.url}/u/mallory",
                    "name": f"Endless idea {n}", "content": "One more."}
            doc = {"id": f"{ideas}?page={n}", "type": "OrderedCollectionPage", "orderedItems": [idea],
                   "next": f"{ideas}?page={n + 1}"}
        elif path == "/g/ideas/ideas" and page == "1":
            idea = {"id": self.idea, "type": "Page", "attributedTo": f"{self.url}/u/mallory",
                    "name": "An idea with endless replies", "content": "Read them all.",
                    "replies": {"id": self.replies, "type": "OrderedCollection", "totalItems": 10 ** 9,
                                "first": f"{self.replies}?page=1"}}
            doc = {"id": f"{ideas}?page=1", "type": "OrderedCollectionPage", "totalItems": 1,
                   "orderedItems": [idea]}
        elif path == "/post/1/replies" and page is None:
            doc = {"id": self.replies, "type": "OrderedCollection", "totalItems": 10 ** 9,
                   "first": f"{self.replies}?page=1"}
        elif path == "/post/1/replies" and page and page.isdigit():
            n = int(page)
            if self.fail_from is not None and n >= self.fail_from:
                return 500, b"down"
            if n == self.huge_at:
                return 200, json.dumps({**self.reply_page(n), "padding": "y" * (2 * 1024 * 1024)}).encode()
            doc = self.reply_page(n)
        else:
            return 404, b"not found"
        return 200, json.dumps(doc).encode()

    def __call__(self, environ, start_response):
        from werkzeug.wrappers import Request, Response

        request = Request(environ)
        self.served.append(request.full_path.rstrip("?"))
        status, body = self.document(request.path, request.args.get("page"))
        return Response(body, status=status, headers=self.AP)(environ, start_response)

    def reply_pages_served(self) -> int:
        return sum(1 for p in self.served if p.startswith("/post/1/replies?page="))


def _hostile(instance, peer, **behaviour):
    """Our instance B (bounds from `behaviour`'s `config`) allied with a hostile peer; its job queued."""
    from coopol.core.uow import unit_of_work
    from coopol.federation.content import backfill as backfill_module

    config = behaviour.pop("config", {})
    b = Party(instance("b", **config))
    remote = peer()
    hostile = HostileAlly(remote.url, **behaviour)
    remote.served.app = hostile
    remote.ally_of(b.live, name="Hostile")

    def queue():
        with unit_of_work():
            backfill_module.queue_backfill(remote.host)

    b.query(queue)
    return b, remote, hostile


def _copied_replies(b: Party) -> list[str]:
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.ideas.models import Comment

    return b.query(lambda: list(db.session.scalars(select(Comment.body).order_by(Comment.id))))


def test_an_endless_replies_collection_is_cut_at_the_page_bound_and_the_job_says_so(instance, peer):
    import json

    from coopol.federation.content import backfill as backfill_module

    b, remote, hostile = _hostile(instance, peer, config={"FEDERATION_BACKFILL_MAX_PAGES": 12})
    assert b.query(backfill_module.run_backfill_step) == 1
    job = _job(b, remote.host)
    assert job.state == "done", (job.state, job.error)
    assert hostile.reply_pages_served() == 11  # the collection and 11 pages: 12 documents, not 200
    assert _copied_replies(b) == [f"Reply number {n}" for n in range(1, 12)]
    assert (job.stored, job.comments, job.truncated) == (1, 11, 1)
    assert hostile.replies in job.truncation and "more than 12 pages" in job.truncation

    listed = {row["host"]: row for row in json.loads(b.live.cli("allies", "list", "--json").output)}
    assert listed[remote.host]["backfill"]["truncated"] == 1
    assert "more than 12 pages" in listed[remote.host]["backfill"]["truncation"]
    assert "1 collection(s) truncated" in b.live.cli("allies", "list").output
    b.member("boss", role="admin")
    client = b.app.test_client()
    client.post("/login", data={"login": "boss", "password": "correct horse 12"})
    assert "backfill-truncated" in client.get("/admin/allies").text

    # the item bound cuts it too, and the inline CLI backfill obeys the same bounds
    b.app.config.update(FEDERATION_BACKFILL_MAX_PAGES=1000, FEDERATION_BACKFILL_MAX_ITEMS=5)
    hostile.served.clear()
    result = b.live.cli("allies", "backfill", remote.host)
    assert "0 comment(s)" in result.output and hostile.reply_pages_served() == 5  # all five already here


def test_pages_are_stored_as_they_come_so_a_failure_midway_keeps_them_and_the_job_resumes(instance, peer):
    from coopol.core.time import utcnow
    from coopol.federation.content import backfill as backfill_module

    b, remote, hostile = _hostile(instance, peer, last=8, fail_from=6)
    assert b.query(backfill_module.run_backfill_step) == 1
    job = _job(b, remote.host)
    assert job.state == "queued" and "answered 500" in job.error and job.attempts == 1
    assert _copied_replies(b) == [f"Reply number {n}" for n in range(1, 6)]  # stored before the failure
    assert job.comments == 5

    hostile.fail_from = None  # the ally is back: the job reads that page of ideas again
    _update_job(b, remote.host, next_attempt_at=utcnow())
    assert b.query(backfill_module.run_backfill_step) == 1
    job = _job(b, remote.host)
    assert job.state == "done" and job.error == "" and job.truncated == 0
    assert _copied_replies(b) == [f"Reply number {n}" for n in range(1, 9)]  # nothing twice
    assert (job.seen, job.stored, job.comments) == (1, 1, 8)


def test_huge_pages_are_read_one_at_a_time_within_a_byte_budget(instance, peer):
    import tracemalloc

    from coopol.federation.content import backfill as backfill_module

    def peak_of(pages: int) -> int:
        b, remote, _ = _hostile(instance, peer, last=pages, padding=700 * 1024,
                                config={"FEDERATION_BACKFILL_MAX_BYTES": 64 * 1024 * 1024})
        tracemalloc.start()
        try:
            assert b.query(backfill_module.run_backfill_step) == 1
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        job = _job(b, remote.host)
        assert job.state == "done" and job.truncated == 0 and job.comments == pages
        return peak

    few, many = peak_of(6), peak_of(30)  # 4 MB and 21 MB of pages
    print(f"tracemalloc peak: {few} bytes for 6 pages, {many} for 30")
    assert many < few + 4 * 1024 * 1024, (few, many)  # flat: one page held at a time, not all of them

    # a byte budget of 3 MiB per collection: four pages of 700 KiB, then the fifth is refused midway
    b2, remote2, hostile2 = _hostile(instance, peer, last=30, padding=700 * 1024,
                                     config={"FEDERATION_BACKFILL_MAX_BYTES": 3 * 1024 * 1024})
    assert b2.query(backfill_module.run_backfill_step) == 1
    job = _job(b2, remote2.host)
    assert job.state == "done" and job.truncated == 1 and "bytes" in job.truncation
    assert len(_copied_replies(b2)) == 4 and hostile2.reply_pages_served() == 5


def test_a_looping_collection_and_an_oversized_page_are_cut_short_not_fatal(instance, peer):
    from coopol.federation.content import backfill as backfill_module

    b, remote, hostile = _hostile(instance, peer, loop_at=3)  # page 3's next is page 1
    assert b.query(backfill_module.run_backfill_step) == 1
    job = _job(b, remote.host)
    assert job.state == "done" and job.truncated == 1 and "loop back" in job.truncation
    assert _copied_replies(b) == ["Reply number 1", "Reply number 2", "Reply number 3"]
    assert hostile.reply_pages_served() == 3

    b2, remote2, hostile2 = _hostile(instance, peer, huge_at=3)  # page 3 is 2 MiB: over the 1 MiB cap
    assert b2.query(backfill_module.run_backfill_step) == 1
    job = _job(b2, remote2.host)
    assert job.state == "done" and job.error == "" and job.truncated == 1
    assert f"{hostile2.replies}?page=3 is larger than" in job.truncation
    assert _copied_replies(b2) == ["Reply number 1", "Reply number 2"] and hostile2.reply_pages_served() == 3


def test_an_endless_collection_of_ideas_is_cut_at_the_page_bound_across_the_jobs_turns(instance, peer):
    from coopol.federation.content import backfill as backfill_module

    b, remote, hostile = _hostile(instance, peer, endless_ideas=True, config={"FEDERATION_BACKFILL_MAX_PAGES": 5})
    for _ in range(20):
        if _job(b, remote.host).state == "done":
            break
        b.query(backfill_module.run_backfill_step)
    job = _job(b, remote.host)
    assert job.state == "done" and job.error == "" and (job.pages, job.seen, job.stored) == (5, 4, 4)
    assert job.truncated == 1 and "more than 5 pages" in job.truncation
    assert sum(1 for p in hostile.served if p.startswith("/g/ideas/ideas")) == 5
