from datetime import timedelta

from sqlalchemy import func, select

from coopol.accounts.models import Member
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.ideas.models import Idea
from coopol.moderation.models import Appeal, ModlogEntry
from tests.conftest import TEST_PASSWORD


def act(client, headers, action, target_id, target_type="idea", reason="Breaks the house rules.", **extra):
    response = client.post("/api/v1/moderation/actions", headers=headers, json={
        "action": action, "target_type": target_type, "target_id": target_id, "reason": reason, **extra})
    return response


def appeal(client, headers, action_id, text="I only quoted the party programme."):
    return client.post(f"/api/v1/moderation/actions/{action_id}/appeal", headers=headers, json={"text": text})


def decide(client, headers, appeal_id, decision, reason="Reviewed the context."):
    return client.post(f"/api/v1/moderation/appeals/{appeal_id}/decision", headers=headers,
                       json={"decision": decision, "reason": reason})


def moderation_fields(idea):
    return (idea.hidden_at, idea.hidden_reason, idea.removed_at, idea.locked_at, idea.pinned_at)


def test_only_the_affected_author_appeals_once(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    action_id = act(client, community["modmarie"], "remove", idea_id).json["id"]
    assert appeal(client, community["rosa"], action_id).status_code == 403
    assert appeal(client, community["modpaul"], action_id).status_code == 403
    first = appeal(client, community["author"], action_id)
    assert first.status_code == 201, first.json
    assert first.json["status"] == "pending"
    assert appeal(client, community["author"], action_id).status_code == 409
    assert appeal(client, community["author"], 9999).status_code == 404
    empty = client.post(f"/api/v1/moderation/actions/{action_id}/appeal", headers=community["author"],
                        json={"text": "  "})
    assert empty.status_code == 409  # already appealed wins over bad text: one appeal per action
    assert fetch(lambda: db.session.scalar(select(func.count(Appeal.id)))) == 1


def test_appeal_text_is_required_and_only_some_actions_are_appealable(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    hide_id = act(client, community["modmarie"], "hide", idea_id).json["id"]
    empty = client.post(f"/api/v1/moderation/actions/{hide_id}/appeal", headers=community["author"],
                        json={"text": " "})
    assert empty.status_code == 422 and "text" in empty.json["errors"]
    lock_id = act(client, community["modmarie"], "lock", idea_id).json["id"]
    assert appeal(client, community["author"], lock_id).status_code == 409
    assert fetch(lambda: db.session.scalar(select(func.count(Appeal.id)))) == 0


def test_a_different_moderator_reverses_and_everything_is_restored(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    act(client, community["modpaul"], "pin", idea_id, reason="Congress topic.")
    act(client, community["modpaul"], "hide", idea_id, reason="Checking a claim.")
    before = fetch(lambda: moderation_fields(db.session.get(Idea, idea_id)))
    removal = act(client, community["modmarie"], "remove", idea_id, reason="Defamation of a person.")
    assert removal.status_code == 201
    appeal_id = appeal(client, community["author"], removal.json["id"]).json["id"]

    own = decide(client, community["modmarie"], appeal_id, "reverse")
    assert own.status_code == 403
    assert "different moderator" in own.json["message"]
    assert decide(client, community["rosa"], appeal_id, "reverse").status_code == 403
    assert decide(client, community["modpaul"], appeal_id, "pardon").status_code == 422
    assert decide(client, community["modpaul"], appeal_id, "reverse", reason="").status_code == 422

    reversed_ = decide(client, community["modpaul"], appeal_id, "reverse", reason="The claim is documented.")
    assert reversed_.status_code == 200, reversed_.json
    assert reversed_.json["status"] == "reversed" and reversed_.json["decided_by"] == "modpaul"
    # Exactly what was there: still pinned and still hidden by the earlier, unappealed decision.
    assert fetch(lambda: moderation_fields(db.session.get(Idea, idea_id))) == before
    assert decide(client, community["adminaudrey"], appeal_id, "uphold").status_code == 409

    log = client.get("/api/v1/modlog").json["items"]
    assert (log[0]["action"], log[0]["moderator"], log[0]["reason"]) == (
        "appeal_reversed", "modpaul", "The claim is documented.")
    note = client.get("/api/v1/notifications", headers=community["author"]).json["items"][0]
    assert "reversed" in note["message"]
    action = client.get(f"/api/v1/moderation/actions/{removal.json['id']}").json
    assert action["reversed_at"] and action["appeal_status"] == "reversed"


def test_reversing_a_removal_after_auto_hide_shows_the_item_again(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    for handle in ("rosa", "jean", "olympe"):
        client.post("/api/v1/reports", headers=community[handle],
                    json={"target_type": "idea", "target_id": idea_id, "reason": "offensive"})
    assert fetch(lambda: db.session.get(Idea, idea_id).hidden_at) is not None
    removal = act(client, community["modmarie"], "remove", idea_id, reason="Insulting.")
    appeal_id = appeal(client, community["author"], removal.json["id"]).json["id"]
    assert decide(client, community["modpaul"], appeal_id, "reverse", reason="Harsh, not insulting.").status_code == 200
    idea = fetch(lambda: db.session.get(Idea, idea_id))
    # The review happened: the item is neither removed nor back under "pending review".
    assert idea.removed_at is None and idea.hidden_at is None


def test_upholding_changes_nothing_but_is_logged(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    removal = act(client, community["modmarie"], "remove", idea_id, reason="Spam.")
    appeal_id = appeal(client, community["author"], removal.json["id"]).json["id"]
    removed_at = fetch(lambda: db.session.get(Idea, idea_id).removed_at)
    upheld = decide(client, community["modpaul"], appeal_id, "uphold", reason="It is an advert.")
    assert upheld.status_code == 200 and upheld.json["status"] == "upheld"
    assert fetch(lambda: db.session.get(Idea, idea_id).removed_at) == removed_at
    assert client.get("/api/v1/modlog").json["items"][0]["action"] == "appeal_upheld"


def test_an_automatic_hide_can_be_appealed_and_any_moderator_decides(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    for handle in ("rosa", "jean", "olympe"):
        client.post("/api/v1/reports", headers=community[handle],
                    json={"target_type": "idea", "target_id": idea_id, "reason": "spam"})
    note = client.get("/api/v1/notifications", headers=community["author"]).json["items"][0]
    action_id = int(note["link"].split("/")[-2])
    appeal_id = appeal(client, community["author"], action_id).json["id"]
    assert decide(client, community["modmarie"], appeal_id, "reverse", reason="Not spam.").status_code == 200
    assert fetch(lambda: db.session.get(Idea, idea_id).hidden_at) is None


def test_a_superseded_decision_cannot_be_reversed(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    hide = act(client, community["modmarie"], "hide", idea_id, reason="Check.")
    appeal_id = appeal(client, community["author"], hide.json["id"]).json["id"]
    act(client, community["modpaul"], "unhide", idea_id, reason="Checked.")
    act(client, community["modpaul"], "hide", idea_id, reason="New problem.")
    entries = fetch(lambda: db.session.scalar(select(func.count(ModlogEntry.id))))
    response = decide(client, community["adminaudrey"], appeal_id, "reverse")
    assert response.status_code == 409
    assert fetch(lambda: db.session.scalar(select(func.count(ModlogEntry.id)))) == entries
    assert fetch(lambda: db.session.get(Appeal, appeal_id).status) == "pending"
    assert fetch(lambda: db.session.get(Idea, idea_id).hidden_reason) == "New problem."


def test_a_suspended_member_appeals_with_password_and_reversal_restores_the_account(client, community, fetch):
    author_id = fetch(lambda: db.session.scalar(select(Member.id).where(Member.handle == "author")))
    until = (utcnow() + timedelta(days=30)).isoformat()
    suspension = act(client, community["modmarie"], "suspend", author_id, target_type="member",
                     reason="Insults.", until=until).json["id"]
    # The token no longer works, so the appeal carries the credentials.
    assert appeal(client, community["author"], suspension).status_code == 401
    wrong = client.post(f"/api/v1/moderation/actions/{suspension}/appeal",
                        json={"text": "Please.", "login": "author", "password": "wrong password"})
    assert wrong.status_code == 401
    filed = client.post(f"/api/v1/moderation/actions/{suspension}/appeal",
                        json={"text": "I apologised.", "login": "author", "password": TEST_PASSWORD})
    assert filed.status_code == 201, filed.json
    decided = decide(client, community["modpaul"], filed.json["id"], "reverse", reason="Apology accepted.")
    assert decided.status_code == 200
    member = fetch(lambda: db.session.get(Member, author_id))
    assert member.status == "active" and member.suspended_until is None
    assert client.get("/api/v1/me", headers=community["author"]).status_code == 200


def test_pending_appeals_are_listed_for_moderators(client, community, create_idea):
    idea_id = create_idea("author")
    action_id = act(client, community["modmarie"], "hide", idea_id).json["id"]
    appeal(client, community["author"], action_id, text="Please look again.")
    listed = client.get("/api/v1/moderation/appeals", headers=community["modpaul"]).json["items"]
    assert [(a["appellant"], a["text"], a["action"]["id"]) for a in listed] == [
        ("author", "Please look again.", action_id)]
