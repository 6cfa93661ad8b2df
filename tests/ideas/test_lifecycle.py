"""An idea's lifecycle: draft → published → evaluating → accepted | rejected, or withdrawn."""

import pytest


def test_draft_is_private_until_published(client, member):
    alice, bob = member("alice"), member("bob")
    r = client.post("/api/v1/ideas", json={"title": "A draft idea", "body": "Not yet.", "publish": False},
                    headers=alice)
    assert r.status_code == 201
    assert r.json["state"] == "draft" and r.json["published_at"] is None
    idea_id = r.json["id"]
    assert client.get(f"/api/v1/ideas/{idea_id}", headers=bob).status_code == 404
    assert client.get(f"/api/v1/ideas/{idea_id}").status_code == 404
    assert client.get(f"/api/v1/ideas/{idea_id}", headers=alice).status_code == 200
    assert [i["id"] for i in client.get("/api/v1/ideas?state=draft", headers=alice).json["items"]] == [idea_id]
    assert client.get("/api/v1/ideas?state=draft", headers=bob).json["items"] == []
    assert client.get("/api/v1/ideas").json["items"] == []

    assert client.post(f"/api/v1/ideas/{idea_id}/publish", headers=bob).status_code == 404
    r = client.post(f"/api/v1/ideas/{idea_id}/publish", headers=alice)
    assert r.status_code == 200 and r.json["state"] == "published" and r.json["published_at"]
    assert client.get(f"/api/v1/ideas/{idea_id}", headers=bob).status_code == 200
    # Publishing twice is an illegal transition, not a silent no-op.
    r = client.post(f"/api/v1/ideas/{idea_id}/publish", headers=alice)
    assert r.status_code == 409 and r.json["errors"]["state"]


def test_moderator_answers_with_official_answer(client, member, create_idea):
    alice, mod = member("alice"), member("mod", role="moderator")
    idea_id = create_idea("alice")
    r = client.post(f"/api/v1/ideas/{idea_id}/answer", json={"state": "accepted", "answer": "Yes"}, headers=mod)
    assert r.status_code == 409  # published → accepted skips the evaluation
    r = client.post(f"/api/v1/ideas/{idea_id}/answer", json={"state": "evaluating", "answer": None}, headers=mod)
    assert r.status_code == 200 and r.json["state"] == "evaluating"
    r = client.post(f"/api/v1/ideas/{idea_id}/answer", json={"state": "accepted"}, headers=mod)
    assert r.status_code == 422 and "answer" in r.json["errors"]
    r = client.post(f"/api/v1/ideas/{idea_id}/answer",
                    json={"state": "accepted", "answer": "We adopt it in the **programme**."}, headers=mod)
    assert r.status_code == 200, r.json
    assert r.json["state"] == "accepted"
    assert r.json["answer_html"] == "<p>We adopt it in the <strong>programme</strong>.</p>\n"
    assert r.json["answered_by"]["handle"] == "mod"
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert "Official answer" in page and "<strong>programme</strong>" in page
    # Decided: no way back, and voting is closed.
    r = client.post(f"/api/v1/ideas/{idea_id}/answer", json={"state": "evaluating"}, headers=mod)
    assert r.status_code == 409
    assert client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=alice).status_code == 409


def test_only_moderators_answer(client, member, create_idea):
    alice = member("alice")
    idea_id = create_idea("alice")
    r = client.post(f"/api/v1/ideas/{idea_id}/answer", json={"state": "evaluating"}, headers=alice)
    assert r.status_code == 403
    r = client.post(f"/api/v1/ideas/{idea_id}/answer", json={"state": "won", "answer": "x"},
                    headers=member("mod", role="admin"))
    assert r.status_code == 422 and "state" in r.json["errors"]


@pytest.mark.parametrize("reason", ["duplicate", "done", "unfeasible"])
def test_author_withdraws_with_a_reason(client, member, create_idea, reason):
    alice, bob = member("alice"), member("bob")
    idea_id = create_idea("alice")
    assert client.post(f"/api/v1/ideas/{idea_id}/withdraw", json={"reason": reason},
                       headers=bob).status_code == 403
    r = client.post(f"/api/v1/ideas/{idea_id}/withdraw", json={"reason": reason, "explanation": "See #12"},
                    headers=alice)
    assert r.status_code == 200
    assert (r.json["state"], r.json["withdrawn_reason"]) == ("withdrawn", reason)
    assert client.post(f"/api/v1/ideas/{idea_id}/withdraw", json={"reason": reason},
                       headers=alice).status_code == 409
    assert client.get("/api/v1/ideas").json["items"] == []
    assert [i["id"] for i in client.get("/api/v1/ideas?state=withdrawn").json["items"]] == [idea_id]
    assert "Withdrawn by its author" in client.get(f"/ideas/{idea_id}").get_data(as_text=True)


def test_withdraw_reason_other_needs_an_explanation(client, member, create_idea):
    alice = member("alice")
    idea_id = create_idea("alice")
    r = client.post(f"/api/v1/ideas/{idea_id}/withdraw", json={"reason": "other"}, headers=alice)
    assert r.status_code == 422 and "explanation" in r.json["errors"]
    r = client.post(f"/api/v1/ideas/{idea_id}/withdraw", json={"reason": "bored"}, headers=alice)
    assert r.status_code == 422 and "reason" in r.json["errors"]


def test_suspended_member_cannot_write(app, client, member, create_idea):
    from datetime import timedelta

    from coopol.accounts.models import Member
    from coopol.core.time import utcnow
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.ideas.services import cast_vote, get_idea

    member("alice")
    idea_id = create_idea("alice")
    member("bob")
    with app.test_request_context(), unit_of_work():
        bob = db.session.query(Member).filter_by(handle="bob").one()
        bob.status, bob.suspended_until = "suspended", utcnow() + timedelta(days=1)
    with app.test_request_context():
        from coopol.core.errors import PermissionDenied

        bob = db.session.query(Member).filter_by(handle="bob").one()
        with pytest.raises(PermissionDenied):
            cast_vote(bob, get_idea(idea_id, bob), "support")
        db.session.rollback()
