"""The public profile page and editing one's own profile on the web and the API."""

from __future__ import annotations

import pytest


def test_the_profile_page_shows_public_details(client, create_member, token_for, auth):
    create_member("alice", display_name="Alice Martin", role="moderator")
    client.patch("/api/v1/me", json={"bio": "I grow <b>tomatoes</b>."}, headers=token_for("alice"))

    html = client.get("/members/alice").get_data(as_text=True)

    assert "<h1>Alice Martin</h1>" in html
    assert "@alice" in html and "moderator" in html
    assert "I grow &lt;b&gt;tomatoes&lt;/b&gt;." in html  # escaped, never markup
    assert "Edit my profile" not in html
    auth.login("alice")
    assert "Edit my profile" in client.get("/members/alice").get_data(as_text=True)


def test_an_erased_members_profile_shows_a_deleted_member(app, client, create_member, token_for):
    member_id = create_member("alice", display_name="Alice Martin")
    client.delete("/api/v1/me", headers=token_for("alice"))
    with app.app_context():
        from coopol.accounts.models import Member
        from coopol.extensions import db

        handle = db.session.get(Member, member_id).handle

    html = client.get(f"/members/{handle}").get_data(as_text=True)

    assert "deleted member" in html and "Alice" not in html and "@deleted" not in html


def test_updating_my_profile_on_the_api(client, create_member, token_for):
    create_member("alice")
    headers = token_for("alice")

    response = client.patch("/api/v1/me", json={"display_name": "  Alice M.  ", "bio": "Hi", "locale": "fr"},
                            headers=headers)

    assert response.status_code == 200
    assert response.json["display_name"] == "Alice M." and response.json["locale"] == "fr"
    assert client.get("/api/v1/members/alice").json["name"] == "Alice M."


@pytest.mark.parametrize(("body", "field"), [
    ({"display_name": "x" * 101}, "display_name"),
    ({"bio": "x" * 2001}, "bio"),
    ({"locale": "xx"}, "locale"),
    ({"email": "new@example.org"}, "email"),
    ({"role": "admin"}, "role"),
])
def test_bad_profile_updates_are_422_and_change_nothing(client, create_member, token_for, member_row, body, field):
    create_member("alice")
    headers = token_for("alice")

    response = client.patch("/api/v1/me", json=body, headers=headers)

    assert response.status_code == 422
    assert field in response.json["errors"]
    stored = member_row("alice")
    assert (stored.display_name, stored.bio, stored.locale, stored.role, stored.email) == (
        "", "", None, "member", "alice@example.org")


def test_updating_my_profile_on_the_settings_page(client, create_member, auth, member_row):
    create_member("alice")
    auth.login("alice")

    saved = client.post("/settings", data={"action": "profile", "display_name": "Alice", "bio": "Hello",
                                           "locale": "en"}, follow_redirects=True)
    refused = client.post("/settings", data={"action": "profile", "display_name": "x" * 101, "bio": ""})

    assert b"Your profile was saved." in saved.data
    assert refused.status_code == 422 and b'id="display_name-error"' in refused.data
    assert member_row("alice").display_name == "Alice"


def test_the_settings_page_shows_my_private_email_only_to_me(client, create_member, auth):
    create_member("alice")
    auth.login("alice")

    assert b"alice@example.org" in client.get("/settings").data


def _add_remote_member(app, handle: str, host: str) -> int:
    from coopol.accounts.models import Member
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db

    with app.app_context(), unit_of_work():
        member = Member(handle=f"{handle}@{host}", display_name=handle.title(), host=host, session_token="x",
                        ap_id=f"https://{host}/u/{handle}")
        db.session.add(member)
        db.session.flush()
        return member.id


def test_the_public_profile_on_the_api(app, client, create_member, token_for):
    create_member("alice", display_name="Alice Martin")
    headers = token_for("alice")
    client.patch("/api/v1/me", json={"bio": "Trains."}, headers=headers)
    for title in ("Night trains again", "Free buses for everyone"):
        assert client.post("/api/v1/ideas", json={"title": title, "body": "Yes."}, headers=headers).status_code == 201
    client.post("/api/v1/ideas", json={"title": "A private draft", "body": "Shh.", "publish": False}, headers=headers)

    for name in ("alice", "ALICE", "@alice", f"alice@{app.config['SERVER_HOST']}"):
        response = client.get(f"/api/v1/members/{name}")
        assert response.status_code == 200, name
        profile = response.json
        assert profile["handle"] == "alice" and profile["name"] == "Alice Martin" and profile["bio"] == "Trains."
        assert profile["instance"] == app.config["SERVER_HOST"] and profile["created_at"]
        assert (profile["idea_count"], profile["follower_count"], profile["following_count"]) == (2, 0, 0)
        assert b"alice@example.org" not in response.data and "email" not in profile


def test_a_known_remote_member_is_named_with_their_host(app, client):
    _add_remote_member(app, "rosa", "ally.example")

    profile = client.get("/api/v1/members/rosa@ally.example").json

    assert profile["handle"] == "rosa@ally.example" and profile["instance"] == "ally.example"
    assert profile["idea_count"] == 0


@pytest.mark.parametrize("name", ["nobody", "rosa@elsewhere.example", "alice@ally.example", "%EF%BC%91", "a" * 300])
def test_unknown_members_are_a_json_404(app, client, create_member, name):
    create_member("alice")
    _add_remote_member(app, "rosa", "ally.example")

    response = client.get(f"/api/v1/members/{name}")

    assert response.status_code == 404
    assert response.json["code"] == 404 and response.json["message"]


def test_an_erased_member_has_no_public_profile(app, client, create_member, token_for):
    member_id = create_member("alice")
    client.delete("/api/v1/me", headers=token_for("alice"))
    with app.app_context():
        from coopol.accounts.models import Member
        from coopol.extensions import db

        handle = db.session.get(Member, member_id).handle

    assert client.get("/api/v1/members/alice").status_code == 404
    assert client.get(f"/api/v1/members/{handle}").status_code == 404
