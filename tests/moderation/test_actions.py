from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import func, select

from coopol.accounts.models import Member
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.ideas.models import Comment, Idea
from coopol.moderation.models import ModerationAction, ModlogEntry, Report
from coopol.notifications.models import Notification


def act(client, headers, action, target_id, target_type="idea", reason="Breaks the house rules.", **extra):
    return client.post("/api/v1/moderation/actions", headers=headers, json={
        "action": action, "target_type": target_type, "target_id": target_id, "reason": reason, **extra})


def member_id(handle):
    return db.session.scalar(select(Member.id).where(Member.handle == handle))


def counts():
    return (db.session.scalar(select(func.count(ModerationAction.id))),
            db.session.scalar(select(func.count(ModlogEntry.id))),
            # moderation's notices (a comment also tells the idea's author, which is not moderation's)
            db.session.scalar(select(func.count(Notification.id)).where(Notification.action_id.is_not(None))))


def test_only_moderators_may_act_or_see_the_queue(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    assert act(client, community["rosa"], "hide", idea_id).status_code == 403
    assert client.get("/api/v1/moderation/queue", headers=community["rosa"]).status_code == 403
    assert client.get("/api/v1/moderation/queue").status_code == 401
    assert client.get("/api/v1/moderation/appeals", headers=community["rosa"]).status_code == 403
    assert client.get(f"/api/v1/moderation/ideas/{idea_id}", headers=community["rosa"]).status_code == 403
    assert fetch(lambda: db.session.get(Idea, idea_id).hidden_at) is None
    assert fetch(counts) == (0, 0, 0)


@pytest.mark.parametrize("body, field", [
    ({"action": "obliterate"}, "action"),
    ({"reason": "   "}, "reason"),
    ({"target_type": "planet"}, "target_type"),
    ({"action": "lock", "target_type": "comment"}, "action"),
    ({"action": "ban", "target_type": "idea"}, "action"),
    ({"until": "next tuesday", "action": "suspend", "target_type": "member"}, "until"),
])
def test_bad_actions_are_422_and_change_nothing(client, community, create_idea, create_comment, fetch, body, field):
    idea_id = create_idea("author")
    create_comment("rosa", idea_id)
    payload = {"action": "hide", "target_type": "idea", "target_id": idea_id, "reason": "Off topic.", **body}
    if payload["target_type"] == "member":
        payload["target_id"] = fetch(lambda: member_id("author"))
    response = client.post("/api/v1/moderation/actions", headers=community["modmarie"], json=payload)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert fetch(counts) == (0, 0, 0)
    assert fetch(lambda: db.session.get(Idea, idea_id).hidden_at) is None


def test_acting_on_a_missing_item_is_404(client, community):
    for target_type in ("idea", "comment", "member"):
        action = "ban" if target_type == "member" else "hide"
        response = act(client, community["modmarie"], action, 424242, target_type=target_type,
                       reason="A long enough justification.")
        assert response.status_code == 404, response.json


def test_hide_then_unhide_with_reasons_in_the_public_log(client, community, create_idea, fetch):
    idea_id = create_idea("author", title="Night trains")
    hidden = act(client, community["modmarie"], "hide", idea_id, reason="Personal data in the text.")
    assert hidden.status_code == 201, hidden.json
    assert hidden.json["moderator"] == "modmarie" and hidden.json["appealable"] is True
    assert fetch(lambda: db.session.get(Idea, idea_id).hidden_reason) == "Personal data in the text."
    assert act(client, community["modmarie"], "hide", idea_id).status_code == 409
    assert act(client, community["modpaul"], "unhide", idea_id, reason="The data was edited out.").status_code == 201
    assert fetch(lambda: db.session.get(Idea, idea_id).hidden_at) is None
    assert act(client, community["modpaul"], "unhide", idea_id).status_code == 409
    log = client.get("/api/v1/modlog").json["items"]
    assert [(e["action"], e["moderator"], e["reason"]) for e in log] == [
        ("unhide", "modpaul", "The data was edited out."), ("hide", "modmarie", "Personal data in the text.")]
    assert log[0]["target"]["url"] == f"/ideas/{idea_id}"
    assert log[0]["target"]["label"] == "Night trains"
    # While hidden, the public log shows a notice instead of the link.
    act(client, community["modmarie"], "hide", idea_id, reason="Again.")
    target = client.get("/api/v1/modlog").json["items"][0]["target"]
    assert target["url"] is None and "hidden" in target["notice"]


def test_remove_keeps_the_thread_and_the_content_for_appeals(client, community, create_idea, create_comment, fetch):
    idea_id = create_idea("author", body="Original words.")
    comment_id = create_comment("rosa", idea_id)
    response = act(client, community["modmarie"], "remove", idea_id, reason="Advertising for a shop.")
    assert response.status_code == 201
    idea = fetch(lambda: db.session.get(Idea, idea_id))
    assert idea.removed_at is not None and idea.body == "Original words."
    assert fetch(lambda: db.session.get(Comment, comment_id)) is not None
    assert act(client, community["modmarie"], "remove", idea_id).status_code == 409
    entry = client.get("/api/v1/modlog").json["items"][0]
    assert entry["target"]["url"] is None and "removed" in entry["target"]["notice"]
    note = client.get("/api/v1/notifications", headers=community["author"]).json["items"][0]
    assert "removed" in note["message"] and "Advertising for a shop." in note["message"]


def test_remove_a_comment(client, community, create_idea, create_comment, fetch):
    idea_id = create_idea("author")
    comment_id = create_comment("rosa", idea_id, body="Buy cheap watches.")
    assert act(client, community["modmarie"], "remove", comment_id, target_type="comment",
               reason="Spam.").status_code == 201
    assert fetch(lambda: db.session.get(Comment, comment_id).removed_at) is not None
    note = client.get("/api/v1/notifications", headers=community["rosa"]).json["items"][0]
    assert "your comment" in note["message"]


def test_lock_twice_is_a_conflict_and_nothing_is_half_applied(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    locked = act(client, community["modmarie"], "lock", idea_id, reason="The debate turned into insults.")
    assert locked.status_code == 201
    before = fetch(counts)
    locked_at = fetch(lambda: db.session.get(Idea, idea_id).locked_at)
    again = act(client, community["modpaul"], "lock", idea_id, reason="Same.")
    assert again.status_code == 409
    assert "already locked" in again.json["message"]
    assert fetch(counts) == before
    assert fetch(lambda: db.session.get(Idea, idea_id).locked_at) == locked_at
    assert act(client, community["modpaul"], "unlock", idea_id, reason="Calmer now.").status_code == 201
    assert act(client, community["modpaul"], "unlock", idea_id, reason="Calmer now.").status_code == 409


def test_locked_thread_refuses_comments_and_votes(app, client, community, create_idea):
    from coopol.accounts.services import get_member_by_handle
    from coopol.core.errors import Conflict
    from coopol.ideas.comments import post_comment
    from coopol.ideas.votes import cast_vote

    idea_id = create_idea("author")
    assert act(client, community["modmarie"], "lock", idea_id).status_code == 201
    with app.app_context():
        idea = db.session.get(Idea, idea_id)
        with pytest.raises(Conflict):
            post_comment(get_member_by_handle("rosa"), idea, body="Late reply.")
        with pytest.raises(Conflict):
            cast_vote(get_member_by_handle("rosa"), idea, "support")


def test_pin_and_feature_alias(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    pinned = act(client, community["modmarie"], "feature", idea_id, reason="Party congress topic.")
    assert pinned.status_code == 201 and pinned.json["action"] == "pin"
    assert fetch(lambda: db.session.get(Idea, idea_id).pinned_at) is not None
    assert act(client, community["modmarie"], "pin", idea_id).status_code == 409
    assert act(client, community["modmarie"], "unpin", idea_id, reason="Congress is over.").status_code == 201
    assert fetch(lambda: db.session.get(Idea, idea_id).pinned_at) is None


def test_answer_delegates_to_the_ideas_lifecycle(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    evaluating = act(client, community["modmarie"], "answer", idea_id, reason="The board studies it.",
                     state="evaluating")
    assert evaluating.status_code == 201, evaluating.json
    idea = fetch(lambda: db.session.get(Idea, idea_id))
    assert idea.state == "evaluating" and idea.answer == "The board studies it."
    illegal = act(client, community["modmarie"], "answer", idea_id, reason="Back.", state="published")
    assert illegal.status_code in (409, 422)
    missing_state = act(client, community["modmarie"], "answer", idea_id, reason="No state")
    assert missing_state.status_code == 422 and "state" in missing_state.json["errors"]
    accepted = act(client, community["modmarie"], "answer", idea_id, reason="Adopted.", state="accepted",
                   answer="Adopted by the congress on 12 May.")
    assert accepted.status_code == 201
    assert fetch(lambda: db.session.get(Idea, idea_id).answer) == "Adopted by the congress on 12 May."
    assert [e["action"] for e in client.get("/api/v1/modlog").json["items"]] == ["answer", "answer"]


def test_dismiss_closes_reports_lifts_the_pending_hide_and_tells_reporters(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    for handle in ("rosa", "jean", "olympe"):
        client.post("/api/v1/reports", headers=community[handle],
                    json={"target_type": "idea", "target_id": idea_id, "reason": "spam"})
    assert fetch(lambda: db.session.get(Idea, idea_id).hidden_at) is not None
    dismissed = act(client, community["modmarie"], "dismiss", idea_id, reason="A real proposal, not spam.")
    assert dismissed.status_code == 201
    assert fetch(lambda: db.session.get(Idea, idea_id).hidden_at) is None
    assert fetch(lambda: db.session.scalar(select(func.count(Report.id)).where(Report.status == "dismissed"))) == 3
    for handle in ("rosa", "jean", "olympe"):
        note = client.get("/api/v1/notifications", headers=community[handle]).json["items"][0]
        assert "took no action" in note["message"]
    author_note = client.get("/api/v1/notifications", headers=community["author"]).json["items"][0]
    assert "made it visible again" in author_note["message"]
    assert client.get("/api/v1/moderation/queue", headers=community["modmarie"]).json["items"] == []
    assert act(client, community["modmarie"], "dismiss", idea_id).status_code == 409


def test_suspension_blocks_the_member_until_it_runs_out(app, client, community, fetch):
    author_id = fetch(lambda: member_id("author"))
    until = (utcnow() + timedelta(days=7)).date().isoformat()
    assert act(client, community["modmarie"], "suspend", author_id, target_type="member",
               reason="Repeated insults.").status_code == 422  # an end date is required
    past = act(client, community["modmarie"], "suspend", author_id, target_type="member",
               reason="Repeated insults.", until="2001-01-01")
    assert past.status_code == 422 and "until" in past.json["errors"]
    response = act(client, community["modmarie"], "suspend", author_id, target_type="member",
                   reason="Repeated insults.", until=until)
    assert response.status_code == 201, response.json
    assert response.json["until"].startswith(until)
    # The token stops working while suspended...
    assert client.get("/api/v1/me", headers=community["author"]).status_code == 401
    assert act(client, community["modmarie"], "suspend", author_id, target_type="member",
               reason="Again.", until=until).status_code == 409
    # ...and works again once the suspension has run out.
    with app.app_context():
        db.session.get(Member, author_id).suspended_until = utcnow() - timedelta(minutes=1)
        db.session.commit()
    assert client.get("/api/v1/me", headers=community["author"]).status_code == 200
    log = client.get("/api/v1/modlog").json["items"][0]
    assert log["action"] == "suspend" and log["target"]["label"] == "@author" and log["until"]


def test_suspended_and_banned_members_cannot_post_comment_vote_or_report(app, client, community, create_idea,
                                                                         fetch):
    from coopol.accounts.services import get_member_by_handle
    from coopol.core.errors import PermissionDenied
    from coopol.ideas.comments import post_comment
    from coopol.ideas.services import create_idea as create
    from coopol.ideas.votes import cast_vote
    from coopol.moderation.services import file_report

    idea_id = create_idea("rosa")
    until = (utcnow() + timedelta(days=2)).isoformat()
    assert act(client, community["modmarie"], "suspend", fetch(lambda: member_id("author")), target_type="member",
               until=until).status_code == 201
    assert act(client, community["modmarie"], "ban", fetch(lambda: member_id("jean")), target_type="member",
               reason="Coordinated sock puppet accounts.").status_code == 201
    for handle in ("author", "jean"):
        assert client.post("/api/v1/reports", headers=community[handle],
                           json={"target_type": "idea", "target_id": idea_id, "reason": "spam"}).status_code == 401
        with app.app_context():
            member, idea = get_member_by_handle(handle), db.session.get(Idea, idea_id)
            attempts = (partial(create, member, title="Another idea", body="Text"),
                        partial(post_comment, member, idea, body="Hello"),
                        partial(cast_vote, member, idea, "support"),
                        partial(file_report, member, "idea", idea_id, "spam"))
            for attempt in attempts:
                with pytest.raises(PermissionDenied):
                    attempt()
            db.session.rollback()


def test_ban_ends_sessions_and_needs_a_real_justification(app, client, community, auth, fetch):
    jean_id = fetch(lambda: member_id("jean"))
    short = act(client, community["modmarie"], "ban", jean_id, target_type="member", reason="spam")
    assert short.status_code == 422 and "reason" in short.json["errors"]
    assert fetch(lambda: db.session.get(Member, jean_id).status) == "active"

    browser = app.test_client()
    assert browser.post("/login", data={"login": "jean", "password": "a long and unusual pass phrase"}
                        ).status_code == 302
    assert browser.get("/api/v1/me").status_code == 200
    banned = act(client, community["modmarie"], "ban", jean_id, target_type="member",
                 reason="Runs twelve sock puppet accounts.")
    assert banned.status_code == 201
    assert browser.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers=community["jean"]).status_code == 401
    assert act(client, community["modmarie"], "ban", jean_id, target_type="member",
               reason="Runs twelve sock puppet accounts.").status_code == 409
    assert act(client, community["modpaul"], "unban", jean_id, target_type="member",
               reason="The accounts were a family's.").status_code == 201
    assert client.get("/api/v1/me", headers=community["jean"]).status_code == 200


def test_moderators_cannot_sanction_themselves_or_peers_but_admins_can(client, community, fetch):
    marie, paul = fetch(lambda: member_id("modmarie")), fetch(lambda: member_id("modpaul"))
    reason = "A long enough justification."
    assert act(client, community["modmarie"], "ban", marie, target_type="member", reason=reason).status_code == 403
    assert act(client, community["modmarie"], "ban", paul, target_type="member", reason=reason).status_code == 403
    assert act(client, community["adminaudrey"], "ban", paul, target_type="member", reason=reason).status_code == 201


def test_events_are_published_with_models(app, client, community, create_idea, fetch):
    from coopol.core.events import subscribe

    seen = []
    for name in ("content_hidden", "content_removed", "content_restored", "thread_locked", "member_banned",
                 "member_suspended"):
        subscribe(app, name, lambda name=name, **kw: seen.append((name, sorted(kw))))
    idea_id = create_idea("author")
    act(client, community["modmarie"], "hide", idea_id)
    act(client, community["modmarie"], "unhide", idea_id)
    act(client, community["modmarie"], "remove", idea_id)
    act(client, community["modmarie"], "restore", idea_id)
    act(client, community["modmarie"], "lock", idea_id)
    act(client, community["modmarie"], "suspend", fetch(lambda: member_id("rosa")), target_type="member",
        until="2999-01-01")
    act(client, community["modmarie"], "ban", fetch(lambda: member_id("jean")), target_type="member",
        reason="Coordinated sock puppets.")
    assert seen == [
        ("content_hidden", ["action", "target", "target_type"]),
        ("content_restored", ["action", "target", "target_type"]),
        ("content_removed", ["action", "target", "target_type"]),
        ("content_restored", ["action", "target", "target_type"]),
        ("thread_locked", ["action", "idea"]),
        ("member_suspended", ["action", "member"]),
        ("member_banned", ["action", "member"]),
    ]


def test_queue_groups_reports_by_item_oldest_first_with_reporters(client, community, create_idea,
                                                                   create_comment):
    first = create_idea("author", title="First reported")
    second = create_idea("author", title="Second reported")
    comment_id = create_comment("author", second, body="A reply in context.")

    def report(handle, target_id, target_type="idea", reason="spam"):
        assert client.post("/api/v1/reports", headers=community[handle], json={
            "target_type": target_type, "target_id": target_id, "reason": reason, "text": "see"}).status_code == 201

    report("rosa", first)
    report("jean", comment_id, "comment", "offensive")
    report("jean", first, reason="off_topic")
    report("olympe", second)
    queue = client.get("/api/v1/moderation/queue", headers=community["modmarie"]).json
    assert [(g["target_type"], g["target_id"], g["report_count"]) for g in queue["items"]] == [
        ("idea", first, 2), ("comment", comment_id, 1), ("idea", second, 1)]
    assert [r["reporter"]["handle"] for r in queue["items"][0]["reports"]] == ["rosa", "jean"]
    assert queue["items"][1]["target"]["context"]["idea_title"] == "Second reported"
    assert queue["items"][0]["target"]["excerpt"] == "Let us do it."
    page = client.get("/api/v1/moderation/queue?limit=2", headers=community["modmarie"]).json
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(f"/api/v1/moderation/queue?limit=2&cursor={page['next_cursor']}",
                      headers=community["modmarie"]).json
    assert [g["target_id"] for g in rest["items"]] == [second] and rest["next_cursor"] is None


def test_moderators_see_votes_from_new_accounts(app, client, community, create_idea, create_member):
    from coopol.accounts.services import get_member_by_handle
    from coopol.core.uow import unit_of_work
    from coopol.ideas.votes import cast_vote

    idea_id = create_idea("author")
    for handle in ("rosa", "jean"):
        create_member(f"fresh_{handle}")
    with app.app_context(), unit_of_work():
        for handle in ("rosa", "jean"):
            get_member_by_handle(handle).created_at = utcnow() - timedelta(days=30)
        idea = db.session.get(Idea, idea_id)
        for handle in ("rosa", "jean", "fresh_rosa", "fresh_jean"):
            cast_vote(get_member_by_handle(handle), idea, "support")
    signals = client.get(f"/api/v1/moderation/ideas/{idea_id}", headers=community["modmarie"]).json
    assert signals["votes"] == 4
    # The fixture's other members were also created just now but did not vote.
    assert signals["new_account_votes"] == 2
