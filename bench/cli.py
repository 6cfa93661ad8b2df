"""`python -m bench`: seed a throw-away instance, serve it and bare Flask with the same gunicorn, load
both with the same generator, print every scenario with its ratio, write JSON and draw a chart."""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import sys
import tempfile
import time
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import federation_bench, machine, report, scale
from bench.http_runner import Timing, add_ratios, measure_bare, run_scenario
from bench.instance import create_instance, log
from bench.load import generator_name
from bench.processes import (
    GUNICORN_THREADS,
    GUNICORN_WORKERS,
    REPO_ROOT,
    BenchError,
    child_env,
    free_port,
    start_gunicorn,
    stop_all,
    workers_memory_mb,
)
from bench.scenarios import BY_KEY, SCENARIOS, Context
from bench.seed import SeedPlan, seed

FEDERATION_KEYS = ("deliveries", "propagation")
ALL_KEYS = [s.key for s in SCENARIOS] + list(FEDERATION_KEYS)
DEFAULT_OUT = REPO_ROOT / "bench" / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="seed 10x less and measure 5 s per point")
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny run (a few hundred rows, ~1 s per point) that checks the machinery")
    parser.add_argument("--database", metavar="URL",
                        help="sqlite (default) or a PostgreSQL server URL, e.g. "
                             "postgresql+psycopg://postgres@127.0.0.1:5432/postgres (a fresh database is "
                             "created there and dropped afterwards)")
    parser.add_argument("--scenarios", nargs="+", metavar="NAME", default=None,
                        help=f"which to run (default: all): {', '.join(ALL_KEYS)}; commas also separate")
    parser.add_argument("--scale", action="store_true",
                        help="also the scale test (10k vs 1M ideas / 10M votes; --quick: 1k vs 100k): takes long; "
                             "on PostgreSQL unless --database is SQLite and --scale-database says sqlite")
    parser.add_argument("--scale-database", metavar="URL",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="PostgreSQL server for --scale when --database is not PostgreSQL, or `sqlite` for "
                             "a SQLite file")
    parser.add_argument("--connections", default=None, help="comma-separated (default 16,64)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per measurement")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"results folder (default {DEFAULT_OUT})")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, SQLite) afterwards")
    parser.add_argument("--soak", action="store_true",
                        help="instead of the figures: mixed reads and writes for --duration seconds (default 60) "
                             "at --connections (default 64) against gunicorn on --database, then check that "
                             "every acknowledged write is stored and every tally equals its vote rows")
    parser.add_argument("--soak-restart", action="store_true",
                        help="with --soak: also a run on a throw-away PostgreSQL server of its own (initdb, free "
                             "port) that is stopped and restarted mid-run; it must recover within 10 s")
    args = parser.parse_args(argv)
    if args.soak or args.soak_restart:
        args.soak = True
        args.soak_duration = args.duration or 60.0
        args.soak_connections = int((args.connections or "64").split(",")[0])
    chosen = [k for item in (args.scenarios or ALL_KEYS) for k in item.split(",") if k]
    unknown = sorted(set(chosen) - set(ALL_KEYS))
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(ALL_KEYS)}")
    args.scenario_keys = [k for k in ALL_KEYS if k in chosen]
    args.size = "smoke" if args.smoke else "quick" if args.quick else "full"
    defaults = {"full": (10.0, 3.0), "quick": (5.0, 2.0), "smoke": (1.0, 0.0)}[args.size]
    args.duration = args.duration or defaults[0]
    args.warmup = defaults[1] if args.duration >= 3 else 0.0
    args.connection_list = tuple(int(c) for c in (args.connections or "16,64").split(",") if c.strip())
    return args


def _on_sigterm(signum, frame):  # turn SIGTERM into the same clean stop as Ctrl-C
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    workdir = Path(tempfile.mkdtemp(prefix="coopol-bench-"))
    instances: list[Any] = []
    exit_code = 0
    try:
        if args.soak:
            from bench import soak

            outcomes = soak.run(args, workdir)
            path = args.out / f"soak-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
            args.out.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(outcomes, indent=2))
            log(f"results: {path}")
            return 0 if all(o["ok"] for o in outcomes) else 1
        results = run(args, workdir, instances)
        print(report.table(results))
        path = report.write_json(results, args.out)
        log(f"results: {path}")
        _chart_path, message = report.draw_chart(results, args.out)
        log(message)
        broken = [e["key"] for section in ("scenarios", "federation", "scale") for e in results.get(section, [])
                  if e["status"] == "error"]
        if broken:
            log(f"the bench could not measure: {', '.join(broken)} (see the reasons above)")
            exit_code = 1
    except KeyboardInterrupt:
        log("interrupted: stopping every process the bench started")
        exit_code = 130
    except BenchError as error:
        log(f"bench failed: {error}")
        exit_code = 2
    except Exception:  # noqa: BLE001 - report, clean up, exit non-zero
        traceback.print_exc()
        exit_code = 2
    finally:
        stop_all()
        for instance in instances:
            try:
                instance.dispose()
            except Exception as error:  # noqa: BLE001
                log(f"could not clean up {instance.name}: {error}")
        if args.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return exit_code


