"""Threaded comments with a stance: bounded depth, edits with versions kept, soft delete."""


def post(client, idea_id, headers, body, stance="neutral", parent_id=None):
    r = client.post(f"/api/v1/ideas/{idea_id}/comments", json={"body": body, "stance": stance, "parent_id": parent_id},
                    headers=headers)
    assert r.status_code == 201, r.json
    return r.json


def test_threads_come_in_tree_order(client, member, create_idea):
    alice, bob = member("alice"), member("bob")
    idea_id = create_idea("alice")
    first = post(client, idea_id, bob, "First", "for")
    second = post(client, idea_id, alice, "Second", "against")
    reply = post(client, idea_id, alice, "Reply to first", "against", first["id"])
    nested = post(client, idea_id, bob, "Reply to the reply", "for", reply["id"])
    items = client.get(f"/api/v1/ideas/{idea_id}/comments").json["items"]
    assert [(c["body"], c["depth"]) for c in items] == [
        ("First", 0), ("Reply to first", 1), ("Reply to the reply", 2), ("Second", 0)]
    assert [c["stance"] for c in items] == ["for", "against", "for", "against"]
    assert nested["parent_id"] == reply["id"]
    assert second["author"]["handle"] == "alice"
    assert client.get(f"/api/v1/ideas/{idea_id}").json["comment_count"] == 4


def test_comment_pages_are_threads(client, member, create_idea):
    alice = member("alice")
    idea_id = create_idea("alice")
    roots = [post(client, idea_id, alice, f"Root {n}") for n in range(3)]
    post(client, idea_id, alice, "Child of root 0", parent_id=roots[0]["id"])
    page = client.get(f"/api/v1/ideas/{idea_id}/comments?limit=2").json
    assert [c["body"] for c in page["items"]] == ["Root 0", "Child of root 0", "Root 1"]
    page = client.get(f"/api/v1/ideas/{idea_id}/comments?limit=2&cursor={page['next_cursor']}").json
    assert [c["body"] for c in page["items"]] == ["Root 2"] and page["next_cursor"] is None


def test_replies_below_the_depth_limit_attach_to_the_deepest_allowed_parent(make_app, create_member, token_for):
    app = make_app("shallow", COMMENT_MAX_DEPTH=3)
    client = app.test_client()
    create_member("alice", target_app=app)
    alice = token_for("alice", target_app=app)
    idea_id = client.post("/api/v1/ideas", json={"title": "Deep debate", "body": "x"}, headers=alice).json["id"]
    parent = None
    for n in range(5):
        comment = post(client, idea_id, alice, f"Level {n}", parent_id=parent)
        parent = comment["id"]
    depths = [(c["body"], c["depth"]) for c in client.get(f"/api/v1/ideas/{idea_id}/comments").json["items"]]
    assert depths == [("Level 0", 0), ("Level 1", 1), ("Level 2", 2), ("Level 3", 2), ("Level 4", 2)]


def test_edit_keeps_versions_and_marks_edited(app, client, member, create_idea):
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.ideas.models import CommentRevision

    member("alice")
    bob, carol = member("bob"), member("carol")
    idea_id = create_idea("alice")
    comment = post(client, idea_id, bob, "Version one", "for")
    assert client.patch(f"/api/v1/comments/{comment['id']}", json={"body": "Hijack"}, headers=carol).status_code == 403
    r = client.patch(f"/api/v1/comments/{comment['id']}", json={"body": "Version two", "stance": "neutral"},
                     headers=bob)
    assert r.status_code == 200 and r.json["edited"] is True
    assert (r.json["body"], r.json["stance"]) == ("Version two", "neutral")
    with app.app_context():
        versions = db.session.scalars(select(CommentRevision.body).where(CommentRevision.comment_id == comment["id"]))
        assert list(versions) == ["Version one"]
    assert client.patch(f"/api/v1/comments/{comment['id']}", json={"body": ""}, headers=bob).status_code == 422


def test_soft_delete_keeps_the_thread(client, member, create_idea):
    member("alice")
    bob, carol = member("bob"), member("carol")
    idea_id = create_idea("alice")
    parent = post(client, idea_id, bob, "Soon gone")
    post(client, idea_id, carol, "A reply that stays", parent_id=parent["id"])
    assert client.delete(f"/api/v1/comments/{parent['id']}", headers=carol).status_code == 403
    r = client.delete(f"/api/v1/comments/{parent['id']}", headers=bob)
    assert r.status_code == 200 and r.json["deleted"] is True and r.json["body"] == ""
    assert client.delete(f"/api/v1/comments/{parent['id']}", headers=bob).status_code == 409
    items = client.get(f"/api/v1/ideas/{idea_id}/comments").json["items"]
    assert [(c["deleted"], c["body"]) for c in items] == [(True, ""), (False, "A reply that stays")]
    assert client.get(f"/api/v1/ideas/{idea_id}").json["comment_count"] == 1
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert "This comment was deleted." in page and "Soon gone" not in page
    r = client.post(f"/api/v1/ideas/{idea_id}/comments", json={"body": "x", "parent_id": parent["id"]}, headers=carol)
    assert r.status_code == 422 and "parent_id" in r.json["errors"]


def test_parent_must_belong_to_the_idea(client, member, create_idea):
    alice = member("alice")
    one, two = create_idea("alice"), create_idea("alice")
    comment = post(client, one, alice, "On idea one")
    r = client.post(f"/api/v1/ideas/{two}/comments", json={"body": "x", "parent_id": comment["id"]}, headers=alice)
    assert r.status_code == 422 and "parent_id" in r.json["errors"]


def test_for_and_against_side_by_side(client, member, create_idea):
    alice, bob = member("alice"), member("bob")
    idea_id = create_idea("alice")
    post(client, idea_id, alice, "Cheaper for everyone", "for")
    post(client, idea_id, bob, "Too expensive", "against")
    post(client, idea_id, bob, "Just a question", "neutral")
    page = client.get(f"/ideas/{idea_id}?view=sides").get_data(as_text=True)
    for_column = page[page.index('data-testid="side-for"'):page.index('data-testid="side-against"')]
    against_column = page[page.index('data-testid="side-against"'):]
    assert "Cheaper for everyone" in for_column and "Too expensive" not in for_column
    assert "Too expensive" in against_column and "Cheaper for everyone" not in against_column
    assert "Just a question" not in page[page.index('data-testid="side-for"'):]
