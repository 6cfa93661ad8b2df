"""Edits: free until someone else votes or comments, then every version is kept and shown."""


def test_free_edits_before_anyone_else_takes_part(client, member, create_idea):
    alice = member("alice")
    idea_id = create_idea("alice", title="First title")
    client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=alice)  # own vote
    r = client.patch(f"/api/v1/ideas/{idea_id}", json={"title": "Better title"}, headers=alice)
    assert r.status_code == 200 and r.json["edited"] is False
    assert client.get(f"/api/v1/ideas/{idea_id}/revisions").json["items"] == []


def test_edits_after_a_vote_are_kept_and_shown(client, member, create_idea):
    alice, bob = member("alice"), member("bob")
    idea_id = create_idea("alice", title="Free buses", body="Line one\nLine two", tags=["transport"])
    client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=bob)
    r = client.patch(f"/api/v1/ideas/{idea_id}", json={"body": "Line one\nLine 2, rewritten", "tags": ["bus"]},
                     headers=alice)
    assert r.status_code == 200 and r.json["edited"] is True and r.json["tags"] == ["bus"]
    client.patch(f"/api/v1/ideas/{idea_id}", json={"title": "Free buses at night"}, headers=alice)
    revisions = client.get(f"/api/v1/ideas/{idea_id}/revisions").json["items"]
    assert [(r["number"], r["title"]) for r in revisions] == [
        (1, "Free buses"), (2, "Free buses"), (3, "Free buses at night")]
    assert revisions[0]["body"] == "Line one\nLine two" and revisions[0]["tags"] == ["transport"]
    assert revisions[2]["editor"]["handle"] == "alice"
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert 'data-testid="edited"' in page
    history = client.get(f"/ideas/{idea_id}/revisions").get_data(as_text=True)
    assert '<span class="diff-removed">- Line two</span>' in history
    assert '<span class="diff-added">+ Line 2, rewritten</span>' in history
    assert "<del>Free buses</del> → <ins>Free buses at night</ins>" in history


def test_an_unchanged_edit_records_nothing(client, member, create_idea):
    alice, bob = member("alice"), member("bob")
    idea_id = create_idea("alice", title="Same title")
    client.post(f"/api/v1/ideas/{idea_id}/comments", json={"body": "Nice"}, headers=bob)
    r = client.patch(f"/api/v1/ideas/{idea_id}", json={"title": "Same title"}, headers=alice)
    assert r.json["edited"] is False
    assert client.get(f"/api/v1/ideas/{idea_id}/revisions").json["items"] == []


def test_decided_ideas_cannot_be_edited(client, member, create_idea):
    alice, mod = member("alice"), member("mod", role="moderator")
    idea_id = create_idea("alice")
    client.post(f"/api/v1/ideas/{idea_id}/answer", json={"state": "evaluating"}, headers=mod)
    r = client.patch(f"/api/v1/ideas/{idea_id}", json={"title": "Too late"}, headers=alice)
    assert r.status_code == 409
