def test_export_contains_ideas_comments_and_votes(client, member, create_idea):
    alice, bob = member("alice"), member("bob")
    idea_id = create_idea("bob", title="Bob's idea")
    mine = create_idea("alice", title="Alice's idea", tags=["mine"])
    client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "oppose"}, headers=alice)
    comment = client.post(f"/api/v1/ideas/{idea_id}/comments", json={"body": "Not sure", "stance": "against"},
                          headers=alice).json
    client.put(f"/api/v1/comments/{comment['id']}/vote", json={"value": "up"}, headers=alice)
    data = client.get("/api/v1/me/export", headers=alice).json
    assert [(i["id"], i["title"], i["tags"]) for i in data["ideas"]] == [(mine, "Alice's idea", ["mine"])]
    assert [(c["idea_id"], c["body"], c["stance"]) for c in data["comments"]] == [(idea_id, "Not sure", "against")]
    assert [(v["idea_id"], v["value"]) for v in data["votes"]["ideas"]] == [(idea_id, "oppose")]
    assert [(v["comment_id"], v["value"]) for v in data["votes"]["comments"]] == [(comment["id"], "up")]
    del bob


def test_erasure_keeps_content_as_by_a_deleted_member_and_drops_drafts(app, client, member, create_idea):
    from sqlalchemy import func, select

    from coopol.extensions import db
    from coopol.ideas.models import Idea

    alice, bob = member("alice"), member("bob")
    idea_id = create_idea("alice", title="Lasting idea")
    create_idea("alice", title="Private draft", publish=False)
    client.post(f"/api/v1/ideas/{idea_id}/comments", json={"body": "My own comment"}, headers=alice)
    client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=alice)
    assert client.delete("/api/v1/me", headers=alice).status_code == 204

    idea = client.get(f"/api/v1/ideas/{idea_id}", headers=bob).json
    assert idea["title"] == "Lasting idea" and idea["tally"]["support"] == 1
    assert idea["author"] == {"handle": None, "name": "deleted member", "instance": "local.coopol.test"}
    comment = client.get(f"/api/v1/ideas/{idea_id}/comments").json["items"][0]
    assert comment["author"]["name"] == "deleted member" and comment["body"] == "My own comment"
    assert "deleted member" in client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Idea)) == 1
