"""Registration on the API and the web: policies (open, invite-only, closed) and every kind of bad input."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from coopol.accounts.models import Invitation
from coopol.cli import cli
from coopol.core.time import utcnow
from coopol.extensions import db
from tests.accounts.conftest import STRONG_PASSWORD


def registration(**overrides):
    body = {"handle": "alice", "email": "alice@example.org", "password": STRONG_PASSWORD}
    body.update(overrides)
    return body


def test_open_registration_creates_a_member_who_can_then_log_in(client, count_rows):
    response = client.post("/api/v1/members", json=registration(display_name="Alice Martin"))

    assert response.status_code == 201, response.json
    assert response.json["handle"] == "alice"
    assert response.json["name"] == "Alice Martin"
    assert response.json["role"] == "member"
    assert "password" not in response.json
    assert count_rows()["members"] == 1
    login = client.post("/api/v1/tokens", json={"login": "alice", "password": STRONG_PASSWORD})
    assert login.status_code == 201


def test_handles_and_emails_are_normalised(client):
    response = client.post("/api/v1/members", json=registration(handle=" Alice ", email="ALICE@Example.ORG"))

    assert response.status_code == 201, response.json
    assert response.json["handle"] == "alice"
    assert response.json["email"] == "alice@example.org"


@pytest.mark.parametrize(("field", "first", "second"), [
    ("handle", {"email": "one@example.org"}, {"email": "two@example.org"}),
    ("email", {"handle": "alice"}, {"handle": "bob", "email": "Alice@Example.org"}),
])
def test_a_duplicate_handle_or_email_is_a_409_naming_the_field(client, count_rows, field, first, second):
    assert client.post("/api/v1/members", json=registration(**first)).status_code == 201
    before = count_rows()

    response = client.post("/api/v1/members", json=registration(**second))

    assert response.status_code == 409
    assert response.json["code"] == 409
    assert list(response.json["errors"]) == [field]
    assert count_rows() == before


@pytest.mark.parametrize(("password", "reason"), [
    ("short", "at least 10 characters"),
    ("password123", "too easy to guess"),
    ("aaaaaaaaaaaaaaaa", "too easy to guess"),
    ("alice is my whole name", "must not contain your handle"),
    ("", "password is required"),
])
def test_a_weak_password_is_a_422_that_says_why(client, count_rows, password, reason):
    response = client.post("/api/v1/members", json=registration(password=password))

    assert response.status_code == 422
    assert reason in " ".join(response.json["errors"]["password"])
    assert count_rows()["members"] == 0


def test_missing_fields_are_each_named(client):
    response = client.post("/api/v1/members", json={})

    assert response.status_code == 422
    assert set(response.json["errors"]) == {"handle", "email", "password"}
    assert response.json["message"].startswith("Some fields are invalid")


@pytest.mark.parametrize(("overrides", "field"), [
    ({"handle": "x"}, "handle"),
    ({"handle": "bad handle!"}, "handle"),
    ({"handle": "admin"}, "handle"),
    ({"email": "not-an-address"}, "email"),
    ({"display_name": "x" * 101}, "display_name"),
    ({"handle": 42}, "handle"),
    ({"display_name": "nul\x00byte"}, "display_name"),
    ({"display_name": "lone \ud800 surrogate"}, "display_name"),
    ({"locale": "klingon-tlh"}, "locale"),
])
def test_invalid_fields_are_a_422_naming_the_field(client, count_rows, overrides, field):
    response = client.post("/api/v1/members", json=registration(**overrides))

    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert count_rows()["members"] == 0


def test_unknown_fields_are_refused(client, count_rows):
    response = client.post("/api/v1/members", json=registration(role="admin"))

    assert response.status_code == 422
    assert response.json["errors"] == {"role": ["Unknown field."]}
    assert count_rows()["members"] == 0


@pytest.mark.parametrize("body", [b"{not json", b'{"handle": "alice",}', b"\xff\xfe\x00", b"[" * 100_000])
def test_malformed_json_is_a_400_json_error(client, count_rows, body):
    response = client.post("/api/v1/members", data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.is_json
    assert response.json["code"] == 400
    assert response.json["message"]
    assert count_rows()["members"] == 0


@pytest.mark.parametrize("body", [b"[1, 2]", b'"text"', b"null", b"42"])
def test_json_that_is_not_an_object_is_a_422(client, body):
    response = client.post("/api/v1/members", data=body, content_type="application/json")

    assert response.status_code == 422
    assert response.json["code"] == 422


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "text/plain", "multipart/form-data"])
def test_a_body_that_is_not_json_is_a_415(client, count_rows, content_type):
    response = client.post("/api/v1/members", data="handle=alice&email=alice@example.org",
                           content_type=content_type)

    assert response.status_code == 415
    assert response.json["code"] == 415
    assert "application/json" in response.json["message"]
    assert count_rows()["members"] == 0


def test_closed_registration_is_refused_on_the_api_and_the_web(make_app):
    app = make_app("closed", REGISTRATION="closed")
    client = app.test_client()

    api = client.post("/api/v1/members", json=registration())
    page = client.get("/register")
    form = client.post("/register", data=registration())

    assert api.status_code == 403
    assert "closed" in api.json["message"]
    assert "Registration is closed" in page.get_data(as_text=True)
    assert b'id="handle"' not in page.data
    assert form.status_code == 403
    assert b"Registration is closed" in form.data
    assert b'href="/register"' not in client.get("/login").data


def test_invite_only_registration_takes_a_code_from_the_cli_once(make_app):
    app = make_app("invite", REGISTRATION="invite")
    client = app.test_client()

    without = client.post("/api/v1/members", json=registration())
    wrong = client.post("/api/v1/members", json=registration(invite_code="not-a-code"))
    created = app.test_cli_runner().invoke(cli, ["invites", "create"])
    code = created.output.strip()
    accepted = client.post("/api/v1/members", json=registration(invite_code=code))
    reused = client.post("/api/v1/members", json=registration(handle="bob", email="bob@example.org",
                                                              invite_code=code))

    assert without.status_code == 422 and "invite_code" in without.json["errors"]
    assert wrong.status_code == 422 and "not valid" in wrong.json["errors"]["invite_code"][0]
    assert created.exit_code == 0 and len(code) >= 12
    assert accepted.status_code == 201, accepted.json
    assert reused.status_code == 422 and "invite_code" in reused.json["errors"]


def test_an_expired_invitation_is_refused(make_app):
    app = make_app("invite", REGISTRATION="invite")
    code = app.test_cli_runner().invoke(cli, ["invites", "create"]).output.strip()
    with app.app_context():
        db.session.execute(update(Invitation).values(expires_at=utcnow() - timedelta(days=1)))
        db.session.commit()

    response = app.test_client().post("/api/v1/members", json=registration(invite_code=code))

    assert response.status_code == 422
    assert "expired" in response.json["errors"]["invite_code"][0]


def test_the_invite_only_web_form_asks_for_the_code(make_app):
    app = make_app("invite", REGISTRATION="invite")
    client = app.test_client()
    code = app.test_cli_runner().invoke(cli, ["invites", "create"]).output.strip()

    assert b'id="invite_code"' in client.get("/register").data
    refused = client.post("/register", data=registration())
    assert refused.status_code == 422
    assert b'id="invite_code-error"' in refused.data
    accepted = client.post("/register", data=registration(invite_code=code))
    assert accepted.status_code == 302


def test_web_registration_logs_the_new_member_in(client):
    response = client.post("/register", data=registration(display_name="Alice Martin"), follow_redirects=True)

    assert response.status_code == 200
    assert response.request.path == "/members/alice"
    assert "Welcome to Coopol local!" in response.get_data(as_text=True)
    assert client.get("/api/v1/me").json["handle"] == "alice"


def test_web_registration_errors_show_next_to_the_fields_and_keep_the_input(client, count_rows):
    response = client.post("/register", data=registration(email="nope", password="short"))
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert 'id="email-error"' in html and "Enter a valid e-mail address." in html
    assert 'id="password-error"' in html and "at least 10 characters" in html
    assert 'value="alice"' in html  # the handle is kept
    assert STRONG_PASSWORD not in html and 'value="short"' not in html  # never the password
    assert count_rows()["members"] == 0


def test_web_registration_of_a_taken_handle_is_a_409_on_the_form(client, create_member, count_rows):
    create_member("alice")
    before = count_rows()

    response = client.post("/register", data=registration(email="other@example.org"))

    assert response.status_code == 409
    assert b'id="handle-error"' in response.data
    assert count_rows() == before


def test_a_nul_character_in_a_form_is_a_422_not_a_database_error(client, count_rows):
    response = client.post("/register", data=registration(display_name="a\x00b"))

    assert response.status_code == 422
    assert b"not allowed" in response.data
    assert count_rows()["members"] == 0
