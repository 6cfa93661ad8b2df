"""A vote reads outside the write transaction and writes in a short one: the token, the idea and the checks
come first (on SQLite in a plain BEGIN, which does not queue behind the writers), then a few statements
under the lock. What may change in between (the idea closing) is checked again under the lock."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

WRITES = ("INSERT", "UPDATE", "DELETE")


def _transactions(app: Any, send) -> tuple[Any, list[list[str]]]:
    """Runs `send()`; returns its result and the statements of the app's engine grouped by transaction."""
    from coopol.extensions import db

    groups: list[list[str]] = [[]]

    def statement(_conn, _cursor, sql, *_args):
        if sql.strip().upper().startswith("BEGIN"):  # SQLite's BEGIN [IMMEDIATE], sent by our begin hook
            return
        groups[-1].append(sql)

    def boundary(*_args):
        if groups[-1]:
            groups.append([])

    with app.app_context():
        engine = db.engine
    listeners = [("before_cursor_execute", statement), ("commit", boundary), ("rollback", boundary)]
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        result = send()
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)
    return result, [g for g in groups if g]


def _writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith(WRITES)]


def test_a_vote_checks_in_one_transaction_and_writes_in_a_short_other(app, client, member, create_idea):
    member("alice")
    bob = member("bob")
    first, idea_id = create_idea("alice"), create_idea("alice")
    client.put(f"/api/v1/ideas/{first}/vote", json={"value": "support"}, headers=bob)  # the token's use recorded

    response, transactions = _transactions(
        app, lambda: client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "oppose"}, headers=bob))

    assert response.status_code == 200 and response.json["oppose"] == 1
    writing = [t for t in transactions if _writes(t)]
    assert len(writing) == 1, transactions
    write = writing[0]
    # Authentication, loading and checks: all before, in a transaction that wrote nothing.
    before = transactions[:transactions.index(write)]
    assert any("FROM ideas" in s for t in before for s in t), transactions
    assert not any("api_tokens" in s or "FROM members" in s for s in write), write
    # The write: lock the idea and read the vote (PostgreSQL: two statements), the vote row, counters and
    # rankings, tally, the vote's activity queued, the tally for the answer.
    assert "FROM ideas" in write[0], write
    statements = [s for s in write if not s.startswith("NOTIFY")]  # PostgreSQL: wakes the worker at commit
    assert len(statements) <= 7, "\n".join(s[:60] for s in write)
    assert len([s for s in write if s.lstrip().upper().startswith("UPDATE IDEAS")]) == 1, write


def test_the_write_lock_is_taken_after_the_checks_on_sqlite(app, client, member, create_idea):
    """SQLite: BEGIN IMMEDIATE (the database's write lock) comes after every statement of the checks."""
    from sqlalchemy import event as sa_event

    from coopol.extensions import db

    if not _in_app(app):
        pytest.skip("BEGIN IMMEDIATE is SQLite's")
    member("alice")
    bob = member("bob")
    first, idea_id = create_idea("alice"), create_idea("alice")
    client.put(f"/api/v1/ideas/{first}/vote", json={"value": "support"}, headers=bob)
    seen: list[str] = []

    def record(_conn, _cursor, sql, *_args):
        seen.append(sql.strip())

    with app.app_context():
        engine = db.engine
    sa_event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=bob).status_code == 200
    finally:
        sa_event.remove(engine, "before_cursor_execute", record)
    immediate = [n for n, s in enumerate(seen) if s.upper() == "BEGIN IMMEDIATE"]
    assert len(immediate) == 1, seen
    checks, write = seen[:immediate[0]], seen[immediate[0] + 1:]
    assert any("FROM ideas" in s for s in checks), seen
    assert not _writes(checks), checks
    assert len(write) <= 6, write


def _in_app(app) -> bool:
    from coopol.extensions import db

    with app.app_context():
        return db.engine.dialect.name == "sqlite"


