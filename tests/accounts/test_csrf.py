"""CSRF protection as in production: forms need the token; API calls need it (X-CSRFToken) only when
they ride on the browser's cookies; bearer-token calls and cookie-less calls do not."""

from __future__ import annotations

import pytest

from tests.accounts.conftest import csrf_token_from
from tests.conftest import TEST_PASSWORD


@pytest.fixture
def csrf_app(make_app):
    return make_app("csrf", WTF_CSRF_ENABLED=True)


@pytest.fixture
def alice(csrf_app, create_member):
    return create_member("alice", target_app=csrf_app)


def _log_in(client) -> str:
    token = csrf_token_from(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"login": "alice", "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    return token


def test_a_form_without_the_token_is_refused_with_a_message(csrf_app, alice, count_rows_in):
    client = csrf_app.test_client()
    before = count_rows_in(csrf_app)

    login = client.post("/login", data={"login": "alice", "password": TEST_PASSWORD})
    register = client.post("/register", data={"handle": "bob", "email": "bob@example.org",
                                              "password": TEST_PASSWORD})

    for response in (login, register):
        assert response.status_code == 400
        assert response.mimetype == "text/html"
        assert b"The CSRF token is missing." in response.data
        assert b"Reload the page and try again." in response.data
    assert client.get("/api/v1/me").status_code == 401
    assert count_rows_in(csrf_app) == before


def test_a_form_with_a_wrong_token_is_refused(csrf_app, alice):
    client = csrf_app.test_client()
    client.get("/login")

    response = client.post("/login", data={"login": "alice", "password": TEST_PASSWORD, "csrf_token": "forged"})

    assert response.status_code == 400
    assert client.get("/api/v1/me").status_code == 401


def test_a_form_with_the_token_works(csrf_app, alice):
    client = csrf_app.test_client()

    _log_in(client)

    assert client.get("/api/v1/me").json["handle"] == "alice"


def test_logout_and_other_forms_of_a_logged_in_member_need_the_token(csrf_app, alice):
    client = csrf_app.test_client()
    token = _log_in(client)

    assert client.post("/logout").status_code == 400
    assert client.post("/settings/tokens", data={"name": "x"}).status_code == 400
    assert client.post("/settings/erase", data={"confirm": "alice"}).status_code == 400
    assert client.get("/api/v1/me").status_code == 200
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/api/v1/me").status_code == 401


def test_api_calls_riding_on_the_session_need_the_csrf_header(csrf_app, alice):
    client = csrf_app.test_client()
    token = _log_in(client)

    without = client.post("/api/v1/me/tokens", json={"name": "x"})
    erase = client.delete("/api/v1/me")
    with_header = client.post("/api/v1/me/tokens", json={"name": "x"}, headers={"X-CSRFToken": token})

    assert without.status_code == 400
    assert without.is_json and "CSRF" in without.json["message"]
    assert erase.status_code == 400
    assert client.get("/api/v1/me").status_code == 200  # not erased
    assert with_header.status_code == 201
    assert client.get("/api/v1/me").status_code == 200  # reading needs no token


def test_bearer_token_calls_need_no_csrf_token(csrf_app, alice, token_for):
    headers = token_for("alice", target_app=csrf_app)
    client = csrf_app.test_client()
    _log_in(client)  # even with the session cookie present, the bearer token is what counts

    created = client.post("/api/v1/me/tokens", json={"name": "x"}, headers=headers)
    patched = csrf_app.test_client().patch("/api/v1/me", json={"bio": "hello"}, headers=headers)

    assert created.status_code == 201
    assert patched.status_code == 200 and patched.json["bio"] == "hello"


def test_cookieless_api_calls_need_no_csrf_token(csrf_app, alice):
    client = csrf_app.test_client()

    token = client.post("/api/v1/tokens", json={"login": "alice", "password": TEST_PASSWORD})
    registered = client.post("/api/v1/members", json={"handle": "bob", "email": "bob@example.org",
                                                      "password": TEST_PASSWORD})

    assert token.status_code == 201
    assert registered.status_code == 201


def test_an_invalid_bearer_token_does_not_fall_back_to_the_session(csrf_app, alice):
    client = csrf_app.test_client()
    _log_in(client)

    response = client.post("/api/v1/me/tokens", json={"name": "x"}, headers={"Authorization": "Bearer cpl_nope"})

    assert response.status_code == 401


@pytest.fixture
def count_rows_in():
    from sqlalchemy import func, select

    from coopol.accounts.models import ApiToken, Member
    from coopol.extensions import db

    def counts(app):
        with app.app_context():
            result = [db.session.scalar(select(func.count()).select_from(m)) for m in (Member, ApiToken)]
            db.session.remove()
            return result

    return counts
