"""A short-lived cache of the pages and lists that every visitor sees alike.

On a campaign night most requests are anonymous reads of the same few lists and idea pages. A view
decorated with `@public_cache` answers a strictly anonymous GET (no credentials: no cookie but the
language one, no `Authorization`, no signature) from memory for `PUBLIC_CACHE_SECONDS` (default 2 s;
0 turns it off). Members always get a fresh answer, so their own votes and comments show at once; a
visitor may see counts up to that many seconds old. The answer also says `Cache-Control: public,
max-age=N`, so a reverse proxy in front may do the same.

Only 200 answers that set no cookie and leave the session untouched are kept (a page that made a CSRF
token for its visitor is never shared), each at most `PUBLIC_CACHE_MAX_ENTRY_BYTES`, all together at most
`PUBLIC_CACHE_MAX_BYTES` per process; the key is the path with its query, the `Accept`
header and what sets the visitor's language (`Accept-Language`, the `lang` cookie). Each process keeps
its own entries (at most `PUBLIC_CACHE_ENTRIES`, the oldest dropped first).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, current_app, make_response, request, session

ALLOWED_COOKIES = frozenset({"lang"})
CREDENTIAL_HEADERS = ("Authorization", "Signature", "Signature-Input")


class PublicCache:
    def __init__(self, max_entries: int, max_bytes: int = 64 * 1024 * 1024) -> None:
        self.max_entries = max(1, max_entries)
        self.max_bytes = max(1, max_bytes)
        self._entries: OrderedDict[tuple, tuple[float, int, bytes, list[tuple[str, str]]]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> tuple[int, bytes, list[tuple[str, str]]] | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            self.misses += 1
            return None
        self.hits += 1
        return entry[1], entry[2], entry[3]

    def put(self, key: tuple, ttl: float, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        now = time.monotonic()
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= len(old[2])
            self._entries[key] = (now + ttl, status, body, headers)
            self.bytes += len(body)
            # The oldest go first: expired ones, then any beyond the entry or byte budget.
            while self._entries and (len(self._entries) > self.max_entries or self.bytes > self.max_bytes
                                     or next(iter(self._entries.values()))[0] < now):
                _key, dropped = self._entries.popitem(last=False)
                self.bytes -= len(dropped[2])

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0


def init_public_cache(app) -> None:
    app.config.setdefault("PUBLIC_CACHE_SECONDS", 2)
    app.config.setdefault("PUBLIC_CACHE_ENTRIES", 2000)
    app.config.setdefault("PUBLIC_CACHE_MAX_BYTES", 64 * 1024 * 1024)
    app.config.setdefault("PUBLIC_CACHE_MAX_ENTRY_BYTES", 1024 * 1024)
    app.extensions["coopol.public_cache"] = PublicCache(int(app.config["PUBLIC_CACHE_ENTRIES"]),
                                                        int(app.config["PUBLIC_CACHE_MAX_BYTES"]))


def _anonymous_request() -> bool:
    if request.method != "GET" or any(request.headers.get(h) for h in CREDENTIAL_HEADERS):
        return False
    return set(request.cookies) <= ALLOWED_COOKIES


def public_cache(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ttl = float(current_app.config.get("PUBLIC_CACHE_SECONDS") or 0)
        cache: PublicCache | None = current_app.extensions.get("coopol.public_cache")
        if ttl <= 0 or cache is None or not _anonymous_request():
            return view(*args, **kwargs)
        # The language comes from these two (a visitor has no saved one): cheaper than resolving it.
        key = (request.full_path, request.headers.get("Accept", ""), request.headers.get("Accept-Language", ""),
               request.cookies.get("lang", ""))
        found = cache.get(key)
        if found is not None:
            status, body, headers = found
            return Response(body, status=status, headers=headers)
        response = make_response(view(*args, **kwargs))
        if (response.status_code == 200 and "Set-Cookie" not in response.headers and not session.modified
                and not response.is_streamed
                and (response.content_length or 0) <= int(current_app.config["PUBLIC_CACHE_MAX_ENTRY_BYTES"])):
            response.headers["Cache-Control"] = f"public, max-age={int(ttl)}"
            response.vary.update(("Accept", "Accept-Language", "Cookie", "Authorization"))
            cache.put(key, ttl, response.status_code, response.get_data(),
                      [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"])
        return response

    return wrapper
