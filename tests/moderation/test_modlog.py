import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from coopol.extensions import db


def act(client, headers, action, target_id, reason="House rules.", target_type="idea"):
    response = client.post("/api/v1/moderation/actions", headers=headers, json={
        "action": action, "target_type": target_type, "target_id": target_id, "reason": reason})
    assert response.status_code == 201, response.json
    return response.json


def test_the_log_is_public_paginated_and_never_names_reporters(client, community, create_idea):
    idea_id = create_idea("author")
    for handle in ("rosa", "jean", "olympe"):
        client.post("/api/v1/reports", headers=community[handle],
                    json={"target_type": "idea", "target_id": idea_id, "reason": "spam", "text": f"by {handle}"})
    act(client, community["modmarie"], "remove", idea_id, reason="Commercial spam.")
    for n in range(3):
        act(client, community["modmarie"], "pin" if n % 2 == 0 else "lock", create_idea("author", title=f"Idea {n}"))

    first = client.get("/api/v1/modlog?limit=3")
    assert first.status_code == 200
    assert len(first.json["items"]) == 3 and first.json["next_cursor"]
    rest = client.get(f"/api/v1/modlog?limit=3&cursor={first.json['next_cursor']}").json
    entries = first.json["items"] + rest["items"]
    assert rest["next_cursor"] is None
    assert [e["action"] for e in entries] == ["pin", "lock", "pin", "remove", "hide"]
    assert [e["id"] for e in entries] == sorted((e["id"] for e in entries), reverse=True)
    body = first.get_data(as_text=True) + str(rest)
    for reporter in ("rosa", "jean", "olympe"):
        assert reporter not in body
    page = client.get("/modlog").get_data(as_text=True)
    assert "Commercial spam." in page and "@modmarie" in page
    for reporter in ("rosa", "jean", "olympe"):
        assert reporter not in page
    assert client.get("/api/v1/modlog?limit=101").status_code == 422


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_no_route_edits_or_deletes_the_log(client, community, create_idea, method):
    act(client, community["modmarie"], "pin", create_idea("author"))
    entry_id = client.get("/api/v1/modlog").json["items"][0]["id"]
    for path in ("/api/v1/modlog", f"/api/v1/modlog/{entry_id}", "/modlog"):
        response = getattr(client, method)(path, headers=community["adminaudrey"], json={"reason": "x"})
        assert response.status_code == 405, path
    assert client.get(f"/api/v1/modlog/{entry_id}").json["reason"] == "House rules."


def test_the_database_refuses_to_change_the_log(app, client, community, create_idea):
    act(client, community["modmarie"], "pin", create_idea("author"))
    with app.app_context():
        for statement in ("UPDATE modlog_entries SET reason = 'rewritten'", "DELETE FROM modlog_entries"):
            with pytest.raises(DatabaseError):
                db.session.execute(text(statement))
            db.session.rollback()
    assert client.get("/api/v1/modlog").json["items"][0]["reason"] == "House rules."
