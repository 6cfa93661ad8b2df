"""The groups API as API.md promises it: shapes, filters, keyset pages, bad input and permissions."""

from __future__ import annotations

import pytest

GROUP_FIELDS = {"slug", "name", "description", "description_html", "kind", "scope", "joining", "member_count",
                "upcoming_event_count", "url", "ap_id", "origin", "my_membership"}


def test_create_answers_the_promised_group_shape(client, member, rows):
    alice = member("alice")
    response = client.post("/api/v1/groups", json={
        "name": "Paris greens", "description": "We *meet* on Tuesdays.", "kind": "territorial",
        "scope": "fr-paris", "joining": "open"}, headers=alice)

    assert response.status_code == 201
    group = response.json
    assert GROUP_FIELDS <= set(group)
    assert group["slug"] == "paris-greens"
    assert group["description_html"] == "<p>We <em>meet</em> on Tuesdays.</p>\n"
    assert group["url"] == "http://local.coopol.test/groups/paris-greens" == group["ap_id"]
    assert group["origin"] == {"host": "local.coopol.test", "name": "Coopol local"}
    assert group["member_count"] == 1 and group["upcoming_event_count"] == 0
    assert group["my_membership"] == {"role": "organiser", "state": "active"}
    assert rows() == {"groups": 1, "group_memberships": 1}
    assert client.get("/api/v1/groups/paris-greens").json["my_membership"] is None


def test_description_is_sanitised_as_ideas_are(client, member):
    alice = member("alice")
    response = client.post("/api/v1/groups", json={
        "name": "Sneaky", "kind": "thematic",
        "description": "<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=alert(1)>"},
        headers=alice)
    html = response.json["description_html"]
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # shown as text, not run


def test_slugs_are_made_unique_from_the_name(client, member, create_group):
    alice = member("alice")
    assert create_group(alice, name="Écologie à Paris")["slug"] == "ecologie-a-paris"
    assert create_group(alice, name="Écologie à Paris")["slug"] == "ecologie-a-paris-2"
    assert create_group(alice, name="Новая группа")["slug"] == "group"


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "ok name", "kind": "thematic", "slug": "Bad Slug"}, "slug"),
    ({"name": "ok name", "kind": "thematic", "slug": "-edge"}, "slug"),
    ({"name": "ok name", "kind": "thematic", "slug": "ab"}, "slug"),
    ({"name": "ok name", "kind": "thematic", "slug": "new"}, "slug"),
    ({"name": "ok name", "kind": "territorial", "scope": "atlantis"}, "scope"),
    ({"name": "ok name", "kind": "thematic", "scope": "atlantis"}, "scope"),
    ({"name": "ok name", "kind": "territorial"}, "scope"),
    ({"name": "ab", "kind": "thematic"}, "name"),
    ({"name": "x" * 101, "kind": "thematic"}, "name"),
    ({"name": "ok name", "kind": "club"}, "kind"),
    ({"name": "ok name", "kind": "thematic", "joining": "invite"}, "joining"),
    ({"name": "ok name", "kind": "thematic", "logo_url": "javascript:alert(1)"}, "logo_url"),
    ({"name": "ok name", "kind": "thematic", "description": "x" * 10_001}, "description"),
    ({"name": "ok name", "kind": "thematic", "colour": "red"}, "colour"),
    ({"kind": "thematic"}, "name"),
])
def test_bad_input_is_a_422_naming_the_field_and_stores_nothing(client, member, rows, body, field):
    alice = member("alice")
    response = client.post("/api/v1/groups", json=body, headers=alice)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert set(response.json) == {"code", "status", "message", "errors"}
    assert rows() == {"groups": 0, "group_memberships": 0}


def test_a_taken_slug_is_a_422_on_slug(client, member, create_group, rows):
    alice = member("alice")
    create_group(alice, name="First", slug="climate")
    response = client.post("/api/v1/groups", json={"name": "Second", "kind": "thematic", "slug": "climate"},
                           headers=alice)
    assert response.status_code == 422 and "slug" in response.json["errors"]
    assert rows() == {"groups": 1, "group_memberships": 1}


def test_visitors_cannot_create_and_suspended_members_are_refused(app, client, member, rows):
    assert client.post("/api/v1/groups", json={"name": "Nope", "kind": "thematic"}).status_code == 401
    bob = member("bob")
    from coopol.accounts.models import Member
    from coopol.extensions import db

    with app.app_context():
        db.session.query(Member).filter_by(handle="bob").update({"status": "banned"})
        db.session.commit()
    assert client.post("/api/v1/groups", json={"name": "Nope", "kind": "thematic"}, headers=bob).status_code in (
        401, 403)
    assert rows() == {"groups": 0, "group_memberships": 0}


