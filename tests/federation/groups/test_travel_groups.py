"""Allies see each other's groups, and their members join an allied party's group from home: the
counts agree on both instances after every change."""

from __future__ import annotations

from tests.federation.groups.conftest import copy_of, make_group, settle


def _count(party, slug):
    return party.api("GET", f"/groups/{slug}", expect=200).get_json()["member_count"]


def test_a_group_created_edited_and_removed_travels_to_allies(parties):
    a, b, c = parties(3)
    a.member("alice")
    a.member("mod", role="moderator")
    group = make_group(a, "alice", slug="night-buses")
    settle(a, b, c)
    for ally in (b, c):
        copy = copy_of(ally, group["ap_id"])
        assert copy is not None, ally.host
        assert copy["name"] == "Night buses now" and copy["description"] == "We ride **late**."
        assert "<strong>late</strong>" in copy["description_html"]
        assert copy["origin"]["host"] == a.host and copy["member_count"] == 1 and copy["joining"] == "open"
        assert copy["slug"] != "night-buses"
        listed = ally.api("GET", "/groups", expect=200).get_json()["items"]
        assert [g["ap_id"] for g in listed] == [group["ap_id"]]
    a.api("PATCH", "/groups/night-buses", as_="alice", json={"name": "Night trams now", "joining": "approval"},
          expect=200)
    settle(a, b, c)
    assert copy_of(b, group["ap_id"])["name"] == "Night trams now"
    assert copy_of(b, group["ap_id"])["joining"] == "approval"
    a.api("POST", "/moderation/actions", as_="mod", json={"action": "remove", "target_type": "group",
                                                          "target_id": group["slug"], "reason": "spam"}, expect=201)
    settle(a, b, c)
    assert a.api("GET", "/groups/night-buses").status_code == 404
    assert copy_of(b, group["ap_id"]) is None and copy_of(c, group["ap_id"]) is None
    assert b.api("GET", "/groups", expect=200).get_json()["items"] == []


def test_an_allys_member_joins_an_open_group_from_home_and_leaves(parties):
    a, b, c = parties(3)
    a.member("alice")
    b.member("bob")
    group = make_group(a, "alice", slug="night-buses")
    settle(a, b, c)
    slug_b = copy_of(b, group["ap_id"])["slug"]
    joined = b.api("POST", f"/groups/{slug_b}/join", as_="bob", expect=200).get_json()
    assert joined["state"] == "pending"  # the origin decides
    settle(a, b, c)
    assert b.api("GET", f"/groups/{slug_b}", as_="bob", expect=200).get_json()["my_membership"]["state"] == "active"
    members = a.api("GET", "/groups/night-buses/members", expect=200).get_json()["items"]
    assert sorted(m["member"]["handle"] for m in members) == ["alice", f"bob@{b.host}"]
    assert _count(a, "night-buses") == 2 and _count(b, slug_b) == 2
    assert copy_of(c, group["ap_id"])["member_count"] == 2
    # Joining again changes nothing
    b.api("POST", f"/groups/{slug_b}/join", as_="bob", expect=200)
    settle(a, b, c)
    assert _count(a, "night-buses") == 2 and _count(b, slug_b) == 2

    b.api("DELETE", f"/groups/{slug_b}/membership", as_="bob")
    settle(a, b, c)
    assert _count(a, "night-buses") == 1 and _count(b, slug_b) == 1 and copy_of(c, group["ap_id"])["member_count"] == 1
    assert b.api("GET", f"/groups/{slug_b}", as_="bob", expect=200).get_json()["my_membership"] is None


def test_an_approval_group_decides_and_the_ally_follows(parties):
    a, b = parties(2)
    a.member("alice")
    b.member("bob")
    b.member("carol")
    group = make_group(a, "alice", slug="night-buses", joining="approval")
    settle(a, b)
    slug_b = copy_of(b, group["ap_id"])["slug"]
    b.api("POST", f"/groups/{slug_b}/join", as_="bob", expect=200)
    b.api("POST", f"/groups/{slug_b}/join", as_="carol", expect=200)
    settle(a, b)
    pending = a.api("GET", "/groups/night-buses/members", as_="alice", expect=200).get_json()["items"]
    assert sorted((m["member"]["handle"], m["state"]) for m in pending) == [
        ("alice", "active"), (f"bob@{b.host}", "pending"), (f"carol@{b.host}", "pending")]
    assert b.api("GET", f"/groups/{slug_b}", as_="bob").get_json()["my_membership"]["state"] == "pending"
    a.api("POST", f"/groups/night-buses/members/bob@{b.host}/approve", as_="alice", expect=200)
    a.api("POST", f"/groups/night-buses/members/carol@{b.host}/reject", as_="alice")
    settle(a, b)
    assert b.api("GET", f"/groups/{slug_b}", as_="bob").get_json()["my_membership"]["state"] == "active"
    assert b.api("GET", f"/groups/{slug_b}", as_="carol").get_json()["my_membership"] is None
    assert _count(a, "night-buses") == 2 and _count(b, slug_b) == 2
    # Removed by an organiser: the ally's row goes too
    a.api("DELETE", f"/groups/night-buses/members/bob@{b.host}", as_="alice", json={"reason": "left town"})
    settle(a, b)
    assert b.api("GET", f"/groups/{slug_b}", as_="bob").get_json()["my_membership"] is None
    assert _count(a, "night-buses") == 1 and _count(b, slug_b) == 1


def test_a_locked_group_rejects_an_allys_member(parties):
    from sqlalchemy import select

    from coopol.core.time import utcnow
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.groups.models import Group

    a, b = parties(2)
    a.member("alice")
    b.member("bob")
    group = make_group(a, "alice", slug="night-buses")
    settle(a, b)
    slug_b = copy_of(b, group["ap_id"])["slug"]

    def lock():
        with unit_of_work():
            db.session.scalar(select(Group).where(Group.slug == "night-buses")).locked_at = utcnow()

    a.query(lock)
    b.api("POST", f"/groups/{slug_b}/join", as_="bob", expect=200)
    settle(a, b)
    assert b.api("GET", f"/groups/{slug_b}", as_="bob").get_json()["my_membership"] is None
    assert _count(a, "night-buses") == 1 and _count(b, slug_b) == 1
