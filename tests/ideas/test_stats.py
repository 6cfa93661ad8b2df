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
    assert (this_month["ideas"], this_month["comments"], this_month["votes"], this_month["members"]) == (1, 1, 2, 3)
    # Everything happened this month: the series add up to the totals, kind by kind.
    for kind in ("members", "ideas", "comments", "votes"):
        assert sum(month[kind] for month in stats["over_time"]) == stats[kind]["total"], kind

    page = client.get("/stats")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and "<polyline" in html and "<script" not in html
    assert 'data-testid="stats-party-ally.example"' in html


def test_stats_and_tallies_name_the_allies_parties(app, client, member, create_idea):
    from coopol.accounts.models import Member
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.federation.models import Ally
    from coopol.ideas.comments import post_comment
    from coopol.ideas.services import cast_vote, get_idea

    member("alice")
    idea_id = create_idea("alice")
    with app.test_request_context(), unit_of_work():
        db.session.add(Ally(host="ally.example", base_url="https://ally.example", group_id="https://ally.example/g",
                            group_inbox="https://ally.example/g/inbox", name="Les Verts Unis", outgoing="accepted",
                            incoming="accepted", consecutive_failures=0, last_error=""))
        remote = Member(handle="zoe@ally.example", host="ally.example", session_token="x", display_name="Zoé")
        stranger = Member(handle="max@far.example", host="far.example", session_token="y")
        db.session.add_all([remote, stranger])
        db.session.flush()
        cast_vote(remote, get_idea(idea_id), "oppose")
        cast_vote(stranger, get_idea(idea_id), "support")
        post_comment(remote, get_idea(idea_id), body="Bonjour", stance="against")

    stats = client.get("/api/v1/stats").json
    assert stats["parties"] == {"ally.example": "Les Verts Unis", "far.example": "far.example",
                                "local.coopol.test": "Coopol local"}
    tally = client.get(f"/api/v1/ideas/{idea_id}").json["tally"]
    assert tally["by_instance"]["ally.example"] == {"support": 0, "oppose": 1}  # the host keys stay
    assert tally["parties"] == {"ally.example": "Les Verts Unis", "far.example": "far.example"}
    html = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert "Les Verts Unis" in html.split('class="by-instance"')[1].split("</table>")[0]  # the tally's table
    assert "(Les Verts Unis)" in html.split('id="debate-heading"')[1]  # the ally's comment
    assert "Les Verts Unis" in client.get("/stats").get_data(as_text=True)


def test_the_chart_shows_its_first_and_last_month_labels_whole():
    from coopol.ideas.stats import chart

    over_time = [{"month": f"2026-{m:02d}", "ideas": m, "comments": 0, "votes": 0} for m in range(1, 13)]
    drawn = chart(over_time)
    half_label = 5 * 10 * 0.6 / 2  # five characters at font-size 10, about 0.6 em wide each
    assert drawn["labels"][0]["x"] - half_label >= 0
    assert drawn["labels"][-1]["x"] + half_label <= drawn["width"]
    assert drawn["labels"][-1]["text"] == "26-12"
