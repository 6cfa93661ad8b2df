"""Ideas posted in a local group: who may post there (API and web form), the idea's `group`, the `group`
filter of the lists, and the group page's "Ideas posted here" section."""

from __future__ import annotations

import pytest


@pytest.fixture
def group(client):
    """`group(headers, "cycling")`: a thematic group made through the API by the member of `headers`."""

    def factory(headers, slug: str, **fields):
        fields.setdefault("name", slug.replace("-", " ").title())
        response = client.post("/api/v1/groups", json={"kind": "thematic", "slug": slug, **fields}, headers=headers)
        assert response.status_code == 201, response.json
        return response.json

    return factory


def _post(client, headers, **fields):
    fields.setdefault("title", "Safe bike lanes")
    fields.setdefault("body", "Everywhere in town.")
    return client.post("/api/v1/ideas", json=fields, headers=headers)


def _set_group(app, slug: str, **columns):
    from sqlalchemy import update

    from coopol.core.time import utcnow
    from coopol.extensions import db
    from coopol.groups.models import Group

    with app.app_context():
        db.session.execute(update(Group).where(Group.slug == slug).values(
            **{name: (utcnow() if value is True else value) for name, value in columns.items()}))
        db.session.commit()


def test_a_member_posts_an_idea_in_their_group_and_it_shows_and_filters(client, member, group):
    alice, bob = member("alice"), member("bob")
    group(alice, "cycling", name="Cycling club")
    assert client.post("/api/v1/groups/cycling/join", headers=bob).status_code in (200, 201)

    posted = _post(client, bob, group="cycling")
    assert posted.status_code == 201, posted.json
    shown = posted.json["group"]
    assert (shown["slug"], shown["name"]) == ("cycling", "Cycling club") and shown["url"].endswith("/groups/cycling")
    elsewhere = _post(client, alice, title="Nothing to do with the group")
    assert elsewhere.status_code == 201 and elsewhere.json["group"] is None

    listed = client.get("/api/v1/ideas?group=cycling").json["items"]
    assert [i["id"] for i in listed] == [posted.json["id"]]
    assert client.get("/api/v1/ideas?group=no-such-group").json["items"] == []
    assert client.get(f"/api/v1/ideas/{posted.json['id']}").json["group"]["name"] == "Cycling club"

    page = client.get("/ideas?group=cycling").get_data(as_text=True)
    assert "Safe bike lanes" in page and "Nothing to do with the group" not in page
    assert 'data-testid="group-filter"' in page
    show = client.get(f"/ideas/{posted.json['id']}").get_data(as_text=True)
    assert 'data-testid="idea-group"' in show and "Cycling club" in show


def test_edit_moves_an_idea_into_and_out_of_a_group(client, member, group):
    alice = member("alice")
    group(alice, "cycling")
    idea = _post(client, alice).json
    moved = client.patch(f"/api/v1/ideas/{idea['id']}", json={"group": "cycling"}, headers=alice)
    assert moved.status_code == 200 and moved.json["group"]["slug"] == "cycling"
    assert moved.json["edited"] is False  # where it is posted is not what people voted on
    out = client.patch(f"/api/v1/ideas/{idea['id']}", json={"group": None}, headers=alice)
    assert out.status_code == 200 and out.json["group"] is None
    assert client.get("/api/v1/ideas?group=cycling").json["items"] == []


def test_a_member_who_left_keeps_the_idea_in_the_group_while_editing_it(client, member, group):
    alice, bob = member("alice"), member("bob")
    group(alice, "cycling")
    client.post("/api/v1/groups/cycling/join", headers=bob)
    idea = _post(client, bob, group="cycling").json
    assert client.delete("/api/v1/groups/cycling/membership", headers=bob).status_code in (200, 204)
    edited = client.patch(f"/api/v1/ideas/{idea['id']}", json={"title": "Safer bike lanes", "group": "cycling"},
                          headers=bob)
    assert edited.status_code == 200, edited.json
    assert edited.json["group"]["slug"] == "cycling"


