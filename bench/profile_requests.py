"""Where a request's time goes, in one thread: `python -m bench.profile_requests [--database URL]
[--size quick|smoke|full] [--requests N] [--top N] [--keep DIR] SCENARIO...`.

Seeds an instance as `python -m bench` does (or reuses the folder given with `--keep` when it holds one),
then sends each scenario's prepared requests straight to the WSGI app in this process: first to warm
it, then under cProfile. Prints the milliseconds of CPU per request next to bare Flask's in the same
process (their ratio is an upper bound of what gunicorn can give), the SQL statements per request and
the functions that take the most time. Not part of `python -m bench`; nothing here is a test.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pickle
import pstats
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from werkzeug.test import EnvironBuilder, run_wsgi_app

from bench.instance import Instance, create_instance
from bench.load import Request
from bench.processes import free_port
from bench.scenarios import BY_KEY, Context, Skipped
from bench.seed import SeedPlan, seed

_ENVIRONS: dict[int, tuple[dict[str, Any], bytes]] = {}


def _environ(req: Request) -> dict[str, Any]:
    """The WSGI environ of a prepared request, built once (building it is not the app's work)."""
    found = _ENVIRONS.get(id(req))
    if found is None:
        path, _, query = req.path.partition("?")
        builder = EnvironBuilder(path=path, query_string=query, method=req.method, headers=req.headers,
                                 data=req.body, base_url="http://127.0.0.1")
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        found = _ENVIRONS[id(req)] = (environ, req.body or b"")
    environ, body = found
    return {**environ, "wsgi.input": io.BytesIO(body)}


def send(app, req: Request) -> int:
    body, status, _headers = run_wsgi_app(app.wsgi_app if hasattr(app, "wsgi_app") else app, _environ(req))
    for _chunk in body:
        pass
    if hasattr(body, "close"):
        body.close()
    return int(status.split()[0])


class _Supply:
    """The requests of each step: the same list again, or (`unique`: each may be sent once) the next unsent."""

    def __init__(self, prepared: list[Request], unique: bool) -> None:
        self.prepared, self.unique, self.position = prepared, unique, 0

    def take(self, n: int) -> list[Request]:
        if not self.unique:
            return self.prepared
        taken = self.prepared[self.position:self.position + n]
        self.position += n
        return taken


def per_request_ms(app, requests: list[Request], n: int) -> float:
    began = time.process_time()
    for i in range(n):
        send(app, requests[i % len(requests)])
    return (time.process_time() - began) * 1000 / n


def count_statements(app, requests: list[Request], n: int) -> float:
    return count_locked_statements(app, requests, n)[0]


def count_locked_statements(app, requests: list[Request], n: int) -> tuple[float, float, float]:
    """Per request: SQL statements, those sent while holding SQLite's write lock (our `BEGIN IMMEDIATE`
    queue, coopol/core/database.py), and the milliseconds it is held (both 0 on PostgreSQL)."""
    from sqlalchemy import event

    from coopol.core.database import SerialWriterConnection
    from coopol.extensions import db

    counter = [0, 0]
    held = [0.0]

    def before(conn, *_args):
        counter[0] += 1
        if getattr(conn.connection.dbapi_connection, "_held", None) is not None:
            counter[1] += 1

    acquire, release = SerialWriterConnection.acquire_write, SerialWriterConnection.release_write

    def timed_acquire(self, *args, **kwargs):
        acquire(self, *args, **kwargs)
        if self._held is not None and not hasattr(self, "_bench_since"):
            self._bench_since = time.perf_counter()

    def timed_release(self):
        since = self.__dict__.pop("_bench_since", None)
        if since is not None:
            held[0] += time.perf_counter() - since
        release(self)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    SerialWriterConnection.acquire_write, SerialWriterConnection.release_write = timed_acquire, timed_release
    try:
        for i in range(n):
            send(app, requests[i % len(requests)])
    finally:
        SerialWriterConnection.acquire_write, SerialWriterConnection.release_write = acquire, release
        event.remove(engine, "before_cursor_execute", before)
    return counter[0] / n, counter[1] / n, held[0] * 1000 / n


def load_or_seed(folder: Path | None, workdir: Path, database: str | None, size: str) -> tuple[Instance, Any]:
    saved = folder / "profile-seed.pickle" if folder else None
    if saved and saved.exists():
        state = pickle.loads(saved.read_bytes())
        instance = Instance(name="main", path=folder / "main", port=state["port"], database=state["database"])
        return instance, state["seed"]
    instance = create_instance(folder or workdir, "main", free_port(), database)
    data = seed(instance, SeedPlan.for_size(size), random.Random(7))
    if saved:
        saved.write_bytes(pickle.dumps({"port": instance.port, "database": instance.database, "seed": data}))
    return instance, data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_requests", description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="+", choices=sorted(BY_KEY))
    parser.add_argument("--database", default=None, help="sqlite (default) or a PostgreSQL server URL")
    parser.add_argument("--size", default="quick", choices=("smoke", "quick", "full"))
    parser.add_argument("--requests", type=int, default=2000, help="profiled requests per scenario")
    parser.add_argument("--top", type=int, default=25, help="functions shown per scenario")
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"))
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="seed into DIR and keep it (a later run with the same DIR reuses the seed)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="coopol-profile-"))
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    instance = None
    figures: dict[str, Any] = {}
    try:
        instance, data = load_or_seed(args.keep, workdir, args.database, args.size)
        app = instance.app
        from bench.bare import create_app as bare_app

        bare = bare_app()
        bare_requests = [Request("GET", "/", {"Accept": "application/json"})]
        per_request_ms(bare, bare_requests, 500)
        bare_ms = per_request_ms(bare, bare_requests, args.requests)
        print(f"bare Flask in process: {bare_ms:.3f} ms per request")
        figures["bare_ms"] = round(bare_ms, 4)
        ctx = Context(app=app, instance=instance, seed=data)
        for key in args.scenarios:
            scenario = BY_KEY[key]
            warm = min(500, args.requests)
            # A scenario whose requests may be sent once each (the inbox's activity ids) gets one per send.
            needed = 50 + 2 * warm + 2 * args.requests if scenario.unique else 2000
            try:
                with app.app_context():
                    prepared = scenario.prepare(ctx, needed)
            except Skipped as reason:
                print(f"\n== {key}: skipped: {reason}")
                continue
            supply = _Supply(prepared, scenario.unique)
            statuses = {send(app, req) for req in supply.take(50)}
            per_request_ms(app, supply.take(warm), warm)
            ms = per_request_ms(app, supply.take(args.requests), args.requests)
            statements, locked, held_ms = count_locked_statements(app, supply.take(warm), warm)
            profiler = cProfile.Profile(time.process_time)  # CPU time: other processes share the cores
            requests = supply.take(args.requests)
            profiler.enable()
            for i in range(args.requests):
                send(app, requests[i % len(requests)])
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(args.sort).print_stats(args.top)
            lock_note = (f", {locked:.2f} of them holding SQLite's write lock ({held_ms:.3f} ms held)"
                         if instance.database.kind == "sqlite" else "")
            print(f"\n== {key} ({scenario.title}): statuses {sorted(statuses)}; {ms:.3f} ms CPU per request "
                  f"(bare Flask {bare_ms:.3f}: in-process ratio {bare_ms / ms:.2f}); "
                  f"{statements:.2f} SQL statements per request{lock_note}")
            print("\n".join(out.getvalue().splitlines()[:args.top + 12]))
            figures[key] = {"ms": round(ms, 4), "ratio": round(bare_ms / ms, 3), "statements": statements,
                            "statements_locked": locked, "lock_held_ms": round(held_ms, 4),
                            "statuses": sorted(statuses)}
        if args.json:
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
    finally:
        if instance is not None and not args.keep:
            instance.dispose()
        elif instance is not None and instance._app is not None:
            from coopol.extensions import db

            with instance._app.app_context():
                db.session.remove()
                db.engine.dispose()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0




if __name__ == "__main__":
    sys.exit(main())
