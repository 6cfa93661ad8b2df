"""Support | oppose votes: one per person per idea, changeable, withdrawable; tallies equal the rows."""

def test_cast_change_and_withdraw(app, client, tally_matches_rows, member, create_idea):
    member("alice")
    bob, carol = member("bob"), member("carol")
    idea_id = create_idea("alice")
    r = client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=bob)
    assert r.status_code == 200
    assert (r.json["support"], r.json["oppose"], r.json["my_vote"]) == (1, 0, "support")
    assert r.json["by_instance"] == {"local.coopol.test": {"support": 1, "oppose": 0}}
    # The same vote again changes nothing.
    r = client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=bob)
    assert (r.json["support"], r.json["oppose"]) == (1, 0)
    client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "oppose"}, headers=carol)
    r = client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "oppose"}, headers=bob)
    assert (r.json["support"], r.json["oppose"], r.json["my_vote"]) == (0, 2, "oppose")
    assert tally_matches_rows(app, idea_id)["oppose"] == 2
    r = client.delete(f"/api/v1/ideas/{idea_id}/vote", headers=bob)
    assert r.status_code == 200 and (r.json["support"], r.json["oppose"], r.json["my_vote"]) == (0, 1, None)
    # Withdrawing without a vote is harmless.
    assert client.delete(f"/api/v1/ideas/{idea_id}/vote", headers=bob).json["oppose"] == 1
    assert tally_matches_rows(app, idea_id) == {"support": 0, "oppose": 1,
                                                "by_instance": {"local.coopol.test": {"support": 0, "oppose": 1}}}
    idea = client.get(f"/api/v1/ideas/{idea_id}", headers=carol).json
    assert idea["my_vote"] == "oppose" and idea["tally"]["oppose"] == 1


def test_remote_votes_are_tallied_by_instance(app, client, tally_matches_rows, member, create_idea):
    """A remote person is a member with a host: one vote each, counted under their instance."""
    from coopol.accounts.models import Member
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.ideas.services import cast_vote, get_idea

    member("alice")
    bob = member("bob")
    idea_id = create_idea("alice")
    client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=bob)
    with app.test_request_context(), unit_of_work():
        for n, value in enumerate(["support", "oppose", "support"]):
            remote = Member(handle=f"r{n}@ally.example", host="ally.example", ap_id=f"https://ally.example/u/r{n}",
                            session_token="x")
            db.session.add(remote)
            db.session.flush()
            cast_vote(remote, get_idea(idea_id), value)
    tally = client.get(f"/api/v1/ideas/{idea_id}").json["tally"]
    assert tally["by_instance"] == {"ally.example": {"support": 2, "oppose": 1},
                                    "local.coopol.test": {"support": 1, "oppose": 0}}
    assert (tally["support"], tally["oppose"]) == (3, 1)
    tally_matches_rows(app, idea_id)
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert "ally.example" in page


def test_tallies_can_be_hidden_while_open(make_app, create_member, token_for):
    app = make_app("hidden", HIDE_TALLIES_WHILE_OPEN=True, SUPPORT_THRESHOLD=1)
    client = app.test_client()
    create_member("alice", target_app=app)
    create_member("mod", role="moderator", target_app=app)
    alice, mod = token_for("alice", target_app=app), token_for("mod", target_app=app)
    idea_id = client.post("/api/v1/ideas", json={"title": "Secret ballot", "body": "x"}, headers=alice).json["id"]
    r = client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=alice)
    assert r.json["hidden"] is True and r.json["support"] is None and r.json["my_vote"] == "support"
    listed = client.get("/api/v1/ideas").json["items"][0]
    assert listed["tally"]["support"] is None and listed["reached_threshold"] is None
    assert "Counts hidden" in client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    client.post(f"/api/v1/ideas/{idea_id}/answer", json={"state": "evaluating"}, headers=mod)
    shown = client.get(f"/api/v1/ideas/{idea_id}").json
    assert shown["tally"]["support"] == 1 and shown["reached_threshold"] is True


def test_support_threshold(make_app, create_member, token_for):
    app = make_app("threshold", SUPPORT_THRESHOLD=2)
    client = app.test_client()
    for handle in ("alice", "bob", "carol"):
        create_member(handle, target_app=app)
    alice = token_for("alice", target_app=app)
    idea_id = client.post("/api/v1/ideas", json={"title": "Popular idea", "body": "x"}, headers=alice).json["id"]
    client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=alice)
    assert client.get(f"/api/v1/ideas/{idea_id}").json["reached_threshold"] is False
    client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=token_for("bob", target_app=app))
    assert client.get(f"/api/v1/ideas/{idea_id}").json["reached_threshold"] is True
    assert "Reached the threshold" in client.get("/ideas").get_data(as_text=True)


def test_locked_idea_refuses_votes_and_comments(app, client, member, create_idea, count_rows):
    from coopol.core.time import utcnow
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.ideas.models import Idea

    member("alice")
    bob = member("bob")
    idea_id = create_idea("alice")
    with app.app_context(), unit_of_work():
        db.session.get(Idea, idea_id).locked_at = utcnow()
    before = count_rows()
    assert client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=bob).status_code == 409
    r = client.post(f"/api/v1/ideas/{idea_id}/comments", json={"body": "hello"}, headers=bob)
    assert r.status_code == 409 and "locked" in r.json["message"]
    assert count_rows() == before
    assert client.get(f"/api/v1/ideas/{idea_id}").json["locked"] is True


def test_comment_votes_toggle(client, member, create_idea):
    member("alice")
    bob, carol = member("bob"), member("carol")
    idea_id = create_idea("alice")
    comment_id = client.post(f"/api/v1/ideas/{idea_id}/comments", json={"body": "Good"}, headers=bob).json["id"]
    r = client.put(f"/api/v1/comments/{comment_id}/vote", json={"value": "up"}, headers=carol)
    assert (r.json["up"], r.json["down"], r.json["my_vote"]) == (1, 0, "up")
    r = client.put(f"/api/v1/comments/{comment_id}/vote", json={"value": "down"}, headers=carol)
    assert (r.json["up"], r.json["down"], r.json["my_vote"]) == (0, 1, "down")
    r = client.put(f"/api/v1/comments/{comment_id}/vote", json={"value": "down"}, headers=carol)
    assert (r.json["up"], r.json["down"], r.json["my_vote"]) == (0, 0, None)
    client.put(f"/api/v1/comments/{comment_id}/vote", json={"value": "up"}, headers=carol)
    r = client.delete(f"/api/v1/comments/{comment_id}/vote", headers=carol)
    assert (r.json["up"], r.json["my_vote"]) == (0, None)
    assert client.put(f"/api/v1/comments/{comment_id}/vote", json={"value": "meh"}, headers=carol).status_code == 422
