"""E-mail addresses stay private; members can export everything stored about them and erase it."""

from __future__ import annotations

import json

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from coopol.accounts.models import ApiToken, Member
from coopol.extensions import db
from tests.conftest import TEST_PASSWORD

# Member columns that are not personal data to hand back: the row id, secrets, and columns only
# remote persons have.
NOT_EXPORTED = {"id", "password_hash", "session_token", "host", "ap_id", "erased_at"}


def test_me_shows_my_own_email_and_nobody_elses(client, create_member, token_for):
    create_member("alice")
    create_member("bob")

    me = client.get("/api/v1/me", headers=token_for("bob"))

    assert me.json["email"] == "bob@example.org"
    assert "alice" not in json.dumps(me.json)


def test_public_member_json_and_profile_never_show_the_email(client, create_member, token_for, auth):
    create_member("alice", display_name="Alice Martin")
    create_member("bob")

    public = client.get("/api/v1/members/alice")
    as_bob = client.get("/api/v1/members/alice", headers=token_for("bob"))
    as_alice = client.get("/api/v1/members/alice", headers=token_for("alice"))
    auth.login("bob")
    profile = client.get("/members/alice")

    assert public.status_code == 200
    assert public.json["handle"] == "alice" and public.json["name"] == "Alice Martin"
    for response in (public, as_bob, as_alice, profile):
        assert b"alice@example.org" not in response.data
        assert b"email" not in response.data
    assert b"Alice Martin" in profile.data


def test_the_openapi_document_keeps_email_out_of_the_public_member(client):
    spec = client.get("/api/openapi.json").json

    public = spec["components"]["schemas"]["MemberProfile"]["properties"]
    assert "email" not in public and "handle" in public
    assert "email" in spec["components"]["schemas"]["Me"]["properties"]


def test_unknown_members_are_404(client):
    assert client.get("/api/v1/members/nobody").status_code == 404
    assert client.get("/members/nobody").status_code == 404


def test_export_contains_everything_stored_about_me_and_no_secret(app, client, create_member, token_for):
    create_member("alice", display_name="Alice Martin")
    headers = token_for("alice")
    client.patch("/api/v1/me", json={"bio": "Gardener.", "locale": "fr"}, headers=headers)
    client.post("/api/v1/me/tokens", json={"name": "second"}, headers=headers)
    client.post("/api/v1/tokens", json={"login": "alice", "password": TEST_PASSWORD})

    response = client.get("/api/v1/me/export", headers=headers)

    assert response.status_code == 200
    data = response.json
    with app.app_context():
        member = db.session.scalar(select(Member).where(Member.handle == "alice"))
        columns = {c.key for c in sa_inspect(Member).columns}
        for column in columns - NOT_EXPORTED:
            assert column in data["account"], f"the export misses members.{column}"
            value = getattr(member, column)
            assert data["account"][column] == (value.isoformat() if hasattr(value, "isoformat") else value)
        token_hashes = set(db.session.scalars(select(ApiToken.token_hash)))
        session_token = member.session_token
        password_hash = member.password_hash
    assert data["account"]["email"] == "alice@example.org"
    assert data["account"]["bio"] == "Gardener." and data["account"]["locale"] == "fr"
    assert [t["name"] for t in data["api_tokens"]] == ["test", "second", ""]
    text = response.get_data(as_text=True)
    for secret in (*token_hashes, session_token, password_hash):
        assert secret not in text


def test_export_as_a_download_from_the_settings_page(client, create_member, auth):
    create_member("alice")
    auth.login("alice")

    response = client.get("/settings/export")

    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert json.loads(response.data)["account"]["handle"] == "alice"


def test_erasure_on_the_api_removes_personal_data_and_every_way_in(app, client, create_member, token_for, auth):
    member_id = create_member("alice", display_name="Alice Martin")
    headers = token_for("alice")
    browser = app.test_client()
    browser.post("/login", data={"login": "alice", "password": TEST_PASSWORD})

    response = client.delete("/api/v1/me", headers=headers)

    assert response.status_code == 204
    with app.app_context():
        member = db.session.get(Member, member_id)
        assert member.erased_at is not None
        assert member.handle != "alice" and member.email is None and member.password_hash is None
        assert member.display_name == "" and member.bio == "" and member.name == "deleted member"
        assert db.session.scalars(select(ApiToken).where(ApiToken.member_id == member_id)).all() == []
    assert browser.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    for login in ("alice", "alice@example.org"):
        assert client.post("/api/v1/tokens", json={"login": login, "password": TEST_PASSWORD}).status_code == 401
    assert client.get("/api/v1/members/alice").status_code == 404
    # A second call cannot erase anything: its token is gone.
    assert client.delete("/api/v1/me", headers=headers).status_code == 401


def test_an_erased_members_handle_and_email_can_be_used_again(client, create_member, token_for):
    create_member("alice")
    client.delete("/api/v1/me", headers=token_for("alice"))

    again = client.post("/api/v1/members", json={"handle": "alice", "email": "alice@example.org",
                                                  "password": TEST_PASSWORD})

    assert again.status_code == 201


def test_erasure_on_the_web_needs_the_handle_typed(app, client, create_member, auth):
    member_id = create_member("alice")
    auth.login("alice")

    refused = client.post("/settings/erase", data={"confirm": "alicia"})
    assert refused.status_code == 422
    with app.app_context():
        assert db.session.get(Member, member_id).erased_at is None

    erased = client.post("/settings/erase", data={"confirm": "alice"}, follow_redirects=True)
    assert b"Your personal data was erased." in erased.data
    assert client.get("/settings").status_code == 302
    with app.app_context():
        assert db.session.get(Member, member_id).email is None


def test_erasure_publishes_events_inside_the_unit_of_work(app, client, create_member, token_for):
    from coopol.core.events import subscribe

    create_member("alice")
    seen = []
    subscribe(app, "member_erasing", lambda member: seen.append(("erasing", member.email)))
    subscribe(app, "member_erased", lambda member: seen.append(("erased", member.email)))

    client.delete("/api/v1/me", headers=token_for("alice"))

    assert seen == [("erasing", "alice@example.org"), ("erased", None)]