@pytest.mark.parametrize("case", ["not_a_member", "pending", "unknown", "hidden", "removed", "locked", "ally_copy",
                                  "not_a_string"])
def test_posting_where_one_may_not_is_a_422_naming_group_and_writes_nothing(app, client, member, group,
                                                                           count_rows, case):
    alice, bob = member("alice"), member("bob")
    group(alice, "cycling")
    group(alice, "approval-club", joining="approval")
    slug = "cycling"
    if case == "pending":
        client.post("/api/v1/groups/approval-club/join", headers=bob)
        slug = "approval-club"
    elif case == "unknown":
        slug = "no-such-group"
    elif case in ("hidden", "removed", "locked"):
        client.post("/api/v1/groups/cycling/join", headers=bob)
        _set_group(app, "cycling", **{f"{case}_at": True})
    elif case == "ally_copy":
        from coopol.core.uow import unit_of_work
        from coopol.groups.copies import store_group_copy

        with app.test_request_context(), unit_of_work():
            copy = store_group_copy(ap_id="https://ally.example/groups/rail", origin_host="ally.example",
                                    origin_name="Ally", slug="rail", name="Rail", description="", kind="thematic",
                                    scope=None, joining="open", member_count=3)
            slug = copy.slug
    before = count_rows()
    response = _post(client, bob, group=slug if case != "not_a_string" else ["cycling"])
    assert response.status_code == 422, response.json
    assert "group" in response.json["errors"]
    assert count_rows() == before

    if case == "not_a_member":
        idea = _post(client, bob).json
        moved = client.patch(f"/api/v1/ideas/{idea['id']}", json={"group": "cycling"}, headers=bob)
        assert moved.status_code == 422 and "group" in moved.json["errors"]
        assert client.get(f"/api/v1/ideas/{idea['id']}").json["group"] is None


def test_the_web_form_offers_the_members_groups_and_refuses_others(client, member, group, auth):
    alice = member("alice")
    group(alice, "cycling", name="Cycling club")
    member("carol")
    group(member("dave"), "rail-users", name="Rail users")
    auth.login("alice")
    form = client.get("/ideas/new").get_data(as_text=True)
    assert 'name="group"' in form and "Cycling club" in form and "Rail users" not in form
    posted = client.post("/ideas/new", data={"title": "Bike parking", "body": "At every station.", "group": "cycling",
                                            "action": "publish"})
    assert posted.status_code == 302, posted.get_data(as_text=True)[:500]
    assert client.get("/api/v1/ideas?group=cycling").json["items"][0]["title"] == "Bike parking"
    refused = client.post("/ideas/new", data={"title": "Train times", "body": "Better.", "group": "rail-users",
                                             "action": "publish"})
    assert refused.status_code == 422
    assert "Only the members of this group may post in it." in refused.get_data(as_text=True)


def test_the_group_page_shows_the_ideas_posted_here_with_their_count(app, client, member, group):
    alice = member("alice")
    group(alice, "cycling")
    group(alice, "rail")
    titles = [f"Cycling idea {n}" for n in range(7)]
    for title in titles:
        assert _post(client, alice, title=title, group="cycling").status_code == 201
    _post(client, alice, title="A draft in the group", group="cycling", publish=False)
    _post(client, alice, title="A rail idea", group="rail")

    page = client.get("/groups/cycling").get_data(as_text=True)
    assert 'data-testid="section-ideas"' in page and "Ideas posted here" in page
    assert "7 ideas" in page
    assert "Cycling idea 6" in page and "Cycling idea 0" not in page  # newest first, five of them
    assert "A draft in the group" not in page and "A rail idea" not in page
    assert 'data-testid="group-ideas-all"' in page and "/ideas?group=cycling" in page
    empty = client.get("/groups/rail").get_data(as_text=True)
    assert "1 idea" in empty
