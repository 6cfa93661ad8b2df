"""A short-lived cache of the pages and lists that every visitor sees alike.

On a campaign night most requests are anonymous reads of the same few lists and idea pages. A view
decorated with `@public_cache` answers a strictly anonymous GET (no credentials: no cookie but the
language one, no `Authorization`, no signature) from memory for `PUBLIC_CACHE_SECONDS` (default 2 s;
0 turns it off). Members always get a fresh answer, so their own votes and comments show at once; a
visitor may see counts up to that many seconds old. The answer also says `Cache-Control: public,
max-age=N`, so a reverse proxy in front may do the same.

Members may share these answers too, where a view says how (`@public_cache(members=MemberOverlay(...))`,
the ideas list of the API): the page is made once as a visitor sees it, in the member's language, kept
with the visitors' pages as the JSON of each item, and each member's copy is those bytes joined again,
with only the items that are theirs (`apply(items, member)`: their votes, one small query) dumped anew.
A member the view does not share with (`shares(member)` false: moderators, who see hidden ideas) gets a
fresh answer as before.

Only 200 answers that set no cookie and leave the session untouched are kept (a page that made a CSRF
token for its visitor is never shared), each at most `PUBLIC_CACHE_MAX_ENTRY_BYTES`, all together at most
`PUBLIC_CACHE_MAX_BYTES` per process; the key is the path with its query, the `Accept`
header and what sets the visitor's language (`Accept-Language`, the `lang` cookie). Each process keeps
its own entries (at most `PUBLIC_CACHE_ENTRIES`, the oldest dropped first).

When several processes serve, they share the entries through the limiter's storage (Redis, as rate
limits and the token cache's stamp: `RATELIMIT_STORAGE_URI`): a process that misses in its own memory
reads Redis before it makes the page, and a page it makes is written there too, each entry expiring
with its time to live (Redis forgets it then: nothing grows). An entry read from Redis is kept in the
process's memory for the rest of its life only, so no answer is older than `PUBLIC_CACHE_SECONDS`
wherever it was made. Redis unreachable: every process serves from its own memory, as without it, and
tries Redis again a few seconds later.
"""

from __future__ import annotations

import hashlib
import json
import logging
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
SHARED_RETRY_SECONDS = 5  # after Redis failed, how long each process serves from its own memory alone
SHARED_TIMEOUT_SECONDS = 0.25  # a Redis slower than this is as good as down for a cache
SHARED_SCHEMES = ("redis://", "rediss://", "unix://")

log = logging.getLogger(__name__)


class SharedPages:
    """The entries every process sees (Redis): `get(key)` → (seconds left, status, body, headers) or None,
    `put(key, ttl, …)`. Any error counts as a miss and turns this process away from Redis for
    `SHARED_RETRY_SECONDS`, so an outage costs one failed call per process every few seconds."""

    def __init__(self, uri: str, prefix: str) -> None:
        import redis  # only when configured: a process without Redis does not load the client

        self.client = redis.Redis.from_url(uri, socket_timeout=SHARED_TIMEOUT_SECONDS,
                                           socket_connect_timeout=SHARED_TIMEOUT_SECONDS)
        self.prefix = prefix
        self._down_until = 0.0
        self.hits = 0
        self.errors = 0

    def _name(self, key: tuple) -> str:
        return self.prefix + hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest()

    def _failed(self, error: Exception) -> None:
        self.errors += 1
        if self._down_until < time.monotonic():
            log.warning("The shared cache (Redis) failed (%s): each process serves from its own memory for "
                        "%s s.", error, SHARED_RETRY_SECONDS)
        self._down_until = time.monotonic() + SHARED_RETRY_SECONDS

    def available(self) -> bool:
        return self._down_until < time.monotonic()

    def get(self, key: tuple) -> tuple[float, int, bytes, list[tuple[str, str]]] | None:
        if not self.available():
            return None
        try:
            value = self.client.get(self._name(key))
        except Exception as error:  # noqa: BLE001 (any client error: a miss)
            self._failed(error)
            return None
        if not value:
            return None
        try:
            meta, _, body = value.partition(b"\n")
            made_at, ttl, status, headers = json.loads(meta)
            left = float(made_at) + float(ttl) - time.time()
            headers = [(str(k), str(v)) for k, v in headers]
        except (ValueError, TypeError):
            return None  # not ours, or from another version: made again
        if left <= 0:
            return None
        self.hits += 1
        return left, int(status), body, headers

    def put(self, key: tuple, ttl: float, status: int, body: bytes, headers: list[tuple[str, str]]) -> None:
        if not self.available():
            return
        meta = json.dumps([time.time(), ttl, status, headers], separators=(",", ":")).encode()
        try:
            self.client.set(self._name(key), meta + b"\n" + body, px=max(1, int(ttl * 1000)))
        except Exception as error:  # noqa: BLE001 (any client error: this process keeps its own copy)
            self._failed(error)


