"""Notices: replies, comments, answers, thresholds, mentions; coalescing; preferences; read marks."""

from __future__ import annotations

from sqlalchemy import func, select

from coopol.accounts.services import get_member_by_handle
from coopol.extensions import db
from coopol.notifications import preferences
from coopol.notifications.models import Notification


def notes(client, headers, **query):
    return client.get("/api/v1/notifications", headers=headers, query_string=query).json


def test_a_reply_and_a_comment_notify_their_authors_not_the_writer(client, people, create_idea, create_comment,
                                                                   notices):
    idea_id = create_idea("ana")
    first = create_comment("bea", idea_id, "Too expensive.")
    create_comment("carl", idea_id, "It pays back.", parent_id=first)
    bea = notes(client, people["bea"])
    assert [(n["kind"], n["count"]) for n in bea["items"]] == [("reply", 1)]
    item = bea["items"][0]
    assert "Carl replied to your comment on “Night trains to Lyon”." == item["text"]
    assert item["actor"]["handle"] == "carl" and item["target"]["type"] == "comment"
    assert item["target"]["url"].endswith(f"/ideas/{idea_id}#comment-{first + 1}") and not item["read"]
    ana = notes(client, people["ana"])
    assert [n["kind"] for n in ana["items"]] == ["comment"] and ana["items"][0]["count"] == 2
    assert "2 new comments on your idea" in ana["items"][0]["text"]
    assert notes(client, people["carl"])["items"] == []
    # The mail package's contract: one event per stored or coalesced notice, with the reader's channel.
    assert {(e["kind"], e["channel"]) for e in notices} == {("comment", "web"), ("reply", "web")}
    assert all(e["url"].startswith("http") and e["notification_id"] for e in notices)


def test_forty_replies_in_an_hour_are_one_notice_that_says_forty(app, client, people, create_idea, create_comment):
    from coopol.core.uow import unit_of_work
    from coopol.ideas.comments import post_comment
    from coopol.ideas.models import Idea

    idea_id = create_idea("ana")
    parent = create_comment("bea", idea_id, "Start here.")
    with app.app_context(), unit_of_work():
        idea = db.session.get(Idea, idea_id)
        for n in range(40):
            post_comment(get_member_by_handle("carl" if n % 2 else "dora"), idea, body=f"Reply {n}", parent_id=parent)
    listed = notes(client, people["bea"])
    assert len(listed["items"]) == 1 and listed["unread"] == 1
    assert listed["items"][0]["count"] == 40 and listed["items"][0]["text"].startswith("40 replies")
    # Once read, the next reply is a new notice.
    client.post("/api/v1/notifications/read", json={"all": True}, headers=people["bea"])
    create_comment("eli", idea_id, "One more.", parent_id=parent)
    listed = notes(client, people["bea"], unread="true")
    assert [n["count"] for n in listed["items"]] == [1] and listed["unread"] == 1
    assert len(notes(client, people["bea"])["items"]) == 2


def test_an_old_unread_notice_is_not_coalesced_into(make_app, create_member, token_for, create_idea, create_comment):
    app = make_app("quick", NOTIFY_COALESCE_SECONDS=0)
    for handle in ("ana", "bea"):
        create_member(handle, target_app=app)
    idea_id = create_idea("ana", target_app=app)
    create_comment("bea", idea_id, target_app=app)
    create_comment("bea", idea_id, target_app=app)
    listed = notes(app.test_client(), token_for("ana", target_app=app))
    assert [n["count"] for n in listed["items"]] == [1, 1]


def test_official_answer_tells_author_supporters_and_followers(app, client, people, create_idea):
    idea_id = create_idea("ana")
    client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=people["bea"])
    client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "oppose"}, headers=people["dora"])
    assert client.put(f"/api/v1/ideas/{idea_id}/follow", headers=people["carl"]).json == {
        "following": True, "state": "active"}
    answered = client.post(f"/api/v1/ideas/{idea_id}/answer", json={"state": "evaluating", "answer": "Soon."},
                           headers=people["modmo"])
    assert answered.status_code == 200, answered.json
    for handle in ("ana", "bea", "carl"):
        assert [n["kind"] for n in notes(client, people[handle])["items"]] == ["answer"], handle
        assert "evaluating" in notes(client, people[handle])["items"][0]["text"]
    assert notes(client, people["dora"])["items"] == []


def test_the_support_threshold_is_told_once(make_app, create_member, token_for, create_idea):
    app = make_app("threshold", SUPPORT_THRESHOLD=2)
    client = app.test_client()
    headers = {}
    for handle in ("ana", "bea", "carl", "dora"):
        create_member(handle, target_app=app)
        headers[handle] = token_for(handle, target_app=app)
    idea_id = create_idea("ana", target_app=app)
    for handle in ("bea", "carl", "dora"):
        client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=headers[handle])
    items = notes(client, headers["ana"])["items"]
    assert [n["kind"] for n in items] == ["threshold"] and "reached 2 supports" in items[0]["text"]


