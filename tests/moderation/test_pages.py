"""The moderation pages, driven through forms (CSRF off here; the browser journey runs with it on)."""

from sqlalchemy import func, select

from coopol.extensions import db
from coopol.ideas.models import Idea
from coopol.moderation.models import ModerationAction, Report
from tests.conftest import TEST_PASSWORD


def login(app, handle):
    client = app.test_client()
    assert client.post("/login", data={"login": handle, "password": TEST_PASSWORD}).status_code == 302
    return client


def test_report_form(app, community, create_idea, fetch):
    idea_id = create_idea("author", title="Solar roofs")
    rosa = login(app, "rosa")
    page = rosa.get(f"/report/idea/{idea_id}")
    assert page.status_code == 200 and "Report Solar roofs" in page.get_data(as_text=True)
    missing = rosa.post(f"/report/idea/{idea_id}", data={"text": "no reason chosen"})
    assert missing.status_code == 422 and "Use one of" in missing.get_data(as_text=True)
    assert rosa.post(f"/report/idea/{idea_id}", data={"reason": "spam"}).status_code == 302
    again = rosa.post(f"/report/idea/{idea_id}", data={"reason": "spam"})
    assert again.status_code == 409 and "already reported" in again.get_data(as_text=True)
    assert fetch(lambda: db.session.scalar(select(func.count(Report.id)))) == 1
    assert app.test_client().get(f"/report/idea/{idea_id}").status_code == 302  # to the login page
    assert rosa.get("/report/idea/9999").status_code == 404


def test_queue_page_is_for_moderators_and_shows_reporters(app, community, create_idea):
    idea_id = create_idea("author", title="Solar roofs")
    login(app, "rosa").post(f"/report/idea/{idea_id}", data={"reason": "off_topic", "text": "Not our region."})
    assert login(app, "jean").get("/moderation").status_code == 403
    assert app.test_client().get("/moderation").status_code in (401, 302)
    page = login(app, "modmarie").get("/moderation").get_data(as_text=True)
    assert "Solar roofs" in page and "@rosa" in page and "Not our region." in page
    assert "votes from accounts younger than 24 h" in page


def test_act_from_the_queue_and_errors_rerender_with_a_message(app, community, create_idea, fetch):
    idea_id = create_idea("author")
    moderator = login(app, "modmarie")
    no_reason = moderator.post("/moderation/actions", data={"action": "lock", "target_type": "idea",
                                                            "target_id": idea_id, "reason": ""})
    assert no_reason.status_code == 422 and "A reason is required." in no_reason.get_data(as_text=True)
    done = moderator.post("/moderation/actions", data={"action": "lock", "target_type": "idea",
                                                       "target_id": idea_id, "reason": "Flame war."})
    assert done.status_code == 302
    again = moderator.post("/moderation/actions", data={"action": "lock", "target_type": "idea",
                                                        "target_id": idea_id, "reason": "Flame war."})
    assert again.status_code == 409 and "already locked" in again.get_data(as_text=True)
    assert fetch(lambda: db.session.scalar(select(func.count(ModerationAction.id)))) == 1
    missing = moderator.post("/moderation/actions", data={"action": "lock", "target_type": "idea",
                                                          "target_id": "abc", "reason": "x"})
    assert missing.status_code == 404
    assert login(app, "rosa").post("/moderation/actions", data={
        "action": "unlock", "target_type": "idea", "target_id": idea_id, "reason": "x"}).status_code == 403
    assert fetch(lambda: db.session.get(Idea, idea_id).locked_at) is not None


def test_item_review_page(app, community, create_idea):
    idea_id = create_idea("author", title="Solar roofs")
    moderator = login(app, "modmarie")
    moderator.post("/moderation/actions", data={"action": "pin", "target_type": "idea", "target_id": idea_id,
                                                "reason": "Congress topic."})
    page = moderator.get(f"/moderation/items/idea/{idea_id}").get_data(as_text=True)
    assert "Congress topic." in page and "0 of 0 votes come from accounts created in the last 24 hours." in page
    assert login(app, "rosa").get(f"/moderation/items/idea/{idea_id}").status_code == 403


