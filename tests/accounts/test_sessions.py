"""Logging in and out on the web and for a token; what ends a session; session cookie flags."""

from __future__ import annotations

from datetime import timedelta

import pytest

from coopol.core.time import utcnow
from tests.accounts.conftest import STRONG_PASSWORD
from tests.conftest import TEST_PASSWORD


def test_web_login_and_logout(client, create_member, auth):
    create_member("alice", display_name="Alice Martin")

    response = auth.login("alice")
    assert response.status_code == 302
    page = client.get("/", follow_redirects=True).data
    assert b'data-testid="me"' in page and b"Alice Martin" in page
    assert client.get("/api/v1/me").json["handle"] == "alice"

    logged_out = auth.logout()
    assert logged_out.status_code == 302
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/settings").status_code == 302


def test_login_accepts_the_email_address_in_any_case(client, create_member, auth):
    create_member("alice")

    assert auth.login("ALICE@example.org").status_code == 302
    assert client.get("/api/v1/me").json["handle"] == "alice"


@pytest.mark.parametrize(("login", "password"), [
    ("alice", "not the right password"),
    ("nobody", TEST_PASSWORD),
    ("nobody@example.org", TEST_PASSWORD),
    ("alice", ""),
    ("", ""),
])
def test_wrong_credentials_get_one_message_whatever_was_wrong(client, create_member, login, password):
    create_member("alice")

    api = client.post("/api/v1/tokens", json={"login": login, "password": password})
    page = client.post("/login", data={"login": login, "password": password})

    assert api.status_code == 401
    assert api.json["message"] == "Invalid login or password."
    assert api.json["errors"] == {}
    assert page.status_code == 401
    assert b"Invalid login or password." in page.data
    assert client.get("/api/v1/me").status_code == 401


def test_a_failed_login_records_nothing(client, create_member, member_row):
    create_member("alice")

    client.post("/login", data={"login": "alice", "password": "not the right password"})

    assert member_row("alice").last_login_at is None
    client.post("/login", data={"login": "alice", "password": TEST_PASSWORD})
    assert member_row("alice").last_login_at is not None


def test_login_for_a_token_gives_a_working_token(client, create_member):
    create_member("alice")

    response = client.post("/api/v1/tokens", json={"login": "alice", "password": TEST_PASSWORD, "name": "laptop"})

    assert response.status_code == 201
    token = response.json["token"]
    assert token.startswith("cpl_") and response.json["prefix"] == token[:10]
    assert response.json["name"] == "laptop"
    assert "set-cookie" not in {k.lower() for k in response.headers.keys()}  # no session for API clients
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["handle"] == "alice"


def test_login_for_a_token_refuses_unknown_fields(client, create_member):
    create_member("alice")

    response = client.post("/api/v1/tokens", json={"login": "alice", "password": TEST_PASSWORD, "scope": "all"})

    assert response.status_code == 422
    assert "scope" in response.json["errors"]


def test_login_redirects_only_to_local_pages(client, create_member):
    create_member("alice")
    credentials = {"login": "alice", "password": TEST_PASSWORD}

    local = client.post("/login?next=/settings", data=credentials)
    assert local.headers["Location"] == "/settings"
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example", "/\\/evil.example",
                   "javascript:alert(1)"):
        client.post("/logout")
        response = client.post("/login", query_string={"next": target}, data=credentials)
        assert response.status_code == 302
        assert "evil" not in response.headers["Location"] and "javascript" not in response.headers["Location"]


@pytest.mark.parametrize("status", ["suspended", "banned"])
def test_restricted_members_lose_their_sessions_and_tokens(client, create_member, token_for, auth, set_member,
                                                           status):
    create_member("alice")
    headers = token_for("alice")
    auth.login("alice")
    assert client.get("/api/v1/me").status_code == 200
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    set_member("alice", status=status, suspended_until=utcnow() + timedelta(days=3))

    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.get("/settings").status_code == 302
    relogin = client.post("/api/v1/tokens", json={"login": "alice", "password": TEST_PASSWORD})
    assert relogin.status_code == 403
    assert status in relogin.json["message"]
    page = client.post("/login", data={"login": "alice", "password": TEST_PASSWORD})
    assert page.status_code == 403 and status.encode() in page.data


def test_a_suspension_that_ran_out_lets_the_member_back_in(client, create_member, token_for, set_member):
    create_member("alice")
    headers = token_for("alice")

    set_member("alice", status="suspended", suspended_until=utcnow() - timedelta(minutes=1))

    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_changing_the_password_ends_the_other_sessions_but_not_this_one(app, create_member, auth):
    create_member("alice")
    laptop, phone = app.test_client(), app.test_client()
    laptop.post("/login", data={"login": "alice", "password": TEST_PASSWORD})
    phone.post("/login", data={"login": "alice", "password": TEST_PASSWORD})

    response = laptop.post("/settings", data={"action": "password", "current_password": TEST_PASSWORD,
                                              "new_password": STRONG_PASSWORD})

    assert response.status_code == 302
    assert laptop.get("/api/v1/me").status_code == 200
    assert phone.get("/api/v1/me").status_code == 401
    assert app.test_client().post("/api/v1/tokens", json={"login": "alice", "password": TEST_PASSWORD}
                                  ).status_code == 401
    assert app.test_client().post("/api/v1/tokens", json={"login": "alice", "password": STRONG_PASSWORD}
                                  ).status_code == 201


def test_a_password_change_needs_the_current_password_and_a_strong_new_one(client, create_member, auth,
                                                                           member_row):
    create_member("alice")
    auth.login("alice")
    before = member_row("alice").password_hash

    wrong = client.post("/settings", data={"action": "password", "current_password": "not it at all",
                                           "new_password": STRONG_PASSWORD})
    weak = client.post("/settings", data={"action": "password", "current_password": TEST_PASSWORD,
                                          "new_password": "short"})

    assert wrong.status_code == 422 and b'id="current_password-error"' in wrong.data
    assert weak.status_code == 422 and b'id="new_password-error"' in weak.data
    assert member_row("alice").password_hash == before
    assert client.get("/api/v1/me").status_code == 200


def test_remember_me_sets_a_lasting_cookie(client, create_member):
    create_member("alice")

    response = client.post("/login", data={"login": "alice", "password": TEST_PASSWORD, "remember": "1"})

    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "SameSite=Lax" in remember[0]


@pytest.mark.parametrize(("url", "secure"), [("http://local.coopol.test", False),
                                             ("https://ideas.party.example", True)])
def test_session_cookie_flags(make_app, url, secure):
    app = make_app("cookies", URL=url)
    from coopol.accounts.services import register_member
    from coopol.core.uow import unit_of_work

    with app.app_context(), unit_of_work():
        register_member("alice", "alice@example.org", TEST_PASSWORD, bypass_policy=True)

    response = app.test_client().post("/login", data={"login": "alice", "password": TEST_PASSWORD, "remember": "1"},
                                      base_url=url)

    cookies = {c.split("=", 1)[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):
        assert "HttpOnly" in cookies[name]
        assert "SameSite=Lax" in cookies[name]
        assert ("Secure" in cookies[name]) is secure