def test_mentions_are_links_and_notify_once(app, client, people, create_idea, create_comment):
    idea_id = create_idea("ana", body="Ask @bea and @nobody, not mail@bea.example.")
    comment_id = create_comment("carl", idea_id, "@bea @bea what do you think, @dora@ally.example?")
    body_html = client.get(f"/api/v1/ideas/{idea_id}").json["body_html"]
    assert '<a href="http://local.coopol.test/members/bea"' in body_html and "mail@bea.example" in body_html
    comment = client.get(f"/api/v1/ideas/{idea_id}/comments").json["items"][0]
    assert '<a href="http://local.coopol.test/members/dora@ally.example"' in comment["body_html"]
    kinds = [(n["kind"], n["target"]["type"], n["target"]["id"]) for n in notes(client, people["bea"])["items"]]
    assert kinds == [("mention", "comment", comment_id), ("mention", "idea", idea_id)]
    assert notes(client, people["dora"])["items"] == []  # a local dora is not dora@ally.example


def test_preferences_choose_the_channel_and_off_stores_nothing(app, client, people, create_idea, create_comment,
                                                               notices):
    answer = client.get("/api/v1/me/preferences", headers=people["ana"]).json
    assert answer["email_digest"] == "off" and answer["notify"]["comment"] == "web"
    changed = client.patch("/api/v1/me/preferences", json={"email_digest": "weekly",
                                                           "notify": {"comment": "off", "reply": "email"}},
                           headers=people["ana"])
    assert changed.status_code == 200 and changed.json["notify"]["comment"] == "off"
    assert changed.json["notify"]["reply"] == "email" and changed.json["email_digest"] == "weekly"
    with app.app_context():
        assert preferences.digest_choice(get_member_by_handle("ana")) == "weekly"
        assert preferences.digest_choice(get_member_by_handle("bea")) == "off"
    idea_id = create_idea("ana")
    first = create_comment("ana", idea_id, "Me first.")
    create_comment("bea", idea_id, "Hmm.", parent_id=first)
    assert [n["kind"] for n in notes(client, people["ana"])["items"]] == ["reply"]
    assert [(e["kind"], e["channel"]) for e in notices] == [("reply", "email")]


def test_bad_preferences_are_422_naming_the_field_and_change_nothing(client, people):
    for body, field in (({"email_digest": "hourly"}, "email_digest"), ({"notify": {"reply": "pigeon"}}, "notify"),
                        ({"notify": {"gossip": "web"}}, "notify"), ({"colour": "red"}, "colour")):
        response = client.patch("/api/v1/me/preferences", json=body, headers=people["ana"])
        assert response.status_code == 422, body
        assert field in response.json["errors"], response.json
    assert client.get("/api/v1/me/preferences", headers=people["ana"]).json["email_digest"] == "off"
    assert client.get("/api/v1/me/preferences").status_code == 401


def test_the_header_counts_unread_and_the_page_marks_read(app, client, people, auth, create_idea, create_comment):
    idea_id = create_idea("ana")
    create_comment("bea", idea_id)
    auth.login("ana")
    page = client.get("/notifications").get_data(as_text=True)
    assert 'data-testid="unread-count">1<' in page and "Bea commented on your idea" in page
    client.post("/notifications/read", data={})
    page = client.get("/feed").get_data(as_text=True)
    assert 'data-testid="unread-count"' not in page
    with app.app_context():
        assert db.session.scalar(select(func.count(Notification.id)).where(Notification.read_at.is_(None))) == 0


def test_preferences_page_saves_choices(client, people, auth):
    auth.login("ana")
    assert client.get("/settings/notifications").status_code == 200
    response = client.post("/settings/notifications", data={"email_digest": "daily", "notify_mention": "off",
                                                            "hide_follows": "1"})
    assert response.status_code == 302
    prefs = client.get("/api/v1/me/preferences", headers=people["ana"]).json
    assert prefs["email_digest"] == "daily" and prefs["notify"]["mention"] == "off" and prefs["hide_follows"]
    bad = client.post("/settings/notifications", data={"email_digest": "hourly"})
    assert bad.status_code == 422


def test_what_the_mail_package_reads_digest_items_and_unsubscribe(app, client, people, create_idea):
    from datetime import timedelta

    from coopol.core.time import utcnow
    from coopol.core.uow import unit_of_work
    from coopol.notifications.mailing import digest_items, turn_email_off

    client.put("/api/v1/members/bea/follow", headers=people["ana"])
    client.patch("/api/v1/me/preferences", json={"email_digest": "weekly", "notify": {"reply": "email"}},
                 headers=people["ana"])
    create_idea("bea", "For the digest")
    with app.app_context(), unit_of_work():
        ana = get_member_by_handle("ana")
        items = digest_items(ana, utcnow() - timedelta(days=7))
        assert [(i["title"], i["kind"]) for i in items] == [("For the digest", "New idea")]
        assert digest_items(ana, utcnow() + timedelta(seconds=1)) == []
        turn_email_off(ana)
    prefs = client.get("/api/v1/me/preferences", headers=people["ana"]).json
    assert prefs["email_digest"] == "off" and prefs["notify"]["reply"] == "web"