class PublicCache:
    def __init__(self, max_entries: int, max_bytes: int = 64 * 1024 * 1024, shared: SharedPages | None = None) -> None:
        self.max_entries = max(1, max_entries)
        self.max_bytes = max(1, max_bytes)
        self.shared = shared
        self._entries: OrderedDict[tuple, tuple[float, int, Any, list[tuple[str, str]], int]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple) -> tuple[int, Any, list[tuple[str, str]]] | None:
        """This process's entry, or None."""
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            self.misses += 1
            return None
        self.hits += 1
        return entry[1], entry[2], entry[3]

    def fetch(self, key: tuple, revive: Callable[[bytes], tuple[Any, int]] | None = None
              ) -> tuple[int, Any, list[tuple[str, str]]] | None:
        """This process's entry, else the shared one (kept here for the rest of its life, as `revive(body)`
        makes it: what to keep and its size; the bytes themselves without it)."""
        found = self.get(key)
        if found is not None or self.shared is None:
            return found
        shared = self.shared.get(key)
        if shared is None:
            return None
        left, status, body, headers = shared
        kept, size = revive(body) if revive is not None else (body, len(body))
        self.put(key, left, status, kept, headers, size=size, share=False)
        return status, kept, headers

    def put(self, key: tuple, ttl: float, status: int, body: Any, headers: list[tuple[str, str]],
            size: int | None = None, share: bool | bytes = True) -> None:
        """`body`: the bytes of the answer, or (with its `size` in bytes) what members' copies are made of;
        `share`: write it to the shared store too (the bytes to write there, when `body` is not them)."""
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
        if share is not False and self.shared is not None:
            self.shared.put(key, ttl, status, body if share is True else share, headers)

    def clear(self) -> None:
        """Forget this process's entries (the shared ones expire by themselves)."""
        with self._lock:
            self._entries.clear()
            self.bytes = 0


def shared_storage_uri(config: Any) -> str | None:
    """Redis when the limiter's storage is Redis (several processes serve), else None (memory only)."""
    uri = config.get("RATELIMIT_STORAGE_URI") or "memory://"
    return uri if uri.startswith(SHARED_SCHEMES) else None


def init_public_cache(app) -> None:
    app.config.setdefault("PUBLIC_CACHE_SECONDS", 2)
    app.config.setdefault("PUBLIC_CACHE_ENTRIES", 2000)
    app.config.setdefault("PUBLIC_CACHE_MAX_BYTES", 64 * 1024 * 1024)
    app.config.setdefault("PUBLIC_CACHE_MAX_ENTRY_BYTES", 1024 * 1024)
    config = app.config
    uri = shared_storage_uri(config)
    shared = None
    if uri is not None and float(config["PUBLIC_CACHE_SECONDS"] or 0) > 0:
        from coopol import __version__

        shared = SharedPages(uri, f"coopol|{config.get('RATELIMIT_KEY_PREFIX') or ''}|"
                                  f"{config.get('SERVER_NAME_KEY', '')}|{__version__}|page|")
    app.extensions["coopol.public_cache"] = PublicCache(int(config["PUBLIC_CACHE_ENTRIES"]),
                                                        int(config["PUBLIC_CACHE_MAX_BYTES"]), shared=shared)


