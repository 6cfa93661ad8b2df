"""Behind a TLS proxy (nginx): its X-Forwarded-For/-Proto/-Host headers are believed only when
`proxy_fix` says how many proxies stand in front; otherwise anyone could claim https or an address."""

from __future__ import annotations

import pytest
from flask import jsonify, request, url_for

from coopol.config import ConfigError

FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "party.example", "X-Forwarded-For": "203.0.113.7"}


def probe(app) -> dict:
    app.add_url_rule("/_probe", "_probe", lambda: jsonify(
        scheme=request.scheme, secure=request.is_secure, host=request.host, remote=request.remote_addr,
        url=url_for("_probe", _external=True)))
    return app.test_client().get("/_probe", headers=FORWARDED, environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_json()


def test_forwarded_headers_are_ignored_without_proxy_fix(make_app):
    seen = probe(make_app("plain"))
    assert seen["scheme"] == "http" and not seen["secure"]
    assert seen["remote"] == "127.0.0.1" and seen["host"] != "party.example"
    assert seen["url"].startswith("http://")


def test_forwarded_headers_are_honoured_with_proxy_fix(make_app, monkeypatch):
    monkeypatch.setenv("COOPOL_PROXY_FIX", "1")  # as `proxy_fix = 1` in coopol.toml
    app = make_app("proxied")
    assert app.config["PROXY_FIX"] == 1
    seen = probe(app)
    assert seen["scheme"] == "https" and seen["secure"]
    assert seen["remote"] == "203.0.113.7" and seen["host"] == "party.example"
    assert seen["url"] == "https://party.example/_probe"


def test_a_negative_proxy_count_is_refused(make_app):
    with pytest.raises(ConfigError, match="proxy_fix"):
        make_app("negative", PROXY_FIX=-1)
