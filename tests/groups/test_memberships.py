"""Joining, leaving and organising: counts always equal the rows, repeats change nothing, the approval
flow, the last-organiser rule, and who may do what (members, organisers, moderators)."""

from __future__ import annotations

from sqlalchemy import select


def _count(client, slug: str) -> int:
    return client.get(f"/api/v1/groups/{slug}").json["member_count"]


def test_joining_an_open_group_twice_changes_nothing(client, member, create_group, rows, check_counts):
    alice, bob = member("alice"), member("bob")
    create_group(alice, name="Open doors", slug="open-doors")

    first = client.post("/api/v1/groups/open-doors/join", headers=bob)
    second = client.post("/api/v1/groups/open-doors/join", headers=bob)

    assert first.status_code == second.status_code == 200
    assert first.json == second.json == {"role": "member", "state": "active"}
    assert _count(client, "open-doors") == 2
    assert rows() == {"groups": 1, "group_memberships": 2}
    assert client.get("/api/v1/groups/open-doors", headers=bob).json["my_membership"] == {
        "role": "member", "state": "active"}
    check_counts()


def test_leaving_twice_changes_nothing(client, member, create_group, rows, check_counts):
    alice, bob = member("alice"), member("bob")
    create_group(alice, name="Open doors", slug="open-doors")
    client.post("/api/v1/groups/open-doors/join", headers=bob)

    for _ in range(2):
        response = client.delete("/api/v1/groups/open-doors/membership", headers=bob)
        assert response.status_code == 200 and response.json == {"role": None, "state": None}
    assert _count(client, "open-doors") == 1
    assert rows()["group_memberships"] == 1
    check_counts()


def test_approval_flow_counts_only_approved_members(client, member, create_group, check_counts):
    alice, bob, carol, dan = member("alice"), member("bob"), member("carol"), member("dan")
    create_group(alice, name="Closed circle", slug="circle", joining="approval")
    for headers in (bob, carol, bob):
        assert client.post("/api/v1/groups/circle/join", headers=headers).json["state"] == "pending"
    assert _count(client, "circle") == 1
    check_counts()

    assert client.post("/api/v1/groups/circle/members/bob/approve", headers=dan).status_code == 403
    assert client.post("/api/v1/groups/circle/members/bob/approve", headers=bob).status_code == 403
    approved = client.post("/api/v1/groups/circle/members/bob/approve", headers=alice)
    assert approved.status_code == 200 and approved.json == {"role": "member", "state": "active"}
    assert client.post("/api/v1/groups/circle/members/bob/approve", headers=alice).status_code == 409
    assert client.post("/api/v1/groups/circle/members/dan/approve", headers=alice).status_code == 404
    assert client.post("/api/v1/groups/circle/members/carol/reject", headers=alice).status_code == 200
    assert client.get("/api/v1/groups/circle", headers=carol).json["my_membership"] is None
    assert _count(client, "circle") == 2
    check_counts()


def test_a_pending_member_withdraws_the_request(client, member, create_group, check_counts):
    alice, bob = member("alice"), member("bob")
    create_group(alice, name="Closed circle", slug="circle", joining="approval")
    client.post("/api/v1/groups/circle/join", headers=bob)
    assert client.delete("/api/v1/groups/circle/membership", headers=bob).status_code == 200
    assert client.get("/api/v1/groups/circle", headers=bob).json["my_membership"] is None
    assert _count(client, "circle") == 1
    check_counts()


def test_the_last_organiser_cannot_leave_without_handing_over(client, member, create_group, check_counts):
    alice, bob = member("alice"), member("bob")
    create_group(alice, name="Open doors", slug="open-doors")
    client.post("/api/v1/groups/open-doors/join", headers=bob)

    refused = client.delete("/api/v1/groups/open-doors/membership", headers=alice)
    assert refused.status_code == 409 and refused.json["code"] == 409
    assert client.get("/api/v1/groups/open-doors", headers=alice).json["my_membership"]["role"] == "organiser"

    handed = client.post("/api/v1/groups/open-doors/hand-over", json={"handle": "bob"}, headers=alice)
    assert handed.status_code == 200 and handed.json == {"role": "organiser", "state": "active"}
    assert client.get("/api/v1/groups/open-doors", headers=alice).json["my_membership"]["role"] == "member"
    assert client.patch("/api/v1/groups/open-doors", json={"name": "Mine"}, headers=alice).status_code == 403
    assert client.delete("/api/v1/groups/open-doors/membership", headers=alice).status_code == 200
    assert client.delete("/api/v1/groups/open-doors/membership", headers=bob).status_code == 409
    assert _count(client, "open-doors") == 1
    check_counts()