def test_missing_groups_are_404(client, member):
    alice = member("alice")
    for path in ("/api/v1/groups/nope", "/api/v1/groups/NOT%20A%20SLUG", "/api/v1/groups/nope/members"):
        response = client.get(path)
        assert response.status_code == 404 and response.json["code"] == 404
    assert client.post("/api/v1/groups/nope/join", headers=alice).status_code == 404
    assert client.patch("/api/v1/groups/nope", json={"name": "xyz"}, headers=alice).status_code == 404


def test_list_filters_by_scope_including_below_and_by_words(client, member, create_group):
    alice = member("alice")
    create_group(alice, name="France entière", kind="territorial", scope="fr")
    create_group(alice, name="Paris centre", kind="territorial", scope="fr-paris")
    create_group(alice, name="Barcelona", kind="territorial", scope="es-barcelona")
    create_group(alice, name="Cycling", kind="thematic", description="Bikes 100% of the time")

    def slugs(query: str) -> list[str]:
        response = client.get(f"/api/v1/groups?{query}")
        assert response.status_code == 200, response.json
        return [g["slug"] for g in response.json["items"]]

    assert slugs("scope=fr") == ["paris-centre", "france-entiere"]
    assert slugs("scope=fr-idf") == ["paris-centre"]
    assert slugs("scope=es") == ["barcelona"]
    assert slugs("q=BIKES") == ["cycling"]
    assert slugs("q=100%25") == ["cycling"]
    assert slugs("q=_") == []
    assert len(slugs("")) == 4
    bad = client.get("/api/v1/groups?scope=atlantis")
    assert bad.status_code == 422 and "scope" in bad.json["errors"]
    assert client.get("/api/v1/groups?limit=101").status_code == 422
    assert client.get("/api/v1/groups?cursor=abc").status_code == 422


def test_list_is_keyset_paged(client, member, create_group):
    alice = member("alice")
    for n in range(5):
        create_group(alice, name=f"Group number {n}")
    seen, cursor = [], None
    while True:
        response = client.get("/api/v1/groups", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})})
        page = response.json
        assert set(page) == {"items", "next_cursor"} and len(page["items"]) <= 2
        seen += [g["slug"] for g in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"group-number-{n}" for n in reversed(range(5))]


def test_update_by_organisers_only(client, member, create_group):
    alice, bob = member("alice"), member("bob")
    create_group(alice, name="Climate", slug="climate")
    client.post("/api/v1/groups/climate/join", headers=bob)

    refused = client.patch("/api/v1/groups/climate", json={"name": "Taken over"}, headers=bob)
    assert refused.status_code == 403
    assert client.patch("/api/v1/groups/climate", json={"name": "Taken"}).status_code == 401

    response = client.patch("/api/v1/groups/climate", json={"name": "Climate now", "description": "**Act**",
                                                            "joining": "approval"}, headers=alice)
    assert response.status_code == 200
    assert response.json["name"] == "Climate now" and response.json["joining"] == "approval"
    assert response.json["description_html"] == "<p><strong>Act</strong></p>\n"
    bad = client.patch("/api/v1/groups/climate", json={"kind": "territorial"}, headers=alice)
    assert bad.status_code == 422 and "scope" in bad.json["errors"]
    assert client.patch("/api/v1/groups/climate", json={"slug": "other"}, headers=alice).status_code == 422
    after = client.get("/api/v1/groups/climate").json
    assert after["name"] == "Climate now" and after["kind"] == "thematic" and after["slug"] == "climate"


def test_members_list_shows_pending_requests_to_organisers_only(client, member, create_group):
    alice, bob, carol = member("alice"), member("bob"), member("carol")
    create_group(alice, name="Closed circle", slug="circle", joining="approval")
    assert client.post("/api/v1/groups/circle/join", headers=bob).json == {"role": "member", "state": "pending"}

    public = client.get("/api/v1/groups/circle/members").json
    assert [(m["member"]["handle"], m["role"], m["state"]) for m in public["items"]] == [
        ("alice", "organiser", "active")]
    assert "email" not in public["items"][0]["member"]
    organiser_view = client.get("/api/v1/groups/circle/members", headers=alice).json
    assert [(m["member"]["handle"], m["state"]) for m in organiser_view["items"]] == [
        ("alice", "active"), ("bob", "pending")]
    assert len(client.get("/api/v1/groups/circle/members", headers=carol).json["items"]) == 1


def test_the_openapi_document_lists_the_group_routes_and_shape(client):
    spec = client.get("/api/openapi.json").json
    for path in ("/api/v1/groups", "/api/v1/groups/{slug}", "/api/v1/groups/{slug}/join",
                 "/api/v1/groups/{slug}/membership", "/api/v1/groups/{slug}/members"):
        assert path in spec["paths"], path
    assert GROUP_FIELDS <= set(spec["components"]["schemas"]["Group"]["properties"])
    assert set(spec["paths"]["/api/v1/groups"]) >= {"get", "post"}
