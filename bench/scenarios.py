"""The HTTP scenarios of issues 7 and 16: what each one sends, and whether the feature behind it exists yet.

A scenario's `prepare(ctx, count)` returns up to `count` prepared requests (varying URLs, bodies and
credentials) or raises `Skipped` with the reason: a scenario whose feature does not exist is reported
as skipped, never faked.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect

from bench.load import Request
from bench.seed import SeedData


class Skipped(Exception):
    """The feature this scenario measures does not exist (yet)."""


@dataclass
class Context:
    app: Any                       # in-process app of the measured instance (routes, keys, config)
    instance: Any                  # bench.instance.Instance
    seed: SeedData
    rng: random.Random = field(default_factory=lambda: random.Random(11))
    extra: dict[str, Any] = field(default_factory=dict)  # shared set-up (e.g. ally keys for the inbox)


@dataclass
class Scenario:
    key: str
    title: str
    goal: dict[str, float] | None            # {"sqlite": 0.40, "postgresql": 0.25}; None for extras
    prepare: Callable[[Context, int], list[Request]]
    unique: bool = False                     # each request may be sent once (e.g. activity ids)
    note: str = ""


def require_route(app, path: str, method: str) -> None:
    adapter = app.url_map.bind("127.0.0.1")
    try:
        adapter.match(path.split("?")[0], method=method)
    except RequestRedirect:
        return
    except MethodNotAllowed as error:
        raise Skipped(f"{method} {path.split('?')[0]} is not implemented yet (only {error.valid_methods})") from None
    except NotFound:
        raise Skipped(f"{method} {path.split('?')[0]} does not exist yet") from None


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def _need_ideas(ctx: Context) -> None:
    require_route(ctx.app, "/api/v1/ideas", "GET")
    if not ctx.seed.idea_ids:
        raise Skipped("no ideas were seeded: " + "; ".join(ctx.seed.notes or ["the ideas module is missing"]))


JSON = {"Accept": "application/json"}
# A Coopol request that touches no database: every hook, header and the error-safe WSGI stack around a
# view that only formats a constant (RFC 6415 host-meta, asked by fediverse servers).
NODB_PATH = "/.well-known/host-meta"


def prepare_nodb(ctx: Context, count: int) -> list[Request]:
    require_route(ctx.app, NODB_PATH, "GET")
    return [Request("GET", NODB_PATH, {"Accept": "application/xrd+xml"})]


def prepare_me(ctx: Context, count: int) -> list[Request]:
    require_route(ctx.app, "/api/v1/me", "GET")
    tokens = ctx.seed.tokens
    return [Request("GET", "/api/v1/me", _bearer(tokens[i % len(tokens)])) for i in range(min(count, len(tokens)))]


def prepare_top(ctx: Context, count: int) -> list[Request]:
    _need_ideas(ctx)
    return [Request("GET", "/api/v1/ideas?sort=top", JSON)]


def prepare_top_member(ctx: Context, count: int) -> list[Request]:
    _need_ideas(ctx)
    tokens = ctx.seed.tokens
    return [Request("GET", "/api/v1/ideas?sort=top", _bearer(tokens[i % len(tokens)]))
            for i in range(min(count, len(tokens)))]


def prepare_hot(ctx: Context, count: int) -> list[Request]:
    _need_ideas(ctx)
    seed = ctx.seed
    if not seed.tags or not seed.scopes:
        raise Skipped("the seeder found no tags or scopes on the ideas model")
    out = []
    for i in range(min(count, 500)):
        scope = seed.scopes[i % len(seed.scopes)]
        tag = seed.tags[(i * 7) % len(seed.tags)]
        out.append(Request("GET", f"/api/v1/ideas?sort=hot&scope={scope}&tag={tag}", JSON))
    return out


def prepare_search(ctx: Context, count: int) -> list[Request]:
    _need_ideas(ctx)
    words = ctx.seed.search_words
    if not words:
        raise Skipped("the seeder has no search words")
    return [Request("GET", f"/api/v1/ideas?q={words[i % len(words)]}", JSON) for i in range(min(count, 500))]


def prepare_page(ctx: Context, count: int) -> list[Request]:
    _need_ideas(ctx)
    idea_id = ctx.seed.page_idea_id
    require_route(ctx.app, f"/ideas/{idea_id}", "GET")
    return [Request("GET", f"/ideas/{idea_id}", {"Accept": "text/html"})]


def prepare_vote(ctx: Context, count: int) -> list[Request]:
    _need_ideas(ctx)
    seed = ctx.seed
    require_route(ctx.app, f"/api/v1/ideas/{seed.idea_ids[0]}/vote", "PUT")
    rng = ctx.rng
    out = []
    for _ in range(min(count, 20_000)):
        token = rng.choice(seed.tokens)
        idea_id = rng.choice(seed.votable_idea_ids or seed.idea_ids)
        body = json.dumps({"value": rng.choice(("support", "support", "oppose"))}).encode()
        out.append(Request("PUT", f"/api/v1/ideas/{idea_id}/vote",
                           {**_bearer(token), "Content-Type": "application/json"}, body))
    return out


def prepare_inbox(ctx: Context, count: int) -> list[Request]:
    from bench import inbox

    return inbox.prepare_likes(ctx, count)


# Goals: issue 16 ("members at the speed of visitors").
VISITORS_GOAL = {"sqlite": 0.60, "postgresql": 0.50}
SCENARIOS: list[Scenario] = [
    Scenario("nodb", f"GET {NODB_PATH} (no database)", {"sqlite": 0.80, "postgresql": 0.80}, prepare_nodb,
             note="the framework's own work per request: hooks, locale, limiter, headers"),
    Scenario("me", "GET /api/v1/me (token auth)", {"sqlite": 0.60, "postgresql": 0.50}, prepare_me,
             note="the cost of token authentication alone"),
    Scenario("top", "GET /api/v1/ideas?sort=top", VISITORS_GOAL, prepare_top),
    Scenario("top-member", "GET /api/v1/ideas?sort=top as a member", {"sqlite": 0.30, "postgresql": 0.20},
             prepare_top_member, note="the same page for signed-in members, each with their own token"),
    Scenario("hot", "GET /api/v1/ideas?sort=hot&scope=…&tag=…", VISITORS_GOAL, prepare_hot),
    Scenario("search", "GET /api/v1/ideas?q=… (full text)", VISITORS_GOAL, prepare_search),
    Scenario("page", "idea page HTML, 50 comments", VISITORS_GOAL, prepare_page),
    Scenario("vote", "PUT /api/v1/ideas/{id}/vote", {"sqlite": 0.30, "postgresql": 0.20}, prepare_vote),
    Scenario("inbox", "signed Like from an ally to /inbox", {"sqlite": 0.25, "postgresql": 0.18}, prepare_inbox,
             unique=True),
]

BY_KEY = {scenario.key: scenario for scenario in SCENARIOS}
