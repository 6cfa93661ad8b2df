"""Reports and moderation actions cover groups (target_type group, named by slug): moderators hide,
remove or lock a group; the public log records actions and organisers' removals of members."""

from __future__ import annotations


def _act(client, headers, action: str, target, reason: str = "Breaks the rules"):
    return client.post("/api/v1/moderation/actions", json={
        "action": action, "target_type": "group", "target_id": target, "reason": reason}, headers=headers)


def test_members_report_a_group_by_slug(client, member, create_group):
    alice, bob = member("alice"), member("bob")
    create_group(alice, name="Shady business", slug="shady-business")
    response = client.post("/api/v1/reports", json={"target_type": "group", "target_id": "shady-business",
                                                    "reason": "spam", "text": "Sells things"}, headers=bob)
    assert response.status_code == 201, response.json
    assert client.post("/api/v1/reports", json={"target_type": "group", "target_id": "shady-business",
                                                "reason": "spam"}, headers=bob).status_code == 409
    assert client.post("/api/v1/reports", json={"target_type": "group", "target_id": "no-such-group",
                                                "reason": "spam"}, headers=bob).status_code == 404
    bad = client.post("/api/v1/reports", json={"target_type": "group", "target_id": "Not A Slug!",
                                               "reason": "spam"}, headers=bob)
    assert bad.status_code == 422 and "target_id" in bad.json["errors"]
    # The founder cannot report their own group.
    assert client.post("/api/v1/reports", json={"target_type": "group", "target_id": "shady-business",
                                                "reason": "spam"}, headers=alice).status_code == 422


def test_only_moderators_act_on_groups(client, member, create_group):
    alice, bob = member("alice"), member("bob")
    create_group(alice, name="Cycling", slug="cycling")
    assert _act(client, bob, "hide", "cycling").status_code == 403
    assert _act(client, alice, "remove", "cycling").status_code == 403
    assert client.get("/api/v1/groups/cycling").json["state"] == "visible"


def test_hide_keeps_the_group_for_its_members_and_moderators_only(client, member, create_group):
    alice, bob, carol, mod = member("alice"), member("bob"), member("carol"), member("mod", role="moderator")
    create_group(alice, name="Cycling", slug="cycling")
    client.post("/api/v1/groups/cycling/join", headers=bob)
    assert _act(client, mod, "hide", "cycling").status_code == 201
    assert _act(client, mod, "hide", "cycling").status_code == 409

    assert client.get("/api/v1/groups/cycling").status_code == 404
    assert client.get("/api/v1/groups/cycling", headers=carol).status_code == 404
    assert client.get("/api/v1/groups/cycling", headers=bob).json["state"] == "hidden"
    assert client.get("/api/v1/groups/cycling", headers=mod).status_code == 200
    assert client.get("/api/v1/groups").json["items"] == []
    assert "Cycling" not in client.get("/groups").get_data(as_text=True)
    assert client.post("/api/v1/groups/cycling/join", headers=carol).status_code == 404

    assert _act(client, mod, "unhide", "cycling", "Reviewed: fine").status_code == 201
    assert client.get("/api/v1/groups/cycling").json["state"] == "visible"


def test_remove_takes_the_group_away_and_restore_brings_it_back(client, member, create_group):
    alice, mod = member("alice"), member("mod", role="moderator")
    group = create_group(alice, name="Cycling", slug="cycling")
    assert group["state"] == "visible"
    assert _act(client, mod, "remove", "cycling").status_code == 201
    assert client.get("/api/v1/groups/cycling", headers=alice).status_code == 404
    assert client.get("/groups/cycling").status_code == 404
    modlog = client.get("/api/v1/modlog").json["items"]
    assert modlog[0]["action"] == "remove" and modlog[0]["target"]["notice"] == "This group was removed by a moderator."
    assert _act(client, mod, "restore", "cycling", "Appeal accepted").status_code == 201
    assert client.get("/api/v1/groups/cycling").json["state"] == "visible"


def test_lock_stops_joining_and_editing_but_keeps_members(client, member, create_group, check_counts):
    alice, bob, carol, mod = member("alice"), member("bob"), member("carol"), member("mod", role="moderator")
    create_group(alice, name="Cycling", slug="cycling")
    client.post("/api/v1/groups/cycling/join", headers=bob)
    response = _act(client, mod, "lock", "cycling")
    assert response.status_code == 201
    assert client.get("/api/v1/groups/cycling").json["state"] == "locked"
    assert client.post("/api/v1/groups/cycling/join", headers=carol).status_code == 409
    assert client.patch("/api/v1/groups/cycling", json={"name": "Still mine"}, headers=alice).status_code == 409
    assert client.get("/api/v1/groups/cycling", headers=bob).json["my_membership"]["state"] == "active"
    assert [g["slug"] for g in client.get("/api/v1/groups").json["items"]] == ["cycling"]
    assert _act(client, mod, "lock", "cycling").status_code == 409
    assert _act(client, mod, "unlock", "cycling", "Calm again").status_code == 201
    assert client.post("/api/v1/groups/cycling/join", headers=carol).status_code == 200
    check_counts()


def test_actions_not_made_for_groups_are_refused(client, member, create_group):
    alice, mod = member("alice"), member("mod", role="moderator")
    create_group(alice, name="Cycling", slug="cycling")
    for action in ("pin", "suspend", "answer"):
        response = _act(client, mod, action, "cycling")
        assert response.status_code == 422 and "action" in response.json["errors"], action


def test_a_group_is_also_named_by_its_id_and_moderated_from_its_page(app, client, member, create_group, auth):
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.groups.models import Group

    alice, mod = member("alice"), member("mod", role="moderator")
    create_group(alice, name="Cycling", slug="cycling")
    with app.app_context():
        group_id = db.session.scalar(select(Group.id).where(Group.slug == "cycling"))
    auth.login("mod")
    page = client.get("/groups/cycling").get_data(as_text=True)
    assert f'href="/report/group/{group_id}"' in page and f'/moderation/items/group/{group_id}' in page
    assert client.get(f"/moderation/items/group/{group_id}").status_code == 200
    assert client.get(f"/report/group/{group_id}").status_code == 200
    assert _act(client, mod, "lock", group_id).status_code == 201


def test_an_organisers_removal_of_a_member_is_in_the_public_log(client, member, create_group):
    alice, bob = member("alice"), member("bob")
    create_group(alice, name="Cycling", slug="cycling")
    client.post("/api/v1/groups/cycling/join", headers=bob)
    client.delete("/api/v1/groups/cycling/members/bob", json={"reason": "Insults at the meeting"}, headers=alice)
    entry = client.get("/api/v1/modlog").json["items"][0]
    assert entry["action"] == "group_member_removed" and entry["moderator"] == "alice"
    assert entry["reason"] == "@bob: Insults at the meeting"
    assert entry["target"]["url"] == "/groups/cycling"
    assert "Removed from the group by an organiser" in client.get("/modlog").get_data(as_text=True)


def test_a_locked_group_approves_nobody(client, member, create_group, check_counts):
    alice, bob, mod = member("alice"), member("bob"), member("mod", role="moderator")
    create_group(alice, name="Circle", slug="circle", joining="approval")
    client.post("/api/v1/groups/circle/join", headers=bob)
    _act(client, mod, "lock", "circle")
    assert client.post("/api/v1/groups/circle/members/bob/approve", headers=alice).status_code == 409
    assert client.get("/api/v1/groups/circle").json["member_count"] == 1
    # Leaving (or withdrawing a request) stays possible.
    assert client.delete("/api/v1/groups/circle/membership", headers=bob).status_code == 200
    check_counts()
