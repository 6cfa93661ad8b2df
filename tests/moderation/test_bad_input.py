"""Members are named by handle in reports and moderation actions; bad targets and bad notification ids
are a 4xx naming the field, and change nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from coopol.accounts.models import Member
from coopol.extensions import db
from coopol.moderation.models import ModerationAction, Report
from coopol.notifications.models import Notification


def _member(fetch, handle):
    return fetch(lambda: db.session.scalar(select(Member).where(Member.handle == handle)))


def _counts(fetch):
    return fetch(lambda: tuple(db.session.scalar(select(func.count()).select_from(m))
                               for m in (Report, ModerationAction, Notification)))


def _remote(app, handle, host):
    from coopol.core.uow import unit_of_work

    with app.app_context(), unit_of_work():
        db.session.add(Member(handle=f"{handle}@{host}", host=host, session_token="x",
                              ap_id=f"https://{host}/u/{handle}"))


def test_a_moderator_bans_a_member_named_by_handle(client, community, fetch):
    response = client.post("/api/v1/moderation/actions", json={
        "action": "ban", "target_type": "member", "target_id": "olympe",
        "reason": "Repeated harassment of other members."}, headers=community["modmarie"])

    assert response.status_code == 201, response.json
    olympe = _member(fetch, "olympe")
    assert response.json["target_type"] == "member" and response.json["target_id"] == olympe.id
    assert olympe.status == "banned"


def test_a_remote_member_known_here_is_named_handle_at_host(app, client, community, fetch):
    _remote(app, "rosa", "ally.example")

    response = client.post("/api/v1/reports", json={"target_type": "member", "target_id": "rosa@ally.example",
                                                    "reason": "spam"}, headers=community["jean"])

    assert response.status_code == 201, response.json
    rosa = _member(fetch, "rosa@ally.example")
    report = fetch(lambda: db.session.scalar(select(Report)))
    assert (report.target_type, report.target_id) == ("member", rosa.id)


def test_integer_ids_still_name_members_ideas_and_comments(client, community, create_idea, fetch):
    idea_id = create_idea("author")
    olympe = _member(fetch, "olympe")
    r = client.post("/api/v1/reports", json={"target_type": "member", "target_id": olympe.id, "reason": "spam"},
                    headers=community["jean"])
    assert r.status_code == 201, r.json
    r = client.post("/api/v1/reports", json={"target_type": "idea", "target_id": idea_id, "reason": "spam"},
                    headers=community["jean"])
    assert r.status_code == 201, r.json


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"target_type": "member", "target_id": "nobody"}, 404, None),
    ({"target_type": "member", "target_id": "rosa@elsewhere.example"}, 404, None),
    ({"target_type": "member", "target_id": "olympe@"}, 422, "target_id"),
    ({"target_type": "member", "target_id": "not a handle"}, 422, "target_id"),
    ({"target_type": "member", "target_id": "x" * 400}, 422, "target_id"),
    ({"target_type": "member", "target_id": ""}, 422, "target_id"),
    ({"target_type": "idea", "target_id": "olympe"}, 422, "target_id"),
    ({"target_type": "comment", "target_id": "1"}, 422, "target_id"),
])
def test_bad_targets_are_refused_and_nothing_is_stored(client, community, create_idea, fetch, body, status, field):
    create_idea("author")
    before = _counts(fetch)
    for path, extra, who in (("/api/v1/reports", {"reason": "spam"}, "jean"),
                             ("/api/v1/moderation/actions", {"action": "hide" if body["target_type"] != "member"
                                                             else "suspend", "reason": "Rules",
                                                             "until": "2999-01-01"}, "modmarie")):
        response = client.post(path, json={**body, **extra}, headers=community[who])
        assert response.status_code == status, (path, response.json)
        assert response.json["code"] == status
        if field:
            assert field in response.json["errors"]
    assert _counts(fetch) == before


def test_notifications_are_marked_read_by_id_by_ids_or_all(app, client, community, fetch):
    from coopol.core.uow import unit_of_work
    from coopol.notifications.store import notify

    with app.app_context(), unit_of_work():
        jean = db.session.scalar(select(Member).where(Member.handle == "jean"))
        for n in range(4):
            notify(jean, "test", f"Message {n}")
    with app.app_context():
        ids = list(db.session.scalars(select(Notification.id).order_by(Notification.id)))
    headers = community["jean"]

    def unread():
        return client.get("/api/v1/notifications", headers=headers).json["unread"]

    assert client.post("/api/v1/notifications/read", json={"id": ids[0]}, headers=headers).json == {"marked": 1}
    assert client.post("/api/v1/notifications/read", json={"ids": ids[1:3]}, headers=headers).json == {"marked": 2}
    assert unread() == 1
    for body, field in (({"id": ids[3], "all": True}, "all"), ({"id": ids[3], "ids": [ids[3]]}, "ids"),
                        ({"all": False}, "all"), ({"ids": [ids[3], 999]}, None)):
        response = client.post("/api/v1/notifications/read", json=body, headers=headers)
        assert response.status_code == (404 if field is None else 422), (body, response.json)
        if field:
            assert field in response.json["errors"]
        assert unread() == 1
    # Someone else's notification is no notification of mine.
    assert client.post("/api/v1/notifications/read", json={"id": ids[3]}, headers=community["rosa"]).status_code == 404
    assert client.post("/api/v1/notifications/read", json={"all": True}, headers=headers).json == {"marked": 1}
    assert unread() == 0