def test_a_second_organiser_lets_the_first_leave(client, member, create_group, check_counts):
    alice, bob = member("alice"), member("bob")
    create_group(alice, name="Open doors", slug="open-doors")
    client.post("/api/v1/groups/open-doors/join", headers=bob)
    assert client.post("/api/v1/groups/open-doors/members/bob/organiser", headers=bob).status_code == 403
    named = client.post("/api/v1/groups/open-doors/members/bob/organiser", headers=alice)
    assert named.json == {"role": "organiser", "state": "active"}
    assert client.patch("/api/v1/groups/open-doors", json={"name": "Bob's now"}, headers=bob).status_code == 200
    assert client.delete("/api/v1/groups/open-doors/membership", headers=alice).status_code == 200
    check_counts()


def test_hand_over_needs_an_active_member(client, member, create_group):
    alice, bob, carol = member("alice"), member("bob"), member("carol")
    create_group(alice, name="Closed circle", slug="circle", joining="approval")
    client.post("/api/v1/groups/circle/join", headers=bob)
    assert client.post("/api/v1/groups/circle/hand-over", json={"handle": "bob"}, headers=alice).status_code == 409
    assert client.post("/api/v1/groups/circle/hand-over", json={"handle": "carol"},
                       headers=alice).status_code == 404
    assert client.post("/api/v1/groups/circle/hand-over", json={"handle": "alice"},
                       headers=alice).status_code == 422
    assert client.post("/api/v1/groups/circle/hand-over", json={"handle": "alice"}, headers=carol).status_code == 403


def test_removing_a_member_needs_a_reason_and_publishes_it(app, client, member, create_group, check_counts):
    from coopol.core.events import subscribe

    removed = []
    subscribe(app, "group_member_removed", lambda **payload: removed.append(
        (payload["group"].slug, payload["member"].handle, payload["actor"].handle, payload["reason"])))
    alice, bob, carol = member("alice"), member("bob"), member("carol")
    create_group(alice, name="Open doors", slug="open-doors")
    client.post("/api/v1/groups/open-doors/join", headers=bob)
    client.post("/api/v1/groups/open-doors/join", headers=carol)

    assert client.delete("/api/v1/groups/open-doors/members/bob", json={"reason": "Spam"},
                         headers=carol).status_code == 403
    missing = client.delete("/api/v1/groups/open-doors/members/bob", json={"reason": "  "}, headers=alice)
    assert missing.status_code == 422 and "reason" in missing.json["errors"]
    assert client.delete("/api/v1/groups/open-doors/members/bob", json={}, headers=alice).status_code == 422
    assert removed == [] and _count(client, "open-doors") == 3

    done = client.delete("/api/v1/groups/open-doors/members/bob", json={"reason": "Spam links"}, headers=alice)
    assert done.status_code == 200
    assert removed == [("open-doors", "bob", "alice", "Spam links")]
    assert _count(client, "open-doors") == 2
    assert client.delete("/api/v1/groups/open-doors/members/bob", json={"reason": "again"},
                         headers=alice).status_code == 404
    check_counts()


def test_instance_moderators_may_remove_a_member_but_not_edit(client, member, create_group, check_counts):
    alice, bob, mod = member("alice"), member("bob"), member("mod", role="moderator")
    create_group(alice, name="Open doors", slug="open-doors")
    client.post("/api/v1/groups/open-doors/join", headers=bob)
    assert client.delete("/api/v1/groups/open-doors/members/bob", json={"reason": "Harassment"},
                         headers=mod).status_code == 200
    assert client.patch("/api/v1/groups/open-doors", json={"name": "Mod's"}, headers=mod).status_code == 403
    # The last organiser cannot be removed either: the group would have nobody to run it.
    assert client.delete("/api/v1/groups/open-doors/members/alice", json={"reason": "x"},
                         headers=mod).status_code == 409
    check_counts()


