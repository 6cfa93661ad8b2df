"""Following members, ideas, groups, tags and scopes; the home feed; profiles; export and erasure."""

from __future__ import annotations

from sqlalchemy import event, func, select

from coopol.extensions import db
from coopol.notifications.models import Follow, Notification


def feed(client, headers, **query):
    return client.get("/api/v1/feed", headers=headers, query_string=query).json


def test_following_a_member_counts_notifies_and_undoes(client, people):
    assert client.put("/api/v1/members/bea/follow", headers=people["ana"]).json == {"following": True,
                                                                                   "state": "active"}
    assert client.put("/api/v1/members/bea/follow", headers=people["ana"]).status_code == 200  # idempotent
    client.put("/api/v1/members/bea/follow", headers=people["carl"])
    profile = client.get("/api/v1/members/bea").json
    assert profile["follower_count"] == 2 and profile["following_count"] == 0
    assert client.get("/api/v1/members/ana").json["following_count"] == 1
    items = client.get("/api/v1/notifications", headers=people["bea"]).json["items"]
    assert [(n["kind"], n["count"]) for n in items] == [("follower", 2)]
    assert client.get("/api/v1/me/following", headers=people["ana"]).json["members"] == [
        {"handle": "bea", "state": "active"}]
    assert client.delete("/api/v1/members/bea/follow", headers=people["ana"]).json["following"] is False
    assert client.delete("/api/v1/members/bea/follow", headers=people["ana"]).status_code == 200
    assert client.get("/api/v1/members/bea").json["follower_count"] == 1


def test_bad_follows_name_the_field_and_write_nothing(app, client, people):
    cases = [("/api/v1/members/ana/follow", 422, "handle"), ("/api/v1/members/ghost/follow", 404, "handle"),
             ("/api/v1/members/bob@stranger.example/follow", 422, "handle"),
             ("/api/v1/tags/no%20such!/follow", 422, "tag"), ("/api/v1/scopes/atlantis/follow", 404, "scope"),
             ("/api/v1/ideas/999999/follow", 404, None), ("/api/v1/groups/no-such-group/follow", 404, None)]
    for path, status, field in cases:
        response = client.put(path, headers=people["ana"])
        assert response.status_code == status, (path, response.json)
        assert set(response.json) >= {"code", "status", "message", "errors"}
        if field:
            assert field in response.json["errors"], (path, response.json)
    assert client.put("/api/v1/members/bea/follow").status_code == 401
    with app.app_context():
        assert db.session.scalar(select(func.count(Follow.id))) == 0
        assert db.session.scalar(select(func.count(Notification.id))) == 0


def test_the_feed_shows_what_i_follow_newest_first_in_pages(app, client, people, create_idea, create_comment):
    client.put("/api/v1/members/bea/follow", headers=people["ana"])
    client.put("/api/v1/tags/trains/follow", headers=people["ana"])
    client.put("/api/v1/scopes/fr/follow", headers=people["ana"])
    by_bea = create_idea("bea", "Bea's idea")
    tagged = create_idea("carl", "Tagged", tags=["trains"])
    in_paris = create_idea("dora", "In Paris", scope="fr-paris")
    create_idea("eli", "Unrelated", scope="es")
    comment = create_comment("eli", by_bea, "Eli on Bea's idea")  # not followed: eli, nor the idea
    client.put(f"/api/v1/ideas/{by_bea}/follow", headers=people["ana"])
    on_followed = create_comment("eli", by_bea, "Now followed")
    create_idea("ana", "My own", tags=["trains"])  # one's own doing is not in one's feed
    pages, cursor = [], None
    while True:
        page = feed(client, people["ana"], limit=2, **({"cursor": cursor} if cursor else {}))
        pages.append([(i["kind"], i["object"]["id"]) for i in page["items"]])
        cursor = page["next_cursor"]
        if not cursor:
            break
    # Following an idea shows its earlier comments too; the unrelated idea and my own never show.
    assert pages == [[("comment", on_followed), ("comment", comment)], [("idea", in_paris), ("idea", tagged)],
                     [("idea", by_bea)]]
    first = feed(client, people["ana"], limit=3)["items"]
    assert first[2]["actor"]["handle"] == "dora" and first[2]["object"]["url"].endswith(f"/ideas/{in_paris}")
    assert client.get("/api/v1/feed").status_code == 401
    assert client.get("/api/v1/feed?limit=0", headers=people["ana"]).status_code == 422


def test_a_feed_page_is_a_fixed_number_of_queries(app, client, people, create_idea, create_comment):
    client.put("/api/v1/members/bea/follow", headers=people["ana"])

    def queries_for_page() -> int:
        statements: list[str] = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert client.get("/api/v1/feed?limit=50", headers=people["ana"]).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    idea = create_idea("bea")
    create_comment("bea", idea)
    few = queries_for_page()
    for n in range(6):
        create_comment("bea", create_idea("bea", f"Idea {n}"))
    assert queries_for_page() == few


def test_hidden_ideas_leave_the_feed(client, people, create_idea):
    client.put("/api/v1/members/bea/follow", headers=people["ana"])
    idea_id = create_idea("bea", "Soon hidden")
    assert len(feed(client, people["ana"])["items"]) == 1
    hidden = client.post("/api/v1/moderation/actions", headers=people["modmo"], json={
        "action": "hide", "target_type": "idea", "target_id": idea_id, "reason": "Off topic."})
    assert hidden.status_code == 201
    assert feed(client, people["ana"])["items"] == []


