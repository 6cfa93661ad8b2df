"""A short-lived cache of the pages and lists that every visitor sees alike.

On a campaign night most requests are anonymous reads of the same few lists and idea pages. A view
decorated with `@public_cache` answers a strictly anonymous GET (no credentials: no cookie but the
language one, no `Authorization`, no signature) from memory for `PUBLIC_CACHE_SECONDS` (default 2 s;
0 turns it off). Members always get a fresh answer, so their own votes and comments show at once; a
visitor may see counts up to that many seconds old. The answer also says `Cache-Control: public,
max-age=N`, so a reverse proxy in front may do the same.

Members may share these answers too, where a view says how (`@public_cache(members=MemberOverlay(...))`,
the ideas list of the API): the page is made once as a visitor sees it, in the member's language, kept
with the visitors' pages, and each member gets a copy with their own part laid over it by the view's
`apply(data, member)` (their votes, which ideas are theirs: one small query). A member the view does not
share with (`shares(member)` false: moderators, who see hidden ideas) gets a fresh answer as before.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Any

from flask import Response, current_app, g, make_response, request, session
from flask_babel import get_locale
from flask_login import current_user

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

    def get(self, key: tuple) -> tuple[int, Any, list[tuple[str, str]]] | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            self.misses += 1
            return None
        self.hits += 1
        return entry[1], entry[2], entry[3]

    def put(self, key: tuple, ttl: float, status: int, body: Any, headers: list[tuple[str, str]],
            size: int | None = None) -> None:
        """`body`: the bytes of the answer, or (with its `size` in bytes) the data members' copies are made of."""
        now = time.monotonic()
        size = len(body) if size is None else size
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[4]
            self._entries[key] = (now + ttl, status, body, headers, size)
            self.bytes += size
            # The oldest go first: expired ones, then any beyond the entry or byte budget.
            while self._entries and (len(self._entries) > self.max_entries or self.bytes > self.max_bytes
                                     or next(iter(self._entries.values()))[0] < now):
                _key, dropped = self._entries.popitem(last=False)
                self.bytes -= dropped[4]

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


@dataclass(frozen=True)
class MemberOverlay:
    """How members share a view's cached answer (a JSON one): `shares(member)` whether this member sees
    the visitors' page (else a fresh answer), `apply(data, member)` their copy of it (never changing
    `data`, which the next member gets too)."""

    shares: Callable[[Any], bool]
    apply: Callable[[Any, Any], Any]


@contextmanager
def _as_visitor() -> Iterator[None]:
    """The view runs as a visitor would see it (flask-login reads the user from `g`); the locale, already
    chosen for the member, stays theirs."""
    member = g.get("_login_user")
    g._login_user = current_app.login_manager.anonymous_user()
    try:
        yield
    finally:
        g._login_user = member


def _cacheable(response: Response, *, session_matters: bool = True) -> bool:
    """`session_matters`: the answer's bytes are kept, and a page may hold what the session holds (a CSRF
    token); a members' shared list keeps only its JSON data, made as a visitor sees it."""
    return (response.status_code == 200 and "Set-Cookie" not in response.headers
            and not (session_matters and session.modified) and not response.is_streamed
            and (response.content_length or 0) <= int(current_app.config["PUBLIC_CACHE_MAX_ENTRY_BYTES"]))


def _for_member(view: Callable[..., Any], overlay: MemberOverlay, cache: PublicCache, ttl: float,
                args: tuple, kwargs: dict) -> Any:
    if request.method != "GET" or not current_user.is_authenticated:
        return view(*args, **kwargs)
    member = current_user._get_current_object()
    if not overlay.shares(member):
        return view(*args, **kwargs)
    key = ("members", request.full_path, request.headers.get("Accept", ""), str(get_locale()))
    found = cache.get(key)
    if found is None:
        with _as_visitor():
            shared = make_response(view(*args, **kwargs))
        if not _cacheable(shared, session_matters=False) or not shared.is_json:
            return view(*args, **kwargs)  # nothing to share: the member's own answer
        body = shared.get_data()
        headers = [(k, v) for k, v in shared.headers.items() if k.lower() not in ("content-length", "cache-control")]
        found = (200, shared.get_json(), headers)
        cache.put(key, ttl, 200, found[1], headers, size=len(body))
    status, data, headers = found
    return Response(current_app.json.dumps(overlay.apply(data, member)), status=status, headers=headers)


def public_cache(view: Callable[..., Any] | None = None, *,
                 members: MemberOverlay | None = None) -> Callable[..., Any]:
    """`@public_cache` (visitors only) or `@public_cache(members=MemberOverlay(shares, apply))`."""
    if view is None:
        return lambda inner: public_cache(inner, members=members)

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ttl = float(current_app.config.get("PUBLIC_CACHE_SECONDS") or 0)
        cache: PublicCache | None = current_app.extensions.get("coopol.public_cache")
        if ttl <= 0 or cache is None:
            return view(*args, **kwargs)
        if not _anonymous_request():
            if members is not None:
                return _for_member(view, members, cache, ttl, args, kwargs)
            return view(*args, **kwargs)
        # The language comes from these two (a visitor has no saved one): cheaper than resolving it.
        key = (request.full_path, request.headers.get("Accept", ""), request.headers.get("Accept-Language", ""),
               request.cookies.get("lang", ""))
        found = cache.get(key)
        if found is not None:
            status, body, headers = found
            return Response(body, status=status, headers=headers)
        response = make_response(view(*args, **kwargs))
        if _cacheable(response):
            response.headers["Cache-Control"] = f"public, max-age={int(ttl)}"
            response.vary.update(("Accept", "Accept-Language", "Cookie", "Authorization"))
            cache.put(key, ttl, response.status_code, response.get_data(),
                      [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"])
        return response

    return wrapper
