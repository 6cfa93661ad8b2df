from sqlalchemy import func, select

from coopol.core.events import subscribe
from coopol.extensions import db
from coopol.notifications.models import Notification


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


def record_notices(app) -> list[dict]:
    seen: list[dict] = []
    subscribe(app, "notification_created", lambda **event: seen.append(event))
    return seen


def test_email_is_off_by_default(app, client, community, create_idea):
    seen = record_notices(app)
    remove(client, community["modmarie"], create_idea("author"))
    assert [event["channel"] for event in seen] == ["web"]


def test_email_when_enabled_is_handed_to_the_mail_package(make_app, create_member, token_for, create_idea):
    """Moderation no longer sends mail itself: with NOTIFY_BY_EMAIL, its notices go out as
    `notification_created` on the e-mail channel (the mail package writes its outbox row in the same
    transaction, so a rolled-back change sends nothing)."""
    app = make_app("mailing", NOTIFY_BY_EMAIL=True)
    seen = record_notices(app)
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
    assert len(seen) == 1
    assert seen[0]["channel"] == "email" and "Flame war." in seen[0]["text"]
    assert seen[0]["url"].startswith("http")
    with app.app_context():
        assert db.session.scalar(select(func.count(Notification.id))) == 1
