"""Where a delivery worker's time goes: `python -m bench.profile_worker [--database URL] [--activities N]
[--pyinstrument FILE]`.

Same setup as the deliveries scenario (one sender, 10 receivers in bench.receiver), but the worker runs
in this process: first each step of a batch is timed on its own, serially (claim, `load_batch`'s read
transaction, the signed POSTs, `record_outcomes`' write transaction), then `run_worker(once=True)` with
its default 4 threads drains a fresh queue. `--pyinstrument` also profiles the serial loop (pyinstrument
samples one thread, so the threaded worker itself cannot be profiled this way). Prints milliseconds per
delivery; not part of `python -m bench`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench.federation_bench import RECEIVERS, Receivers, add_receiving_allies, queue_activities
from bench.instance import create_instance, log
from bench.processes import free_port, stop_all


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=None, help="sqlite (default) or a PostgreSQL server URL")
    parser.add_argument("--activities", type=int, default=50, help=f"each is delivered to {RECEIVERS} receivers")
    parser.add_argument("--pyinstrument", metavar="FILE", help="write a pyinstrument text profile of the serial loop")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="coopol-profile-"))
    instance = None
    try:
        receivers = Receivers(workdir, RECEIVERS)
        instance = create_instance(workdir, "sender", free_port(), args.database)
        add_receiving_allies(instance, receivers)
        n = args.activities * RECEIVERS
        queue_activities(instance, 1)
        _drain(instance)  # warm-up: imports, connections, loaded keys
        queue_activities(instance, args.activities)
        steps, elapsed = _serial(instance, args.pyinstrument)
        per = {step: round(seconds * 1000 / n, 2) for step, seconds in steps.items()}
        print(f"serial, one thread: {n / elapsed:,.0f} deliveries/s; ms per delivery: {per}")
        queue_activities(instance, args.activities)
        started = time.perf_counter()
        attempts = _drain(instance)
        print(f"run_worker(once=True), defaults: {attempts / (time.perf_counter() - started):,.0f} deliveries/s")
        return 0
    finally:
        stop_all()
        if instance is not None:
            instance.dispose()
        shutil.rmtree(workdir, ignore_errors=True)


def _drain(instance) -> int:
    from coopol.extensions import db
    from coopol.federation.delivery import run_worker

    with instance.app.app_context():
        try:
            return run_worker(once=True)
        finally:
            db.session.remove()


def _serial(instance, profile_path: str | None) -> tuple[Counter, float]:
    from coopol.extensions import db
    from coopol.federation import delivery

    profiler = None
    if profile_path:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
    steps: Counter = Counter()
    with instance.app.app_context():
        started = time.perf_counter()
        if profiler:
            profiler.start()
        while True:
            mark = time.perf_counter()
            ids = delivery.claim_due(20)
            steps["claim"] += time.perf_counter() - mark
            if not ids:
                break
            mark = time.perf_counter()
            jobs, _settled = delivery.load_batch(ids)
            posted = time.perf_counter()
            steps["read batch"] += posted - mark
            results = [delivery.post(job) for job in jobs]
            recorded = time.perf_counter()
            steps["sign+post"] += recorded - posted
            delivery.record_outcomes(results)
            steps["record batch"] += time.perf_counter() - recorded
            db.session.remove()
        if profiler:
            profiler.stop()
        elapsed = time.perf_counter() - started
    if profiler:
        Path(profile_path).write_text(profiler.output_text(unicode=False, color=False))
        log(f"profile: {profile_path}")
    return steps, elapsed


if __name__ == "__main__":
    sys.exit(main())