def test_events_are_published_inside_the_unit_of_work(app, client, member, create_group):
    from coopol.core.events import subscribe

    seen = []
    for name in ("group_created", "group_updated", "group_joined", "group_join_requested", "group_left",
                 "membership_approved"):
        subscribe(app, name, lambda _name=name, **payload: seen.append((_name, payload["group"].slug)))
    alice, bob = member("alice"), member("bob")
    create_group(alice, name="Closed circle", slug="circle", joining="approval")
    client.post("/api/v1/groups/circle/join", headers=bob)
    client.post("/api/v1/groups/circle/members/bob/approve", headers=alice)
    client.delete("/api/v1/groups/circle/membership", headers=bob)
    client.patch("/api/v1/groups/circle", json={"joining": "open"}, headers=alice)
    client.post("/api/v1/groups/circle/join", headers=bob)
    assert seen == [("group_created", "circle"), ("group_join_requested", "circle"),
                    ("membership_approved", "circle"), ("group_left", "circle"), ("group_updated", "circle"),
                    ("group_joined", "circle")]


def test_a_failing_listener_rolls_the_join_back(app, client, member, create_group, rows, check_counts):
    from coopol.core.events import subscribe

    alice, bob = member("alice"), member("bob")
    create_group(alice, name="Open doors", slug="open-doors")

    def refuse(**_):
        from coopol.core.errors import Conflict
        raise Conflict("not now")

    subscribe(app, "group_joined", refuse)
    assert client.post("/api/v1/groups/open-doors/join", headers=bob).status_code == 409
    assert rows()["group_memberships"] == 1 and _count(client, "open-doors") == 1
    check_counts()


def test_export_lists_groups_and_memberships_and_erasure_keeps_the_groups(app, client, member, create_group,
                                                                          check_counts):
    from coopol.accounts.models import Member
    from coopol.extensions import db
    from coopol.groups.models import Membership

    alice, bob, carol = member("alice"), member("bob"), member("carol")
    create_group(alice, name="Open doors", slug="open-doors")
    create_group(alice, name="Alone", slug="alone")
    create_group(bob, name="Bob's", slug="bobs", joining="approval")
    client.post("/api/v1/groups/open-doors/join", headers=carol)
    client.post("/api/v1/groups/open-doors/join", headers=bob)
    client.post("/api/v1/groups/bobs/join", headers=alice)

    export = client.get("/api/v1/me/export", headers=alice).json["groups"]
    assert [g["slug"] for g in export["created"]] == ["open-doors", "alone"]
    assert [(m["group"], m["role"], m["state"]) for m in export["memberships"]] == [
        ("open-doors", "organiser", "active"), ("alone", "organiser", "active"), ("bobs", "member", "pending")]

    assert client.delete("/api/v1/me", headers=alice).status_code == 204

    with app.app_context():
        erased = db.session.scalar(select(Member).where(Member.erased_at.is_not(None)))
        assert db.session.scalars(select(Membership).where(Membership.member_id == erased.id)).all() == []
    for slug in ("open-doors", "alone", "bobs"):
        assert client.get(f"/api/v1/groups/{slug}").status_code == 200
    # The oldest remaining member (carol joined before bob) now runs the group.
    members = client.get("/api/v1/groups/open-doors/members").json["items"]
    assert [(m["member"]["handle"], m["role"]) for m in members] == [("carol", "organiser"), ("bob", "member")]
    assert client.get("/api/v1/groups/alone").json["member_count"] == 0
    check_counts()


def test_erasing_one_of_two_organisers_keeps_the_other(client, member, create_group, check_counts):
    alice, bob, carol = member("alice"), member("bob"), member("carol")
    create_group(alice, name="Open doors", slug="open-doors")
    client.post("/api/v1/groups/open-doors/join", headers=carol)
    client.post("/api/v1/groups/open-doors/join", headers=bob)
    client.post("/api/v1/groups/open-doors/members/bob/organiser", headers=alice)
    assert client.delete("/api/v1/me", headers=alice).status_code == 204
    members = client.get("/api/v1/groups/open-doors/members").json["items"]
    assert [(m["member"]["handle"], m["role"]) for m in members] == [("carol", "member"), ("bob", "organiser")]
    check_counts()
