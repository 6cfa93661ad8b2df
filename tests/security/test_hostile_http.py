"""Hostile input, HTTP: bodies just over the limit (Content-Length), open redirects through `next=`,
CR/LF meant to inject headers, and cursors or page numbers that are not plain ids. Each is a 4xx or a
safe answer (a redirect home, a header without the injected line), never a 500, and nothing is stored."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_PASSWORD
from tests.security.test_hostile_auth import Society, build_society


@pytest.fixture
def society(app, create_member, token_for) -> Society:
    return build_society(app, create_member, token_for)


def test_a_body_just_over_the_limit_is_refused_with_413_and_stores_nothing(society):
    limit = society.app.config["MAX_CONTENT_LENGTH"]
    web = society.browser("alice")
    before = society.counts()
    padding = "x" * (limit + 1 - len('{"title": "Big one", "body": ""}'))
    body = b'{"title": "Big one", "body": "' + padding.encode() + b'"}'
    assert len(body) == limit + 1
    for path in ("/ideas", f"/ideas/{society.ids['idea']}/comments", "/reports", "/tokens", "/members"):
        response = society.api("POST", path, as_="alice", data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 413, (path, response.status_code)
        assert response.mimetype == "application/json"
        assert set(response.get_json()) == {"code", "status", "message", "errors"}
    form = b"title=Big+one&body=" + b"x" * (limit + 1 - len(b"title=Big+one&body="))
    for path in ("/ideas/new", f"/ideas/{society.ids['idea']}/comments", "/settings"):
        response = web.post(path, data=form, content_type="application/x-www-form-urlencoded")
        assert response.status_code == 413, (path, response.status_code)
        assert response.mimetype == "text/html"
    inbox_limit = society.app.config["FEDERATION_MAX_BODY"]
    response = society.app.test_client().post("/inbox", data=b"{" + b" " * inbox_limit + b"}",
                                              headers={"Content-Type": "application/activity+json"})
    assert response.status_code == 413
    assert society.counts() == before
    # just under the limit is read (and refused for what it says, not for its size)
    ok = society.api("POST", "/ideas", as_="alice", data=body[:limit - 10] + b'"}',
                     headers={"Content-Type": "application/json"})
    assert ok.status_code in (201, 422), ok.status_code


OPEN_REDIRECTS = ["//evil.example", "//evil.example/ideas", "/\\evil.example", "\\\\evil.example",
                  "https://evil.example", "https:evil.example", "http:/evil.example", "javascript:alert(1)",
                  "%2F%2Fevil.example", "/%2F/evil.example", "/%5Cevil.example", "/\t/evil.example",
                  "/\n/evil.example", "/\r\n/evil.example", " //evil.example", "\t//evil.example",
                  "///evil.example", "/.//evil.example", "https://local.coopol.test@evil.example",
                  "//local.coopol.test.evil.example", "data:text/html,<script>alert(1)</script>", "%09//evil.example"]


def _stays_here(location: str) -> bool:
    """Whether a browser following `location` stays on this site: browsers drop tabs and newlines, read
    `\\` as `/`, and take `//host` as another host (a `%2F` stays a path character)."""
    from urllib.parse import urlsplit

    cleaned = "".join(ch for ch in location if ch not in "\t\r\n").strip().replace("\\", "/")
    parts = urlsplit(cleaned)
    if parts.scheme not in ("", "http", "https") or (parts.netloc and parts.netloc != "local.coopol.test"):
        return False
    return not cleaned.startswith("//") and (parts.scheme == "" or parts.netloc == "local.coopol.test")


def test_next_never_sends_anyone_to_another_site(society, create_member, app):
    from urllib.parse import quote

    client = society.app.test_client()
    for target in OPEN_REDIRECTS:
        for raw in (target, quote(target, safe="")):
            response = client.post(f"/login?next={raw}", data={"login": "alice", "password": TEST_PASSWORD})
            assert response.status_code == 302, (target, response.status_code)
            assert _stays_here(response.headers["Location"]), (target, response.headers["Location"])
            client.post("/logout")
            response = client.post("/language", data={"lang": "fr", "next": target})
            assert response.status_code == 302 and _stays_here(response.headers["Location"]), target
    mod = society.browser("mod")
    for target in OPEN_REDIRECTS:
        response = mod.post("/moderation/actions", data={"action": "dismiss", "target_type": "idea",
                                                         "target_id": society.ids["idea"], "reason": "Fine",
                                                         "next": target})
        assert response.status_code in (302, 400, 409, 422), (target, response.status_code)
        if response.status_code == 302:
            assert _stays_here(response.headers["Location"]), (target, response.headers["Location"])
    # a local target is kept
    response = client.post("/login?next=/settings", data={"login": "alice", "password": TEST_PASSWORD})
    assert response.headers["Location"].endswith("/settings")


def test_cr_lf_never_reaches_a_header(society, create_member, app, token_for):
    client = society.app.test_client()
    before = society.counts()
    for injected in ("/ideas\r\nSet-Cookie: owned=1", "/ideas%0d%0aSet-Cookie:%20owned=1", "/ideas\nX-Evil: 1",
                     "/ideas%0aX-Evil:%201", "/ideas\rX-Evil: 1", "/%E5%98%8A%E5%98%8DSet-Cookie:owned=1"):
        for response in (client.post(f"/login?next={injected}", data={"login": "alice", "password": TEST_PASSWORD}),
                         client.post("/language", data={"lang": "de", "next": injected}),
                         client.get(f"/ideas?tag={injected}"), client.get(f"/members/{injected}"),
                         client.get(f"/ideas/new?next={injected}")):
            assert response.status_code < 500, (injected, response.status_code)
            assert "owned" not in response.headers.get("Set-Cookie", ""), injected
            assert "X-Evil" not in response.headers, injected
            for name, value in response.headers.items():
                assert "\r" not in value and "\n" not in value, (name, value)
        client.post("/logout")
    # the export's file name comes from the handle, which cannot carry CR/LF or quotes
    refused = society.api("POST", "/members", json={"handle": 'eve"\r\nX-Evil: 1', "email": "eve@example.org",
                                                    "password": TEST_PASSWORD})
    assert refused.status_code == 422
    web = society.browser("alice")
    assert web.get("/settings/export").headers["Content-Disposition"] == 'attachment; filename="coopol-alice.json"'
    assert society.counts() == before


CURSOR_PATHS = ["/moderation?cursor={v}", "/modlog?cursor={v}", "/notifications?cursor={v}",
                "/api/v1/modlog?cursor={v}", "/api/v1/moderation/queue?cursor={v}",
                "/api/v1/notifications?cursor={v}", "/g/ideas/ideas?page={v}",
                "/ideas/1/replies?page={v}", "/ideas/1/likes?page={v}"]


def test_cursors_and_pages_that_are_not_plain_ids_are_ignored_not_500(society):
    """`99999999999999999999` overflowed the database's integers and `²` (a digit to Python, not to
    `int`) raised: both were 500s on the moderation pages, the modlog and the collections."""
    before = society.counts()
    mod = society.browser("mod")
    for path, value in ((p, v) for p in CURSOR_PATHS
                        for v in ("99999999999999999999", "9" * 400, "%C2%B2", "%D9%A1%D9%A2", "-1", "0x10", "%00")):
        url = path.format(v=value)
        response = mod.get(url) if not url.startswith("/api") else society.api("GET", url[len("/api/v1"):], as_="mod")
        assert response.status_code in (200, 400, 403, 404, 422), (url, response.status_code)
    assert society.counts() == before


def test_a_moderation_form_with_a_target_id_that_is_not_a_plain_id_is_refused(society):
    mod = society.browser("mod")
    before = society.counts()
    for value in ("99999999999999999999", "²", "١", "1\x00"):
        response = mod.post("/moderation/actions", data={"action": "hide", "target_type": "idea",
                                                         "target_id": value, "reason": "Because"})
        assert response.status_code in (302, 400, 404, 422), (value, response.status_code)
    assert society.counts() == before


def test_a_peers_digits_that_are_not_ascii_are_refused_not_500(society):
    """A `Retry-After: ²` from a peer raised ValueError in the worker; `created=²` in a Signature header is a 401."""
    from coopol.core.time import utcnow
    from coopol.federation.delivery import parse_retry_after

    assert parse_retry_after("²", utcnow()) is None and parse_retry_after("30", utcnow()) == 30.0
    before = society.counts()
    for created in ("²", "١٢", "99999999999999999999999"):
        signature = (f'keyId="https://evil.example/actor#key",algorithm="hs2019",headers="(request-target) '
                     f'(created) host",signature="AAAA",created={created}')
        response = society.app.test_client().post(
            "/inbox", data=b'{"type": "Follow"}', headers={"Content-Type": "application/activity+json",
                                                          "Signature": signature})
        assert response.status_code in (400, 401, 403), (created, response.status_code)
    assert society.counts() == before
