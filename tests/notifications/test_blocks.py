"""Blocking: follows end both ways and cannot start again, no notice from the blocked one, the list and its
pages, bad input, export and erasure. Blocks are private: the blocked one sees nothing of them."""

from __future__ import annotations

from sqlalchemy import func, select

from coopol.extensions import db
from coopol.notifications.models import Block
from tests.conftest import TEST_PASSWORD as PASSWORD


def kinds(client, headers) -> list[str]:
    return [n["kind"] for n in client.get("/api/v1/notifications", headers=headers).json["items"]]


def test_blocking_ends_follows_both_ways_and_refuses_new_ones(client, people):
    client.put("/api/v1/members/bea/follow", headers=people["ana"])
    client.put("/api/v1/members/ana/follow", headers=people["bea"])
    assert client.get("/api/v1/members/ana").json["follower_count"] == 1
    assert client.put("/api/v1/members/bea/block", headers=people["ana"]).json == {"blocked": True}
    assert client.put("/api/v1/members/bea/block", headers=people["ana"]).status_code == 200  # idempotent
    for handle in ("ana", "bea"):
        profile = client.get(f"/api/v1/members/{handle}").json
        assert (profile["follower_count"], profile["following_count"]) == (0, 0), handle
    refused = client.put("/api/v1/members/ana/follow", headers=people["bea"])
    assert refused.status_code == 422 and "handle" in refused.json["errors"]
    assert "block" not in refused.json["message"].lower()  # the blocked one is not told why
    mine = client.put("/api/v1/members/bea/follow", headers=people["ana"])
    assert mine.status_code == 422 and "handle" in mine.json["errors"]
    assert client.get("/api/v1/me/following", headers=people["bea"]).json["members"] == []

    assert client.delete("/api/v1/members/bea/block", headers=people["ana"]).json == {"blocked": False}
    assert client.delete("/api/v1/members/bea/block", headers=people["ana"]).status_code == 200
    assert client.put("/api/v1/members/ana/follow", headers=people["bea"]).json["following"] is True


def test_the_blocker_receives_no_notice_from_the_blocked(client, people, create_idea, create_comment):
    idea = create_idea("ana", "Ana's idea")
    mine = create_comment("ana", idea, "My comment")
    client.put("/api/v1/members/bea/block", headers=people["ana"])
    create_comment("bea", idea, "Bea on Ana's idea")
    create_comment("bea", idea, "Bea replies", parent_id=mine)
    create_comment("bea", idea, "Hello @ana")
    client.put("/api/v1/members/ana/follow", headers=people["bea"])
    assert kinds(client, people["ana"]) == []
    create_comment("carl", idea, "Carl replies, @ana", parent_id=mine)  # others still reach her
    assert kinds(client, people["ana"]) == ["reply"]


def test_the_blocked_ones_ideas_leave_the_blockers_feed_whatever_she_follows(client, people, create_idea):
    client.put("/api/v1/tags/trains/follow", headers=people["ana"])
    client.put("/api/v1/scopes/fr/follow", headers=people["ana"])
    create_idea("bea", "Bea on trains", tags=["trains"])
    create_idea("bea", "Bea in Paris", scope="fr-paris")
    create_idea("carl", "Carl on trains", tags=["trains"])

    def shown():
        return [i["object"]["title"] for i in client.get("/api/v1/feed", headers=people["ana"]).json["items"]]

    assert shown() == ["Carl on trains", "Bea in Paris", "Bea on trains"]
    client.put("/api/v1/members/bea/block", headers=people["ana"])
    assert shown() == ["Carl on trains"]
    client.delete("/api/v1/members/bea/block", headers=people["ana"])
    assert len(shown()) == 3


def test_the_block_list_and_bad_input(client, people):
    for handle in ("bea", "carl"):
        client.put(f"/api/v1/members/{handle}/block", headers=people["ana"])
    items = client.get("/api/v1/me/blocks", headers=people["ana"]).json
    assert [i["handle"] for i in items["items"]] == ["carl", "bea"] and items["next_cursor"] is None
    first = client.get("/api/v1/me/blocks?limit=1", headers=people["ana"]).json
    assert len(first["items"]) == 1 and first["next_cursor"]
    rest = client.get(f"/api/v1/me/blocks?limit=1&cursor={first['next_cursor']}", headers=people["ana"]).json
    assert [i["handle"] for i in rest["items"]] == ["bea"]
    assert client.get("/api/v1/me/blocks", headers=people["bea"]).json["items"] == []  # private
    cases = [("/api/v1/members/ana/block", 422), ("/api/v1/members/ghost/block", 404),
             ("/api/v1/members/bob@stranger.example/block", 404)]
    for path, status in cases:
        for method in ("PUT", "DELETE"):
            response = client.open(path, method=method, headers=people["ana"])
            assert response.status_code == status, (path, method, response.json)
            assert "handle" in response.json["errors"] and set(response.json) >= {"code", "status", "message"}
    assert client.put("/api/v1/members/bea/block").status_code == 401
    assert client.get("/api/v1/me/blocks").status_code == 401


def test_block_pages_profile_button_and_settings_list(client, auth, people):
    auth.login("ana")
    page = client.get("/members/bea").get_data(as_text=True)
    assert 'data-testid="block"' in page and 'data-testid="follow"' in page
    assert 'data-testid="block"' not in client.get("/members/ana").get_data(as_text=True)  # not oneself
    response = client.post("/members/bea/block", data={"action": "block", "next": "/members/bea"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/members/bea")
    page = client.get("/members/bea").get_data(as_text=True)
    assert 'data-testid="unblock"' in page and 'data-testid="follow"' not in page
    settings = client.get("/settings/notifications").get_data(as_text=True)
    assert 'data-testid="blocks"' in settings and "@bea" in settings
    client.post("/members/ana/block", data={"action": "block"})  # oneself: a message, no 500
    client.post("/members/bea/block", data={"action": "unblock", "next": "/settings/notifications"})
    assert "@bea" not in client.get("/settings/notifications").get_data(as_text=True)
    auth.logout()
    client.put("/api/v1/members/bea/block", headers=people["ana"])
    auth.login("bea")  # the blocked one sees no trace of it on the blocker's profile
    page = client.get("/members/ana").get_data(as_text=True)
    assert 'data-testid="unblock"' not in page and "Blocked" not in page


def test_export_has_blocks_and_erasure_removes_them(app, client, people):
    client.put("/api/v1/members/bea/block", headers=people["ana"])
    client.put("/api/v1/members/ana/block", headers=people["carl"])
    exported = client.get("/api/v1/me/export", headers=people["ana"]).json
    assert [b["handle"] for b in exported["blocks"]] == ["bea"] and exported["blocks"][0]["created_at"]
    assert client.get("/api/v1/me/export", headers=people["bea"]).json["blocks"] == []
    erased = client.delete("/api/v1/me", headers=people["ana"], json={"password": PASSWORD})
    assert erased.status_code in (200, 204), erased.json
    with app.app_context():
        assert db.session.scalar(select(func.count(Block.id))) == 0