def test_appeal_and_decision_pages(app, community, create_idea, fetch):
    idea_id = create_idea("author")
    login(app, "modmarie").post("/moderation/actions", data={
        "action": "remove", "target_type": "idea", "target_id": idea_id, "reason": "Spam."})
    action_id = fetch(lambda: db.session.scalar(select(ModerationAction.id)))
    author = login(app, "author")
    notes = author.get("/notifications").get_data(as_text=True)
    assert "Spam." in notes and f"/moderation/actions/{action_id}/appeal" in notes
    assert login(app, "rosa").get(f"/moderation/actions/{action_id}/appeal").status_code == 403
    assert author.post(f"/moderation/actions/{action_id}/appeal", data={"text": ""}).status_code == 422
    assert author.post(f"/moderation/actions/{action_id}/appeal", data={"text": "Not spam."}).status_code == 302
    assert "Waiting for a decision" in author.get(f"/moderation/actions/{action_id}/appeal").get_data(as_text=True)
    assert author.post(f"/moderation/actions/{action_id}/appeal", data={"text": "Again"}).status_code == 409

    own = login(app, "modmarie")
    queue = own.get("/moderation").get_data(as_text=True)
    assert "another moderator must decide" in queue
    appeal_id = 1
    assert own.post(f"/moderation/appeals/{appeal_id}/decision",
                    data={"decision": "reverse", "reason": "Mine."}).status_code == 403
    other = login(app, "modpaul")
    assert other.post(f"/moderation/appeals/{appeal_id}/decision",
                      data={"decision": "reverse", "reason": "A real proposal."}).status_code == 302
    assert fetch(lambda: db.session.get(Idea, idea_id).removed_at) is None
    author.post("/notifications/read", data={})
    assert "Mark all as read" not in author.get("/notifications").get_data(as_text=True)


def test_restricted_member_appeals_from_the_public_form(app, community, fetch):
    from coopol.accounts.models import Member

    jean_id = fetch(lambda: db.session.scalar(select(Member.id).where(Member.handle == "jean")))
    login(app, "modmarie").post("/moderation/actions", data={
        "action": "ban", "target_type": "member", "target_id": jean_id, "reason": "Sock puppet network."})
    anonymous = app.test_client()
    wrong = anonymous.post("/appeal", data={"login": "jean", "password": "nope", "text": "Please"})
    assert wrong.status_code == 401
    ok = anonymous.post("/appeal", data={"login": "jean", "password": TEST_PASSWORD, "text": "I am one person."})
    assert ok.status_code == 302
    again = anonymous.post("/appeal", data={"login": "jean", "password": TEST_PASSWORD, "text": "Again."})
    assert again.status_code == 409


def test_navigation_shows_the_queue_to_moderators_only(app, community):
    assert 'href="/moderation"' not in login(app, "rosa").get("/modlog").get_data(as_text=True)
    assert 'href="/notifications"' in login(app, "rosa").get("/modlog").get_data(as_text=True)
    assert 'href="/moderation"' in login(app, "modmarie").get("/modlog").get_data(as_text=True)
    public = app.test_client().get("/modlog").get_data(as_text=True)
    assert 'href="/modlog"' in public and 'href="/moderation"' not in public


def test_moderation_tools_helper_for_other_templates(app, community, create_idea):
    from flask import render_template_string
    from flask_login import login_user

    from coopol.accounts.services import get_member_by_handle

    idea_id = create_idea("author")
    template = '{% if moderation_tools is defined %}{{ moderation_tools("idea", idea_id, author_id) }}{% endif %}'
    with app.test_request_context():
        author = get_member_by_handle("author")
        login_user(get_member_by_handle("rosa"))
        html = render_template_string(template, idea_id=idea_id, author_id=author.id)
        assert f"/report/idea/{idea_id}" in html and "Moderate" not in html
        login_user(author)
        assert "/report/" not in render_template_string(template, idea_id=idea_id, author_id=author.id)
        login_user(get_member_by_handle("modmarie"))
        html = render_template_string(template, idea_id=idea_id, author_id=author.id)
        assert "0 votes from accounts younger than 24 h" in html


def test_openapi_documents_the_moderation_api(client):
    spec = client.get("/api/openapi.json").json
    for path in ("/api/v1/reports", "/api/v1/moderation/queue", "/api/v1/moderation/actions",
                 "/api/v1/moderation/actions/{action_id}/appeal", "/api/v1/moderation/appeals/{appeal_id}/decision",
                 "/api/v1/modlog", "/api/v1/notifications", "/api/v1/notifications/read"):
        assert path in spec["paths"], path
    from openapi_spec_validator import validate

    validate(spec)


def test_the_next_target_after_an_action_never_leaves_the_site(app, community, create_idea):
    modmarie = login(app, "modmarie")
    for index, evil in enumerate(("//evil.example/", "/\\evil.example", "https://evil.example/x")):
        idea_id = create_idea("author", title=f"Idea number {index}")
        response = modmarie.post("/moderation/actions", data={
            "action": "lock", "target_type": "idea", "target_id": str(idea_id), "reason": "Heated thread",
            "next": evil})
        assert response.status_code == 302
        assert response.headers["Location"] == "/moderation"
    kept = modmarie.post("/moderation/actions", data={
        "action": "unlock", "target_type": "idea", "target_id": str(idea_id), "reason": "Calmer now",
        "next": f"/ideas/{idea_id}"})
    assert kept.headers["Location"] == f"/ideas/{idea_id}"