def test_group_membership_implies_following(client, people, create_idea):
    group = client.post("/api/v1/groups", json={"name": "Rail users", "description": "We ride.",
                                                "kind": "thematic", "joining": "open"}, headers=people["bea"])
    slug = group.json["slug"]
    assert client.post(f"/api/v1/groups/{slug}/join", headers=people["ana"]).status_code in (200, 201)
    assert client.get("/api/v1/me/following", headers=people["ana"]).json["groups"] == [slug]
    assert client.get("/api/v1/me/following", headers=people["bea"]).json["groups"] == []  # creator: no event
    client.delete(f"/api/v1/groups/{slug}/membership", headers=people["ana"])
    assert client.get("/api/v1/me/following", headers=people["ana"]).json["groups"] == []
    assert client.put(f"/api/v1/groups/{slug}/follow", headers=people["carl"]).json["following"] is True


def test_landing_and_profile_pages(client, people, auth, create_idea):
    first = create_idea("bea", "Before I followed")
    auth.login("ana")
    assert f'data-testid="feed-idea-{first}"' not in client.get("/").get_data(as_text=True)
    profile = client.get("/members/bea").get_data(as_text=True)
    assert 'data-testid="follow"' in profile and "0 followers" in profile
    client.post("/follow", data={"kind": "member", "target": "bea", "next": "/members/bea"})
    second = create_idea("bea", "Second idea")
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="home-feed"' in home and f'data-testid="feed-idea-{second}"' in home
    profile = client.get("/members/bea").get_data(as_text=True)
    assert 'data-testid="unfollow"' in profile and "1 follower" in profile
    assert "Ana" in client.get("/members/bea/followers").get_data(as_text=True)
    failed = client.post("/follow", data={"kind": "member", "target": "ana"}, follow_redirects=True)
    assert "You cannot follow yourself." in failed.get_data(as_text=True)
    auth.logout()
    assert 'data-testid="home-feed"' not in client.get("/").get_data(as_text=True)


def test_hidden_follow_lists(client, people):
    client.put("/api/v1/members/bea/follow", headers=people["ana"])
    client.patch("/api/v1/me/preferences", json={"hide_follows": True}, headers=people["bea"])
    page = client.get("/members/bea/followers").get_data(as_text=True)
    assert "keeps their follow lists private" in page and "Ana" not in page
    assert "Bea" in client.get("/members/ana/following").get_data(as_text=True)


def test_export_has_follows_notifications_preferences_and_erasure_removes_them(app, client, people, create_idea):
    client.put("/api/v1/members/bea/follow", headers=people["ana"])
    client.put("/api/v1/members/ana/follow", headers=people["bea"])
    client.put("/api/v1/tags/trains/follow", headers=people["ana"])
    client.patch("/api/v1/me/preferences", json={"email_digest": "daily"}, headers=people["ana"])
    exported = client.get("/api/v1/me/export", headers=people["ana"]).json
    assert exported["follows"]["following"]["tags"] == ["trains"] and exported["follows"]["followers"] == ["bea"]
    assert exported["notifications"][0]["kind"] == "follower"
    assert exported["preferences"]["email_digest"] == "daily"
    erased = client.delete("/api/v1/me", headers=people["ana"], json={"password": "a long and unusual pass phrase"})
    assert erased.status_code in (200, 204), erased.json
    with app.app_context():
        assert db.session.scalar(select(func.count(Follow.id))) == 0
    assert client.get("/api/v1/members/bea").json["follower_count"] == 0


def test_idea_and_group_pages_have_a_follow_button(client, people, auth, create_idea):
    idea_id = create_idea("bea")
    slug = client.post("/api/v1/groups", json={"name": "Rail users", "description": "We ride.", "kind": "thematic",
                                               "joining": "open"}, headers=people["bea"]).json["slug"]
    auth.login("ana")
    assert 'data-testid="follow"' in client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    client.post("/follow", data={"kind": "idea", "target": str(idea_id)})
    assert 'data-testid="unfollow"' in client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    client.post("/follow", data={"kind": "group", "target": slug})
    assert 'data-testid="unfollow"' in client.get(f"/groups/{slug}").get_data(as_text=True)
    assert client.get("/api/v1/me/following", headers=people["ana"]).json["groups"] == [slug]


def test_an_allys_idea_in_my_feed_links_our_copy_where_i_can_vote(app, client, people):
    from coopol.accounts.models import Member
    from coopol.core.uow import unit_of_work
    from coopol.ideas.services import create_idea

    client.put("/api/v1/tags/trains/follow", headers=people["ana"])
    with app.test_request_context(), unit_of_work():
        rose = Member(handle="rose@jardins.example", host="jardins.example", ap_id="https://jardins.example/u/rose",
                      display_name="Rose", session_token="x")
        db.session.add(rose)
        db.session.flush()
        copy = create_idea(rose, title="Night trains to Lyon", body="Sleepers.", tags=["trains"])
        copy.ap_id = copy.url = "https://jardins.example/ideas/7"
        copy.origin_host, copy.origin_name = "jardins.example", "Jardins"
        copy_id = copy.id
    [item] = feed(client, people["ana"])["items"]
    assert item["object"]["url"] == f"{app.config['URL']}/ideas/{copy_id}"
