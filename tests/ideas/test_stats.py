def test_stats_by_instance_and_over_time(app, client, member, create_idea, tally_matches_rows):
    from coopol.accounts.models import Member
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.ideas.services import cast_vote, get_idea

    alice, bob = member("alice"), member("bob")
    idea_id = create_idea("alice")
    create_idea("alice", publish=False)  # drafts are not counted
    client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=bob)
    client.post(f"/api/v1/ideas/{idea_id}/comments", json={"body": "Yes"}, headers=alice)
    with app.test_request_context(), unit_of_work():
        remote = Member(handle="zoe@ally.example", host="ally.example", session_token="x")
        db.session.add(remote)
        db.session.flush()
        cast_vote(remote, get_idea(idea_id), "oppose")

    stats = client.get("/api/v1/stats").json
    assert stats["members"] == {"total": 3, "by_instance": {"ally.example": 1, "local.coopol.test": 2}}
    assert stats["ideas"] == {"total": 1, "by_instance": {"local.coopol.test": 1}}
    assert stats["comments"]["total"] == 1
    assert stats["votes"] == {"total": 2, "by_instance": {"ally.example": 1, "local.coopol.test": 1}}
    assert len(stats["over_time"]) == 12
    this_month = stats["over_time"][-1]
    assert (this_month["ideas"], this_month["comments"], this_month["votes"], this_month["members"]) == (1, 1, 2, 2)

    page = client.get("/stats")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and "<polyline" in html and "<script" not in html
    assert "ally.example: 1" in html
