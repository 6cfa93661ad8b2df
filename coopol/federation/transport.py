"""Outgoing HTTP: signed GETs and POSTs with a 10 s deadline and a 1 MiB cap on what we read.

Connections are kept alive in one pool per thread (a worker thread delivering to the same allies
reuses its connections instead of a TCP handshake per delivery); no cookies are kept.

Every request goes through the address policy of `urls.py` first. Redirects are not followed: a
fetched document must carry its own URL as `id`, and a redirect to a private address must not be a
way around the policy.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy

import requests
from flask import current_app

from coopol import __version__
from coopol.federation.signatures import sign_request
from coopol.federation.urls import UnsafeURL, check_url, is_local_mode

MAX_BODY = 1024 * 1024
TIMEOUT_SECONDS = 10.0


class TransportError(Exception):
    """The peer could not be reached, was too slow, or sent too much."""


class ResponseTooLarge(TransportError):
    """The answer is longer than the caller's cap (declared or read so far); the rest was not read."""


@dataclass(frozen=True)
class HTTPResult:
    status: int
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def user_agent() -> str:
    return f"Coopol/{__version__} (+{current_app.config['URL']})"


_local = threading.local()


def _session() -> requests.Session:
    """This thread's keep-alive connection pool (a Session is not shared between threads, nor across a
    fork). It keeps no cookies: a peer's Set-Cookie never travels with a later request."""
    session = getattr(_local, "session", None)
    if session is None or _local.pid != os.getpid():
        session = requests.Session()
        session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        _local.session, _local.pid = session, os.getpid()
    return session


def check_peer_url(url: str) -> str:
    """The address policy for this instance's mode (local loopback federation or production)."""
    resolver = current_app.config.get("FEDERATION_RESOLVER")  # tests pin DNS answers here
    return check_url(url, local_mode=is_local_mode(current_app.config["URL"]), resolve=resolver)


def signed_request(method: str, url: str, *, key_id: str, private_key_pem: str, body: bytes | None = None,
                   headers: dict[str, str] | None = None, max_body: int = MAX_BODY,
                   timeout: float | None = None) -> HTTPResult:
    """Sign (draft-cavage rsa-sha256) and send one request; read at most `max_body` bytes back."""
    check_peer_url(url)
    timeout = timeout or float(current_app.config.get("FEDERATION_TIMEOUT", TIMEOUT_SECONDS))
    base = {"User-Agent": user_agent(), **(headers or {})}
    signed = sign_request(method, url, base, body, key_id, private_key_pem)
    deadline = time.monotonic() + timeout
    try:
        response = _session().request(method, url, data=body, headers=signed, timeout=timeout,
                                      allow_redirects=False, stream=True)
    except requests.Timeout as error:
        raise TransportError(f"{method} {url}: timed out after {timeout:g} s") from error
    except requests.RequestException as error:
        raise TransportError(f"{method} {url}: {type(error).__name__}: {error}") from error
    try:
        declared = response.headers.get("Content-Length")
        if declared and declared.isascii() and declared.isdigit() and int(declared) > max_body:
            raise ResponseTooLarge(f"{method} {url}: response of {declared} bytes exceeds {max_body}")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_content(64 * 1024):
            size += len(chunk)
            if size > max_body:
                raise ResponseTooLarge(f"{method} {url}: response exceeds {max_body} bytes")
            if time.monotonic() > deadline:
                raise TransportError(f"{method} {url}: response took longer than {timeout:g} s")
            chunks.append(chunk)
    except requests.RequestException as error:
        raise TransportError(f"{method} {url}: {type(error).__name__}: {error}") from error
    finally:
        response.close()
    return HTTPResult(response.status_code, {k.lower(): v for k, v in response.headers.items()}, b"".join(chunks))


__all__ = ["HTTPResult", "MAX_BODY", "ResponseTooLarge", "TransportError", "UnsafeURL", "check_peer_url",
           "signed_request"]
