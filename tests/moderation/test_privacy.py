from sqlalchemy import func, select

from coopol.extensions import db
from coopol.moderation.models import Report
from coopol.notifications.models import Notification


def test_export_and_erasure(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    client.post("/api/v1/reports", headers=community["rosa"],
                json={"target_type": "idea", "target_id": idea_id, "reason": "spam", "text": "Looks like an ad."})
    action = client.post("/api/v1/moderation/actions", headers=community["modmarie"], json={
        "action": "remove", "target_type": "idea", "target_id": idea_id, "reason": "Advert."}).json
    client.post(f"/api/v1/moderation/actions/{action['id']}/appeal", headers=community["author"],
                json={"text": "It is a cooperative, not a shop."})

    rosa = client.get("/api/v1/me/export", headers=community["rosa"]).json
    assert rosa["reports"][0]["text"] == "Looks like an ad."
    assert "Advert." in rosa["notifications"][0]["message"]
    author = client.get("/api/v1/me/export", headers=community["author"]).json
    assert author["appeals"][0]["text"] == "It is a cooperative, not a shop."

    assert client.delete("/api/v1/me", headers=community["rosa"]).status_code == 204
    assert fetch(lambda: db.session.scalar(select(Report.text))) == ""
    assert fetch(lambda: db.session.scalar(select(func.count(Notification.id)).join(
        Report, Report.reporter_id == Notification.member_id))) == 0
    queue = client.get("/api/v1/moderation/queue", headers=community["modmarie"]).json
    assert queue["items"] == []  # the report was already resolved by the removal
