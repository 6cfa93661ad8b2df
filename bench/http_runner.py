"""Runs the HTTP scenarios: Coopol and bare Flask under the same gunicorn, same load generator, same run."""

from __future__ import annotations

import http.client
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from bench.instance import log
from bench.load import LoadResult, Request, run_load
from bench.scenarios import Context, Scenario, Skipped


@dataclass
class Timing:
    duration: float
    warmup: float
    connections: tuple[int, ...]
    generator: str


def send_one(base_url: str, req: Request) -> tuple[int, bytes]:
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(req.method, req.path, body=req.body, headers=req.headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def validate(base_url: str, requests: list[Request], n: int = 3) -> str | None:
    """None if the first requests succeed; otherwise what went wrong (the figures would be meaningless)."""
    for req in requests[:n]:
        status, body = send_one(base_url, req)
        if status >= 400:
            return f"{req.method} {req.path} answered {status}: {body[:300].decode(errors='replace')}"
    return None


def measure(base_url: str, requests: list[Request], timing: Timing, connections: int) -> LoadResult:
    if timing.warmup > 0:
        run_load(base_url, requests, connections=connections, duration=timing.warmup, generator=timing.generator)
    return run_load(base_url, requests, connections=connections, duration=timing.duration,
                    generator=timing.generator)


def measure_bare(bare_url: str, timing: Timing) -> dict[int, LoadResult]:
    requests = [Request("GET", "/", {"Accept": "application/json"})]
    out = {}
    for connections in timing.connections:
        result = measure(bare_url, requests, timing, connections)
        log(f"  bare Flask, {connections} connections: {result.rps:,.0f} req/s, p50 {result.p50_ms} ms, "
            f"p99 {result.p99_ms} ms")
        out[connections] = result
    return out


def run_scenario(scenario: Scenario, ctx: Context, base_url: str, timing: Timing) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": scenario.key, "title": scenario.title, "goal": scenario.goal,
                             "note": scenario.note, "runs": {}}
    try:
        requests = scenario.prepare(ctx, 5 if scenario.unique else 20_000)
    except Skipped as reason:
        entry.update(status="skipped", reason=str(reason))
        log(f"  {scenario.key}: skipped: {reason}")
        return entry
    entry["note"] = " ".join(filter(None, [scenario.note, ctx.extra.get(f"{scenario.key}_note")]))
    problem = validate(base_url, requests)
    if problem:
        entry.update(status="error", reason=problem)
        log(f"  {scenario.key}: ERROR: {problem}")
        return entry
    for connections in timing.connections:
        if scenario.unique:
            result = _measure_unique(scenario, ctx, base_url, timing, connections)
        else:
            result = measure(base_url, requests, timing, connections)
        entry["runs"][str(connections)] = result.as_dict()
        log(f"  {scenario.key}, {connections} connections: {result.rps:,.0f} req/s, p50 {result.p50_ms} ms, "
            f"p99 {result.p99_ms} ms, errors {result.errors}")
    failed = [r for r in entry["runs"].values() if r["errors"] > 0.01 * max(1, r["requests"])]
    if failed:
        sample = validate(base_url, requests[-3:]) or "(the last prepared requests succeed when sent alone)"
        entry.update(status="error", reason=f"more than 1 % of requests failed under load; {sample}")
    else:
        entry["status"] = "ok"
    return entry


def _measure_unique(scenario: Scenario, ctx: Context, base_url: str, timing: Timing,
                    connections: int) -> LoadResult:
    """Requests that may be sent once (activity ids): size the batch from a warm-up's rate."""
    warm = scenario.prepare(ctx, 400)
    started = time.monotonic()
    probe = run_load(base_url, warm, connections=connections, duration=max(1.0, timing.warmup),
                     generator=timing.generator)
    rate = probe.rps or (len(warm) / max(0.1, time.monotonic() - started))
    wanted = int(min(40_000, rate * timing.duration * 1.6 + 200))
    batch = scenario.prepare(ctx, wanted)
    return run_load(base_url, batch, connections=connections, duration=timing.duration, generator=timing.generator,
                    max_requests=len(batch))


def add_ratios(entry: dict[str, Any], bare: dict[int, dict[str, Any]], database: str) -> None:
    goal = (entry.get("goal") or {}).get(database)
    entry["goal_for_database"] = goal
    for connections, run in entry.get("runs", {}).items():
        reference = bare.get(int(connections))
        run["ratio"] = round(run["rps"] / reference["rps"], 3) if reference and reference["rps"] else None
    ratios = [run["ratio"] for run in entry.get("runs", {}).values() if run.get("ratio") is not None]
    entry["ratio"] = round(min(ratios), 3) if ratios else None
    entry["meets_goal"] = (entry["ratio"] >= goal) if (goal is not None and entry["ratio"] is not None
                                                       and entry.get("status") == "ok") else None