def run(args: argparse.Namespace, workdir: Path, instances: list[Any]) -> dict[str, Any]:
    database_kind = "postgresql" if (args.database or "").startswith("postgresql") else "sqlite"
    generator = generator_name(args.generator)
    plan = SeedPlan.for_size(args.size)
    timing = Timing(duration=args.duration, warmup=args.warmup, connections=args.connection_list,
                    generator=generator)
    results: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": "python -m bench " + " ".join(sys.argv[1:]) if sys.argv[0].endswith(("bench", "__main__.py"))
        else "python -m bench",
        "database": database_kind,
        "size": args.size,
        "plan": plan.__dict__,
        "machine": machine.describe(args.database, generator),
        "gunicorn": f"{GUNICORN_WORKERS} gthread workers x {GUNICORN_THREADS} threads, 127.0.0.1 "
                    "(Coopol with --preload)",
        "timing": {"duration_s": timing.duration, "warmup_s": timing.warmup, "connections": timing.connections},
        "config": {"ratelimit_enabled": False},
        "scenarios": [], "federation": [], "scale": [], "seed_counts": {},
    }
    http_keys = [k for k in args.scenario_keys if k in BY_KEY]
    if http_keys:
        run_http(args, workdir, instances, plan, timing, http_keys, results)
    fed_keys = [k for k in args.scenario_keys if k in FEDERATION_KEYS]
    if fed_keys:
        results["federation"] = federation_bench.run(fed_keys, workdir, args.database, args.size, instances)
    if args.scale:
        scale_url = args.database if database_kind == "postgresql" else args.scale_database
        results["scale"] = scale.run(workdir, scale_url, args.size, timing, instances)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return results


RSS_GOAL_MB = 80  # issue 16: one gunicorn worker after load


def rss_entry(at_start: dict[str, list[dict[str, float]]], after_load: dict[str, list[dict[str, float]]]
              ) -> dict[str, Any]:
    """Memory of each gunicorn worker, once booted and after every scenario's load: RSS (the goal's
    measure; it counts the pages a worker shares with the master and the other workers), PSS and USS."""
    def column(found: dict[str, list[dict[str, float]]], name: str, kind: str) -> list[float]:
        return [entry[kind] for entry in found[name]]

    def listed(values: list[float]) -> str:
        return ", ".join(f"{mb:.0f}" for mb in values)

    loaded = column(after_load, "coopol", "rss")
    biggest = max(loaded) if loaded else None
    summary = (f"Coopol {listed(loaded)} MB after load ({listed(column(at_start, 'coopol', 'rss'))} MB booted; "
               f"PSS {listed(column(after_load, 'coopol', 'pss'))}, USS {listed(column(after_load, 'coopol', 'uss'))} "
               f"MB after load); bare Flask {listed(column(after_load, 'bare', 'rss'))} MB")
    return {"key": "rss", "title": "RSS of one gunicorn worker (MB)",
            "at_start_mb": {name: column(at_start, name, "rss") for name in at_start},
            "after_load_mb": {name: column(after_load, name, "rss") for name in after_load},
            "memory_mb": {"at_start": at_start, "after_load": after_load}, "preload": True,
            "max_mb": biggest, "goal_mb": RSS_GOAL_MB,
            "meets_goal": biggest is not None and biggest <= RSS_GOAL_MB, "summary": summary}


def run_http(args, workdir: Path, instances: list[Any], plan: SeedPlan, timing: Timing, keys: list[str],
             results: dict[str, Any]) -> None:
    began = time.monotonic()
    instance = create_instance(workdir, "main", free_port(), args.database)
    instances.append(instance)
    data = seed(instance, plan, random.Random(7))
    results["seed_counts"] = data.counts
    results["seed_notes"] = data.notes
    log(f"seeded in {time.monotonic() - began:.0f} s: {data.counts}")
    # --preload, as README says to serve: the workers share the master's pages (see rss_entry).
    coopol = start_gunicorn("coopol", "coopol:create_app()", env=instance.env(), log_dir=workdir,
                            port=instance.port, preload=True)
    bare = start_gunicorn("bare", "bench.bare:create_app()", env=child_env(), log_dir=workdir)
    log(f"coopol at {coopol.url}, bare Flask at {bare.url}")
    ctx = Context(app=instance.app, instance=instance, seed=data)
    rss_at_start = {"coopol": workers_memory_mb(coopol), "bare": workers_memory_mb(bare)}
    log("measuring bare Flask")
    before = measure_bare(bare.url, timing)
    entries = []
    with instance.app.app_context():
        for key in keys:
            log(f"scenario {key}")
            entries.append(run_scenario(BY_KEY[key], ctx, coopol.url, timing))
    log("measuring bare Flask again")
    after = measure_bare(bare.url, timing)
    reference = report.combine_bare(before, after)
    results["bare"] = reference
    for entry in entries:
        add_ratios(entry, reference, results["database"])
    results["scenarios"] = entries
    results["rss"] = rss_entry(rss_at_start, {"coopol": workers_memory_mb(coopol), "bare": workers_memory_mb(bare)})
    log(f"RSS per worker: {results['rss']['summary']}")
    coopol.stop()
    bare.stop()