def test_an_idea_closed_between_the_checks_and_the_write_refuses_the_vote(app, client, member, create_idea,
                                                                          count_rows):
    from coopol.extensions import db
    from coopol.ideas.guards import add_action_check

    member("alice")
    bob = member("bob")
    idea_id = create_idea("alice")

    def close_meanwhile(_member, idea, action):
        if action == "vote" and idea.id == idea_id:  # another request withdraws the idea, and commits
            with db.engine.begin() as connection:
                connection.execute(text("UPDATE ideas SET state = 'withdrawn' WHERE id = :id"), {"id": idea_id})

    add_action_check(app, close_meanwhile)
    before = count_rows()
    response = client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=bob)
    assert response.status_code == 409, response.json
    assert count_rows() == before


def test_the_worker_signs_and_keeps_the_queued_vote(app, client, member, create_idea):
    """The vote's transaction queues its activity; the worker signs it, keeps the proof and empties the queue."""
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.federation.content.vote_queue import build_queued_votes
    from coopol.federation.models import QueuedVote, VoteProof
    from coopol.ideas.models import IdeaVote

    member("alice")
    bob = member("bob")
    idea_id = create_idea("alice")
    assert client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=bob).status_code == 200
    assert client.delete(f"/api/v1/ideas/{idea_id}/vote", headers=bob).status_code == 200
    assert client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "oppose"}, headers=bob).status_code == 200
    with app.app_context():
        queued = db.session.scalars(select(QueuedVote).order_by(QueuedVote.id)).all()
        assert [(q.kind, q.undone) for q in queued] == [("Like", None), ("Undo", "Like"), ("Dislike", None)]
        assert db.session.scalar(select(VoteProof)) is None  # nothing signed under the vote's lock
        voted_at = db.session.scalar(select(IdeaVote.created_at).where(IdeaVote.idea_id == idea_id))
        assert queued[-1].published_at == voted_at
        db.session.remove()
        assert build_queued_votes() == 3
        proof = db.session.scalar(select(VoteProof))
        assert proof.kind == "Dislike" and proof.activity["proof"]["type"] == "DataIntegrityProof"
        assert proof.activity["published"].startswith(voted_at.strftime("%Y-%m-%dT%H:%M:%S"))
        assert db.session.scalar(select(QueuedVote)) is None
        assert build_queued_votes() == 0
        db.session.remove()


def test_votes_the_worker_gave_up_on_are_shown_to_administrators(app, client, member, create_idea, monkeypatch):
    """A queued vote whose activity cannot be built is tried MAX_ATTEMPTS times, then kept with its error and
    shown on the allies panel, where it was invisible before; the other votes still wait there."""
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.federation.content import publish
    from coopol.federation.content.vote_queue import MAX_ATTEMPTS, build_queued_votes
    from coopol.federation.models import QueuedVote
    from tests.conftest import TEST_PASSWORD

    member("alice")
    member("boss", role="admin")
    bob = member("bob")
    first, second = create_idea("alice"), create_idea("alice")
    assert client.put(f"/api/v1/ideas/{first}/vote", json={"value": "support"}, headers=bob).status_code == 200

    def broken(*_args, **_kwargs):
        raise RuntimeError("the signing key cannot be read")

    monkeypatch.setattr(publish, "build_vote", broken)
    with app.app_context():
        for _ in range(MAX_ATTEMPTS + 2):  # the worker's rounds; past MAX_ATTEMPTS the row is skipped
            build_queued_votes()
        assert db.session.scalar(select(QueuedVote.attempts)) == MAX_ATTEMPTS
        db.session.remove()
    assert client.put(f"/api/v1/ideas/{second}/vote", json={"value": "oppose"}, headers=bob).status_code == 200

    assert client.post("/login", data={"login": "boss", "password": TEST_PASSWORD}).status_code == 302
    html = client.get("/admin/allies").text
    assert "1 of our members' votes waits for the worker to sign and send it." in html
    assert "1 vote could not be signed and sent: the worker gave up on it." in html
    assert "Last error: the signing key cannot be read" in html
