"""Web hardening: security headers everywhere, safe redirects, request guards."""

from __future__ import annotations

import pytest

from coopol.core.web import safe_redirect_target


@pytest.mark.parametrize("path", ["/login", "/api/v1/me", "/no/such/page", "/api/openapi.json",
                                  "/static/coopol.css"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)

    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain http instance


def test_api_responses_are_not_cached(client):
    assert client.get("/api/v1/me").headers["Cache-Control"] == "no-store"


def test_https_instances_send_hsts(make_app):
    app = make_app("secure", URL="https://ideas.party.example")

    response = app.test_client().get("/login", base_url="https://ideas.party.example")

    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_pages_carry_no_inline_script_or_style(client):
    html = client.get("/login").get_data(as_text=True)

    assert "<script" not in html and "style=" not in html and "<style" not in html


@pytest.mark.parametrize(("target", "expected"), [
    ("/settings", "/settings"),
    ("/ideas?sort=new", "/ideas?sort=new"),
    (None, "/"),
    ("", "/"),
    ("settings", "/"),
    ("//evil.example/x", "/"),
    ("/\\evil.example", "/"),
    ("/\\/evil.example", "/"),
    ("https://evil.example/", "/"),
    ("javascript:alert(1)", "/"),
    ("/\tevil", "/"),
    ("///evil.example", "/"),
])
def test_safe_redirect_targets(app, target, expected):
    with app.test_request_context():
        assert safe_redirect_target(target) == expected


@pytest.mark.parametrize("next_page", ["https://evil.example/", "//evil.example", "/\\evil.example"])
def test_the_language_switch_never_redirects_off_site(client, next_page):
    response = client.post("/language", data={"lang": "fr", "next": next_page})

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_the_language_switch_goes_back_to_the_page(client):
    response = client.post("/language", data={"lang": "fr", "next": "/login?x=1"})

    assert response.headers["Location"] == "/login?x=1"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("lang="))
    assert cookie.startswith("lang=fr;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_the_language_switch_ignores_unknown_languages(client):
    response = client.post("/language", data={"lang": "xx", "next": "/login"})

    assert response.status_code == 302
    assert not any(c.startswith("lang=") for c in response.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize("path", ["/members/a%00b", "/api/v1/members/a%00b"])
def test_a_nul_in_the_path_is_a_404(client, path):
    assert client.get(path).status_code == 404


def test_a_nul_in_the_query_string_is_a_422(client):
    response = client.get("/api/v1/members/alice", query_string={"q": "a\x00b"})

    assert response.status_code == 422
    assert "q" in response.json["errors"]


def test_an_api_call_without_a_body_needs_no_content_type(client, create_member, token_for):
    create_member("alice")

    response = client.delete("/api/v1/me", headers=token_for("alice"))

    assert response.status_code == 204