def _anonymous_request() -> bool:
    if request.method != "GET" or any(request.headers.get(h) for h in CREDENTIAL_HEADERS):
        return False
    return set(request.cookies) <= ALLOWED_COOKIES


@dataclass(frozen=True)
class MemberOverlay:
    """How members share a view's cached answer (a JSON object listing its items under `field`):
    `shares(member)` whether this member sees the visitors' page (else a fresh answer), `apply(items,
    member)` the items that differ for them, `{position: their item}` (never changing `items`, which the
    next member gets too)."""

    shares: Callable[[Any], bool]
    apply: Callable[[list[Any], Any], dict[int, Any]]
    field: str = "items"


@dataclass(frozen=True)
class SharedPage:
    """A JSON page as every member starts from it: its bytes, and the same cut around each item
    (`head`, `pieces`, `tail`) so a member's copy dumps only their own items. `pieces` is None when the
    page's JSON is not the plain join of its items' (a JSON provider that indents): copies dump it all."""

    body: bytes
    data: Any
    items: list[Any]
    head: bytes = b""
    pieces: tuple[bytes, ...] | None = None
    tail: bytes = b""

    @classmethod
    def of(cls, body: bytes, field: str) -> SharedPage | None:
        json_ = current_app.json
        data = json_.loads(body)
        items = data.get(field) if isinstance(data, dict) else None
        if not isinstance(items, list):
            return None
        dumps = _compact_dumps()
        if dumps is not None:
            marker = f"coopol-items-{id(body):x}"
            outline = dumps({**data, field: [marker]}).split(dumps(marker))
            if len(outline) == 2:
                pieces = tuple(dumps(item).encode() for item in items)
                head, tail = outline[0].encode(), outline[1].encode()
                joined = head + b",".join(pieces) + tail
                if body.startswith(joined) and not body[len(joined):].strip():  # Flask adds a newline
                    return cls(body, data, items, head, pieces, tail + body[len(joined):])
        return cls(body, data, items)

    def copy_with(self, changed: dict[int, Any], field: str) -> bytes:
        if not changed:
            return self.body
        if self.pieces is None:
            items = [changed.get(i, item) for i, item in enumerate(self.items)]
            return current_app.json.response({**self.data, field: items}).get_data()
        dumps = _compact_dumps() or current_app.json.dumps
        return self.head + b",".join(dumps(changed[i]).encode() if i in changed else piece
                                     for i, piece in enumerate(self.pieces)) + self.tail


_PROBE = {"b": [1, {"c": None}], "a": "é"}


def _compact_dumps() -> Callable[[Any], str] | None:
    """The app's JSON dump as its responses write it, when that is the compact one (not in debug mode,
    where Flask indents): checked against a response, so a copy is the bytes a fresh answer would be."""
    provider = current_app.json
    checked = current_app.extensions.get("coopol.compact_dumps")
    if checked is None or checked[0] is not provider:
        def dumps(obj: Any) -> str:
            return provider.dumps(obj, separators=(",", ":"))

        compact = provider.response(_PROBE).get_data() == (dumps(_PROBE) + "\n").encode()
        checked = current_app.extensions["coopol.compact_dumps"] = (provider, dumps if compact else None)
    return checked[1]


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
    token); a members' shared list is made as a visitor sees it."""
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

    def revive(body: bytes) -> tuple[Any, int]:
        return SharedPage.of(body, overlay.field), len(body)

    found = cache.fetch(key, revive)
    if found is None or found[1] is None:
        with _as_visitor():
            shared = make_response(view(*args, **kwargs))
        page = SharedPage.of(shared.get_data(), overlay.field) if (
            _cacheable(shared, session_matters=False) and shared.is_json) else None
        if page is None:
            return view(*args, **kwargs)  # nothing to share: the member's own answer
        headers = [(k, v) for k, v in shared.headers.items() if k.lower() not in ("content-length", "cache-control")]
        found = (200, page, headers)
        cache.put(key, ttl, 200, page, headers, size=len(page.body), share=page.body)
    status, page, headers = found
    return Response(page.copy_with(overlay.apply(page.items, member), overlay.field), status=status,
                    headers=headers)


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
        found = cache.fetch(key)
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
