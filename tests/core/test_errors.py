"""One error shape on the API (and every JSON client); HTML error pages on the web; no 500 for bad input."""

from __future__ import annotations

import pytest
from flask import abort
from sqlalchemy import func, select

from coopol.accounts.models import Member
from coopol.core.errors import Conflict, NotFound, PayloadTooLarge, PermissionDenied, ValidationFailed
from coopol.extensions import db

ERROR_KEYS = {"code", "status", "message", "errors"}


@pytest.fixture
def error_app(make_app):
    """An instance with test-only routes that fail in each way."""
    app = make_app("errors")

    def crash():
        raise RuntimeError("secret internal detail")

    def invalid():
        raise ValidationFailed.fields({"title": ["Too short."], "body": ["Required."]})

    def domain(kind: str):
        raise {"403": PermissionDenied("Not yours."), "404": NotFound("No such idea."),
               "409": Conflict("Already done.", {"state": ["Already done."]}),
               "413": PayloadTooLarge("Too big.")}[kind]

    def write_then_fail():
        from coopol.accounts.services import register_member

        register_member("written", "written@example.org", "a long and unusual pass phrase", bypass_policy=True)
        raise ValidationFailed.field("x", "Refused after a write.")

    def write_then_crash():
        from coopol.accounts.services import register_member

        register_member("written", "written@example.org", "a long and unusual pass phrase", bypass_policy=True)
        raise RuntimeError("boom")

    def broken_session():
        # A failed statement leaves the transaction unusable (aborted on PostgreSQL); the error page,
        # which shows who is logged in, must still render.
        try:
            db.session.execute(select(func.nonexistent_function()))
        except Exception:
            pass
        raise RuntimeError("after a database error")

    for prefix in ("/api/v1/test", "/test"):
        app.add_url_rule(f"{prefix}/crash", f"crash{prefix}", crash)
        app.add_url_rule(f"{prefix}/invalid", f"invalid{prefix}", invalid)
        app.add_url_rule(f"{prefix}/domain/<kind>", f"domain{prefix}", domain)
        app.add_url_rule(f"{prefix}/write-then-fail", f"wtf{prefix}", write_then_fail, methods=["POST"])
        app.add_url_rule(f"{prefix}/write-then-crash", f"wtc{prefix}", write_then_crash, methods=["POST"])
        app.add_url_rule(f"{prefix}/broken-session", f"broken{prefix}", broken_session)
        app.add_url_rule(f"{prefix}/abort/<int:code>", f"abort{prefix}", lambda code: abort(code))
    return app


@pytest.fixture
def api(error_app):
    return error_app.test_client()


def members(app) -> int:
    with app.app_context():
        count = db.session.scalar(select(func.count(Member.id)))
        db.session.remove()
        return count


def assert_error_shape(response, code: int) -> None:
    assert response.status_code == code
    assert response.is_json, response.data[:200]
    assert set(response.json) == ERROR_KEYS
    assert response.json["code"] == code
    assert isinstance(response.json["message"], str) and response.json["message"]
    assert isinstance(response.json["errors"], dict)


def test_api_404_for_an_unknown_path(api):
    response = api.get("/api/v1/no/such/thing")

    assert_error_shape(response, 404)
    assert response.json["status"] == "Not Found"


def test_api_405_names_the_allowed_methods(api):
    response = api.put("/api/v1/me")

    assert_error_shape(response, 405)
    assert "GET" in response.headers["Allow"]


def test_api_422_lists_each_field(api):
    response = api.get("/api/v1/test/invalid")

    assert_error_shape(response, 422)
    assert response.json["errors"] == {"title": ["Too short."], "body": ["Required."]}
    assert response.json["message"] == "Some fields are invalid: Description, Title"


@pytest.mark.parametrize("kind", ["403", "404", "409", "413"])
def test_domain_errors_keep_their_status_and_message(api, kind):
    response = api.get(f"/api/v1/test/domain/{kind}")

    assert_error_shape(response, int(kind))


def test_api_500_is_generic_and_logged(api, caplog):
    response = api.get("/api/v1/test/crash")

    assert_error_shape(response, 500)
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert "logged" in response.json["message"]
    assert any("Unhandled error on GET /api/v1/test/crash" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("code", [400, 401, 403, 404, 409, 413, 415, 429, 500, 503])
def test_every_http_error_has_the_shape(api, code):
    assert_error_shape(api.get(f"/api/v1/test/abort/{code}"), code)


def test_json_clients_get_json_errors_outside_the_api(api):
    response = api.get("/no/such/page", headers={"Accept": "application/json"})

    assert_error_shape(response, 404)


def test_a_too_large_body_is_a_413(api):
    response = api.post("/api/v1/members", data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                        content_type="application/json")

    assert_error_shape(response, 413)


@pytest.mark.parametrize("prefix", ["/api/v1/test", "/test"])
def test_a_failed_request_writes_nothing(error_app, api, prefix):
    assert api.post(f"{prefix}/write-then-fail").status_code == 422
    assert api.post(f"{prefix}/write-then-crash").status_code == 500
    assert members(error_app) == 0


def test_pages_get_html_error_pages(api):
    not_found = api.get("/no/such/page")
    not_allowed = api.delete("/login")
    invalid = api.get("/test/invalid")

    for response, code in ((not_found, 404), (not_allowed, 405), (invalid, 422)):
        assert response.status_code == code
        assert response.mimetype == "text/html"
        html = response.get_data(as_text=True)
        assert f"<h1>{code}</h1>" in html
        assert 'class="error-message"' in html
        assert "Content-Security-Policy" in response.headers
    assert "Nothing exists at this address." in not_found.get_data(as_text=True)
    assert "<strong>title</strong>: Too short." in invalid.get_data(as_text=True)


def test_an_html_500_page_hides_the_details(api):
    response = api.get("/test/crash")

    assert response.status_code == 500
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<h1>500</h1>" in html and "Something went wrong" in html
    assert "secret internal detail" not in html and "Traceback" not in html


@pytest.mark.parametrize("path", ["/test/broken-session", "/api/v1/test/broken-session"])
def test_the_error_page_renders_after_a_database_error(error_app, create_member, path):
    create_member("alice", target_app=error_app)
    client = error_app.test_client()
    client.post("/login", data={"login": "alice", "password": "a long and unusual pass phrase"})

    response = client.get(path)

    assert response.status_code == 500
    assert b"Something went wrong" in response.data
    assert client.get("/api/v1/me").json["handle"] == "alice"  # the app recovered


def test_a_broken_error_template_falls_back_to_a_plain_page(error_app, api):
    @error_app.context_processor
    def break_rendering():
        return {"current_locale": None}  # base.html calls it: every page now fails to render

    response = api.get("/test/crash")

    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert b"<h1>500</h1>" in response.data and b"Something went wrong" in response.data
    assert b"Skip to content" not in response.data  # the plain page, not base.html


def test_a_rate_limit_is_a_429_with_retry_after(make_app, create_member):
    app = make_app("limited", RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="2/minute")
    client = app.test_client()
    body = {"login": "nobody", "password": "whatever it is"}

    codes = [client.post("/api/v1/tokens", json=body).status_code for _ in range(3)]
    response = client.post("/api/v1/tokens", json=body)

    assert codes == [401, 401, 429]
    assert_error_shape(response, 429)
    assert "Retry-After" in response.headers
    assert "2 per 1 minute" in response.json["message"]
