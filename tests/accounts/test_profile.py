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
