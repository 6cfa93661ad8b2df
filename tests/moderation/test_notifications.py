from sqlalchemy import func, select

from coopol.extensions import db
from coopol.moderation.models import Notification


def remove(client, headers, idea_id, reason="Spam."):
    return client.post("/api/v1/moderation/actions", headers=headers, json={
        "action": "remove", "target_type": "idea", "target_id": idea_id, "reason": reason})


def test_list_and_mark_read(client, community, create_idea):
    for n in range(3):
        assert remove(client, community["modmarie"], create_idea("author", title=f"Idea {n}")).status_code == 201
    listed = client.get("/api/v1/notifications?limit=2", headers=community["author"]).json
    assert listed["unread"] == 3 and len(listed["items"]) == 2 and listed["next_cursor"]
    first_id = listed["items"][0]["id"]
    marked = client.post("/api/v1/notifications/read", headers=community["author"], json={"id": first_id})
    assert marked.json == {"marked": 1}
    assert client.get("/api/v1/notifications", headers=community["author"]).json["unread"] == 2
    # Someone else's notification is not found, and changes nothing.
    assert client.post("/api/v1/notifications/read", headers=community["rosa"],
                       json={"id": first_id + 1}).status_code == 404
    assert client.post("/api/v1/notifications/read", headers=community["author"], json={}).json == {"marked": 2}
    assert client.get("/api/v1/notifications", headers=community["author"]).json["unread"] == 0
    assert client.get("/api/v1/notifications").status_code == 401


def test_email_is_off_by_default(app, client, community, create_idea):
    remove(client, community["modmarie"], create_idea("author"))
    assert "coopol.mail_log" not in app.extensions


def test_email_when_enabled_is_sent_only_after_commit(make_app, create_member, token_for, create_idea):
    app = make_app("mailing", NOTIFY_BY_EMAIL=True)
    client = app.test_client()
    create_member("writer", target_app=app)
    create_member("moderator1", role="moderator", target_app=app)
    idea_id = create_idea("writer", target_app=app)
    headers = token_for("moderator1", target_app=app)
    failed = client.post("/api/v1/moderation/actions", headers=headers, json={
        "action": "lock", "target_type": "idea", "target_id": idea_id, "reason": "Flame war."})
    assert failed.status_code == 201
    again = client.post("/api/v1/moderation/actions", headers=headers, json={
        "action": "lock", "target_type": "idea", "target_id": idea_id, "reason": "Flame war."})
    assert again.status_code == 409
    sent = app.extensions["coopol.mail_log"]
    assert len(sent) == 1
    assert sent[0]["To"] == "writer@example.org" and "Flame war." in sent[0].get_content()
    with app.app_context():
        assert db.session.scalar(select(func.count(Notification.id))) == 1
