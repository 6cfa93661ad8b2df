from sqlalchemy import func, select

from coopol.extensions import db
from coopol.ideas.models import Idea
from coopol.moderation.models import ModerationAction, ModlogEntry, Report
from coopol.notifications.models import Notification


def report(client, headers, target_id, target_type="idea", reason="spam", text=""):
    return client.post("/api/v1/reports", headers=headers,
                       json={"target_type": target_type, "target_id": target_id, "reason": reason, "text": text})


def test_a_member_reports_an_idea_once(client, community, create_idea):
    idea_id = create_idea("author")
    first = report(client, community["rosa"], idea_id, reason="offensive", text="Insults in the second line.")
    assert first.status_code == 201, first.json
    assert first.json["reason"] == "offensive" and first.json["status"] == "open"
    assert "reporter" not in first.json

    second = report(client, community["rosa"], idea_id, reason="spam")
    assert second.status_code == 409
    assert "already reported" in second.json["message"]


def test_bad_reports_are_refused_and_store_nothing(client, community, create_idea, create_member, fetch):
    idea_id = create_idea("author")
    unknown_reason = report(client, community["rosa"], idea_id, reason="boring")
    assert unknown_reason.status_code == 422
    assert "reason" in unknown_reason.json["errors"]
    unknown_type = report(client, community["rosa"], idea_id, target_type="tag")
    assert unknown_type.status_code == 422
    assert "target_type" in unknown_type.json["errors"]
    assert report(client, community["rosa"], 9999).status_code == 404
    assert report(client, community["rosa"], 9999, target_type="comment").status_code == 404
    own = report(client, community["author"], idea_id)
    assert own.status_code == 422
    unknown_field = client.post("/api/v1/reports", headers=community["rosa"],
                                json={"target_type": "idea", "target_id": idea_id, "reason": "spam", "x": 1})
    assert unknown_field.status_code == 422
    assert client.post("/api/v1/reports", json={"target_type": "idea", "target_id": idea_id,
                                                "reason": "spam"}).status_code == 401
    assert fetch(lambda: db.session.scalar(select(func.count(Report.id)))) == 0


def test_members_and_comments_can_be_reported(client, community, create_idea, create_comment, fetch):
    idea_id = create_idea("author")
    comment_id = create_comment("jean", idea_id)
    assert report(client, community["rosa"], comment_id, target_type="comment").status_code == 201
    member_id = fetch(lambda: db.session.scalar(select(Idea.author_id).where(Idea.id == idea_id)))
    assert report(client, community["rosa"], member_id, target_type="member", reason="other").status_code == 201


def test_third_report_hides_the_idea_and_tells_the_author_why(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    for handle, reason in (("rosa", "spam"), ("jean", "spam")):
        assert report(client, community[handle], idea_id, reason=reason).status_code == 201
    assert fetch(lambda: db.session.get(Idea, idea_id).hidden_at) is None
    assert report(client, community["olympe"], idea_id, reason="off_topic").status_code == 201

    idea = fetch(lambda: db.session.get(Idea, idea_id))
    assert idea.hidden_at is not None
    assert "3 reports" in idea.hidden_reason

    notes = client.get("/api/v1/notifications", headers=community["author"]).json
    assert notes["unread"] == 1
    message = notes["items"][0]["message"]
    assert "hidden" in message and "spam (2)" in message and "off-topic (1)" in message
    for reporter in ("rosa", "jean", "olympe"):
        assert reporter not in message
    assert notes["items"][0]["link"].endswith("/appeal")

    action = fetch(lambda: db.session.scalars(select(ModerationAction)).one())
    assert action.action == "hide" and action.moderator_id is None
    log = client.get("/api/v1/modlog").json["items"]
    assert [(e["action"], e["moderator"], e["automatic"]) for e in log] == [("hide", None, True)]


def test_the_threshold_is_an_instance_setting(make_app, create_member, token_for, create_idea, fetch):
    app = make_app("strict", REPORTS_TO_HIDE=1)
    client = app.test_client()
    create_member("writer", target_app=app)
    create_member("reader", target_app=app)
    idea_id = create_idea("writer", target_app=app)
    response = report(client, token_for("reader", target_app=app), idea_id)
    assert response.status_code == 201
    with app.app_context():
        assert db.session.get(Idea, idea_id).hidden_at is not None


def test_reports_on_members_never_hide_anything(client, community, fetch):
    from coopol.accounts.models import Member

    author_id = fetch(lambda: db.session.scalar(select(Member.id).where(Member.handle == "author")))
    for handle in ("rosa", "jean", "olympe"):
        assert report(client, community[handle], author_id, target_type="member").status_code == 201
    assert fetch(lambda: db.session.scalar(select(func.count(ModerationAction.id)))) == 0
    assert fetch(lambda: db.session.scalar(select(func.count(Notification.id)))) == 0
    assert fetch(lambda: db.session.scalar(select(func.count(ModlogEntry.id)))) == 0


def test_a_report_on_a_removed_idea_is_a_conflict(client, community, create_idea):
    idea_id = create_idea("author")
    removed = client.post("/api/v1/moderation/actions", headers=community["modmarie"], json={
        "action": "remove", "target_type": "idea", "target_id": idea_id, "reason": "Advertising."})
    assert removed.status_code == 201, removed.json
    assert report(client, community["rosa"], idea_id).status_code == 409


def test_report_filed_event_carries_the_models(app, client, community, create_idea):
    from coopol.core.events import subscribe

    seen = []
    subscribe(app, "report_filed", lambda report, target: seen.append((report.reason, target.title)))
    idea_id = create_idea("author", title="Bike lanes")
    assert report(client, community["rosa"], idea_id, reason="illegal").status_code == 201
    assert seen == [("illegal", "Bike lanes")]


def test_hidden_items_cannot_be_reported_by_those_who_cannot_see_them(client, community, create_idea):
    idea_id = create_idea("author")
    hidden = client.post("/api/v1/moderation/actions", headers=community["modmarie"], json={
        "action": "hide", "target_type": "idea", "target_id": idea_id, "reason": "Under review."})
    assert hidden.status_code == 201
    assert report(client, community["rosa"], idea_id).status_code == 404
    assert report(client, community["modpaul"], idea_id).status_code == 201
