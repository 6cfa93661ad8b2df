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


# Oversized chunked bodies: no Content-Length for werkzeug to check up front, so the limit used to
# bite only inside the JSON parser, which answered 400 "Invalid JSON body".

OVER_LIMIT = b'{"title": "' + b"x" * (1024 * 1024 + 4096) + b'", "body": "b"}'
FORM_OVER_LIMIT = b"title=" + b"x" * (1024 * 1024 + 4096) + b"&body=b"


def post_chunked(client, path: str, body: bytes, content_type: str, headers: dict | None = None):
    import io

    # wsgi.input_terminated: what gunicorn and werkzeug's server declare for a dechunked body.
    return client.post(path, input_stream=io.BytesIO(body), environ_overrides={"wsgi.input_terminated": True},
                       headers={**(headers or {}), "Content-Type": content_type, "Transfer-Encoding": "chunked"})


def test_an_oversized_chunked_json_body_is_a_413(app, create_member, token_for):
    create_member("big")
    response = post_chunked(app.test_client(), "/api/v1/ideas", OVER_LIMIT, "application/json", token_for("big"))
    assert_error_shape(response, 413)
    assert response.json["message"] == "The request is too large."


def test_a_chunked_body_under_the_limit_still_works(app, create_member, token_for):
    create_member("small")
    body = b'{"title": "A chunked idea", "body": "Sent in chunks."}'
    response = post_chunked(app.test_client(), "/api/v1/ideas", body, "application/json", token_for("small"))
    assert response.status_code == 201, response.json
    assert response.json["title"] == "A chunked idea"


def test_an_oversized_chunked_form_is_a_413_page(app, create_member, auth):
    create_member("former")
    auth.login("former")
    response = post_chunked(auth.client, "/ideas/new", FORM_OVER_LIMIT, "application/x-www-form-urlencoded")
    assert response.status_code == 413
    assert response.mimetype == "text/html"
    assert "The request is too large." in response.get_data(as_text=True)


def _send_chunked(port: int, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict, bytes]:
    """POST `body` in 64 KiB chunks over a real socket; read the answer while still sending (the server
    may answer and close before it has read everything)."""
    import socket
    import threading

    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = "".join(f"{k}: {v}\r\n" for k, v in {**headers, "Host": f"127.0.0.1:{port}",
                                                  "Transfer-Encoding": "chunked", "Connection": "close"}.items())

    def send():
        try:
            sock.sendall(f"POST {path} HTTP/1.1\r\n{head}\r\n".encode())
            for start in range(0, len(body), 65536):
                chunk = body[start:start + 65536]
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
            # Done sending: werkzeug's server drains an unread body with one blocking read until EOF.
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server stopped reading: its answer is what matters

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    sender.join(10)
    sock.close()
    head_part, _, payload = received.partition(b"\r\n\r\n")
    lines = head_part.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    answer_headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, answer_headers, payload


def test_an_oversized_chunked_body_is_a_413_through_werkzeugs_server(app, create_member, token_for):
    import json
    import threading

    from werkzeug.serving import make_server

    create_member("served")
    headers = {**token_for("served"), "Content-Type": "application/json", "Accept": "application/json"}
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        status, answer_headers, payload = _send_chunked(server.server_port, "/api/v1/ideas", OVER_LIMIT, headers)
        ok_status, _, ok_payload = _send_chunked(
            server.server_port, "/api/v1/ideas", b'{"title": "Chunked and fine", "body": "Small."}', headers)
    finally:
        server.shutdown()
        thread.join(10)
    assert status == 413, payload[:300]
    assert answer_headers["content-type"] == "application/json"
    assert json.loads(payload)["code"] == 413
    assert ok_status == 201, ok_payload[:300]


@pytest.mark.slow
@pytest.mark.e2e
def test_an_oversized_chunked_body_is_a_413_through_gunicorn(tmp_path):
    import json
    import os

    from bench.instance import create_instance
    from bench.processes import free_port, start_gunicorn, stop

    instance = create_instance(tmp_path, "chunked", free_port(), os.environ.get("COOPOL_TEST_DATABASE_URL"))
    try:
        from coopol.accounts.services import create_token, register_member
        from coopol.core.uow import unit_of_work

        with instance.app.app_context(), unit_of_work():
            member = register_member("gunny", "gunny@example.org", "a long and unusual pass phrase",
                                     bypass_policy=True)
            _token, raw = create_token(member, "test")
        server = start_gunicorn("chunked", "coopol:create_app()", env=instance.env(), log_dir=tmp_path,
                                port=instance.port, workers=1, threads=2)
        try:
            headers = {"Authorization": f"Bearer {raw}", "Content-Type": "application/json"}
            status, answer_headers, payload = _send_chunked(instance.port, "/api/v1/ideas", OVER_LIMIT, headers)
            ok_status, _, ok_payload = _send_chunked(
                instance.port, "/api/v1/ideas", b'{"title": "Chunked through gunicorn", "body": "Small."}', headers)
            form_status, form_headers, form_payload = _send_chunked(
                instance.port, "/register", FORM_OVER_LIMIT, {"Content-Type": "application/x-www-form-urlencoded"})
        finally:
            stop(server.proc)
    finally:
        instance.dispose()
    assert status == 413, payload[:300]
    assert answer_headers["content-type"] == "application/json"
    assert json.loads(payload)["code"] == 413
    assert ok_status == 201, ok_payload[:300]
    assert form_status == 413, form_payload[:300]
    assert form_headers["content-type"].startswith("text/html")
    assert b"The request is too large." in form_payload
