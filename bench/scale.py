"""The scale test (PostgreSQL, or SQLite with `--scale-database sqlite`): does a page of ideas cost the
same at 10,000 and at 1,000,000 ideas
(10,000,000 votes)? The `top` and `hot` pages and the vote path are timed on one connection (latency)
at the small size, the same database is grown to the large size, and they are timed again; the figure
is large / small (goal <= 1.5). The pages are asked for by members, and the instance's short cache is off
(`public_cache_seconds = 0`), so the figures are the queries'. The web list (`/ideas?sort=new`) is timed at
its first page and at a page 500 ideas deep (the cursor its "next" links would carry), both keyset pages
with an approximate total. `--quick` compares 1,000 with 100,000 ideas (1,000,000 votes).
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from bench.http_runner import Timing, validate
from bench.instance import create_instance, log
from bench.load import Request, run_load
from bench.processes import free_port, start_gunicorn
from bench.scenarios import Context, Skipped, prepare_hot, prepare_top, prepare_vote
from bench.seed import SeedPlan, analyse, seed

GOAL = 1.5
SIZES = {"full": (SeedPlan(), 1_000_000, 10_000_000), "quick": (SeedPlan.for_size("quick"), 100_000, 1_000_000),
         "smoke": (SeedPlan.for_size("smoke"), 5_000, 25_000)}


def as_members(prepare):
    """The same requests sent by members (rotating tokens): never answered from the visitors' cache, so
    the figure is the query's, not the cache's."""
    def prepared(ctx: Context, count: int) -> list[Request]:
        tokens = ctx.seed.tokens
        return [Request(r.method, r.path, {**r.headers, "Authorization": f"Bearer {tokens[i % len(tokens)]}"}, r.body)
                for i, r in enumerate(prepare(ctx, count))]
    return prepared


def prepare_web_list(ctx: Context, count: int) -> list[Request]:
    """The web list's first page and a page 500 ideas deep, by the cursor of its "next" link."""
    from coopol.ideas.queries import list_ideas

    cursor = None
    for _page in range(5):
        cursor = list_ideas(None, sort="new", limit=100, cursor=cursor).next_cursor
    html = {"Accept": "text/html"}
    return [Request("GET", "/ideas?sort=new", html)] + (
        [Request("GET", f"/ideas?sort=new&cursor={cursor}", html)] if cursor else [])


MEASURED = (("top", as_members(prepare_top)), ("hot", as_members(prepare_hot)), ("vote", prepare_vote),
            ("web-list", as_members(prepare_web_list)))


def run(workdir: Path, database_url: str, size: str, timing: Timing, instances: list[Any]) -> list[dict]:
    title = "scale: top/hot/vote, small vs large"
    on_postgresql = (database_url or "").startswith("postgresql")
    plan, big_ideas, big_votes = SIZES[size]
    log(f"scale: {plan.ideas:,} then {big_ideas:,} ideas on {'PostgreSQL' if on_postgresql else 'SQLite'}")
    instance = create_instance(workdir, "scale", free_port(), database_url if on_postgresql else None,
                               config={"public_cache_seconds": 0})
    instances.append(instance)
    data = seed(instance, plan, random.Random(5))
    if not data.idea_ids:
        return [{"key": "scale", "title": title, "status": "skipped", "reason": "; ".join(data.notes)}]
    ctx = Context(app=instance.app, instance=instance, seed=data)
    small = _measure(instance, ctx, workdir, timing, "small")

    log(f"scale: growing to {big_ideas:,} ideas and ~{big_votes:,} votes")
    from bench.seed_ideas import fix_sequences, seed_ideas
    from coopol.extensions import db

    with instance.app.app_context():
        with db.engine.begin() as conn:
            seed_ideas(conn, db.metadata.tables, instance.app, plan, data, random.Random(6),
                       first_id=plan.ideas + 1, count=big_ideas - plan.ideas, votes=big_votes - plan.votes,
                       comments=0)
            fix_sequences(conn, ("ideas", "comments"))
        analyse(db.engine)
    large = _measure(instance, ctx, workdir, timing, "large")

    entries = []
    for key, _prepare in MEASURED:
        a, b = small.get(key), large.get(key)
        if not a or not b or "p50_ms" not in a or "p50_ms" not in b:
            entries.append({"key": f"scale-{key}", "title": f"scale: {key}", "status": "skipped",
                            "reason": (a or {}).get("reason") or (b or {}).get("reason") or "not measured"})
            continue
        ratio = round(b["p50_ms"] / a["p50_ms"], 2) if a["p50_ms"] else None
        entries.append({
            "key": f"scale-{key}", "title": f"scale: {key} p50 at {big_ideas:,} / {plan.ideas:,} ideas",
            "status": "ok", "goal": GOAL, "ratio": ratio, "small": a, "large": b,
            "sizes": {"small": {"ideas": plan.ideas, "votes": plan.votes},
                      "large": {"ideas": big_ideas, "votes": data.counts.get("votes")}},
            "summary": (f"p50 {a['p50_ms']} ms -> {b['p50_ms']} ms (x{ratio}, goal <= {GOAL}); "
                        f"{a['rps']:,.0f} -> {b['rps']:,.0f} req/s on one connection"),
        })
    return entries


def _measure(instance, ctx: Context, workdir: Path, timing: Timing, label: str) -> dict[str, dict]:
    server = start_gunicorn(f"coopol-scale-{label}", "coopol:create_app()", env=instance.env(), log_dir=workdir,
                            port=instance.port)
    out: dict[str, dict] = {}
    try:
        with instance.app.app_context():
            for key, prepare in MEASURED:
                try:
                    requests = prepare(ctx, 5_000)
                except Skipped as reason:
                    out[key] = {"reason": str(reason)}
                    continue
                problem = validate(server.url, requests)
                if problem:
                    out[key] = {"reason": problem}
                    continue
                if timing.warmup:
                    run_load(server.url, requests, connections=1, duration=timing.warmup, generator=timing.generator)
                result = run_load(server.url, requests, connections=1, duration=timing.duration,
                                  generator=timing.generator)
                out[key] = result.as_dict()
                log(f"  scale {label} {key}: p50 {result.p50_ms} ms, p99 {result.p99_ms} ms, {result.rps:,.0f} req/s")
    finally:
        server.stop()
    return out
