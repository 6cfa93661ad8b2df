"""`coopol demo`: its options and refusals (before anything is created), and the signals that stop it."""

from __future__ import annotations

import faulthandler
import signal
from pathlib import Path
from typing import Any

import click

from coopol.demo.instances import Instance, instance_database_url
from coopol.demo.processes import port_is_free
from coopol.demo.runner import Demo
from coopol.demo.seeds import SEED_FILE, DemoError, SeedError, default_seed_root, load_seeds


class _Stop(KeyboardInterrupt):
    """SIGTERM or SIGHUP, handled like Ctrl-C."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop()


@click.command("demo")
@click.option("--instances", "count", default=3, show_default=True, type=int,
              help="How many example instances to run (the first N of instances/).")
@click.option("--base-port", default=5001, show_default=True, type=click.IntRange(1024, 65000),
              help="The first instance listens on this port, the next ones on the following ports.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the instance folders live. Default: instances/<name>/instance (git-ignored).")
@click.option("--database-url", metavar="URL",
              help="A PostgreSQL URL such as postgresql+psycopg://postgres@127.0.0.1:5432/coopol_demo: each "
                   "instance gets its own database <name>_<instance>, created if missing. Default: SQLite.")
@click.option("--seeds", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="Folder of example instances (each a folder with seed.toml). Default: instances/.")
def demo(count: int, base_port: int, workdir: Path | None, database_url: str | None,
         seeds: Path | None) -> None:
    """Run the example parties of instances/ on 127.0.0.1, allied and seeded, until Ctrl-C."""
    root = seeds.resolve() if seeds else default_seed_root()
    try:
        available = load_seeds(root)
    except SeedError as error:
        raise DemoError(str(error)) from None
    if not available:
        raise DemoError(f"No example instances in {root} (expected folders with a {SEED_FILE}).")
    if not 1 <= count <= len(available):
        raise DemoError(f"--instances must be between 1 and {len(available)}: {root} has {len(available)} "
                        f"example instances ({', '.join(s.slug for s in available)}).")
    chosen = available[:count]
    ports = [base_port + s.port_offset for s in chosen]
    if max(ports) > 65535:
        raise DemoError("--base-port is too high for the instances' port offsets.")
    busy = [p for p in ports if not port_is_free(p)]
    if busy:
        raise DemoError(f"Port {', '.join(map(str, busy))} on 127.0.0.1 is in use: choose another "
                        "--base-port (or stop the other demo).")
    instances = []
    for seed, port in zip(chosen, ports, strict=True):
        path = (workdir.resolve() / seed.slug) if workdir else seed.folder / "instance"
        instances.append(Instance(seed, path, port,
                                  instance_database_url(database_url, seed.slug) if database_url else None))

    def echo(line: str) -> None:
        click.echo(line)

    storage = "PostgreSQL" if database_url else "SQLite in each instance folder"
    parties = f"{count} example part{'ies' if count > 1 else 'y'}"
    echo(click.style(f"Coopol demo: {parties} from {root} ({storage})", bold=True))
    runner = Demo(instances, echo)
    # Ctrl-C must stop the demo even when it was started with SIGINT ignored or blocked (inherited from a
    # launcher: Python then installs no KeyboardInterrupt handler of its own).
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP})
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1 PID`: where is it stuck?
    try:
        runner.prepare()
        runner.start()
        runner.ally()
        runner.backfill()
        runner.start_workers()
        runner.debate()
        runner.announce()
        runner.watch()
    except KeyboardInterrupt:
        echo("")
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # let the cleanup finish; it is bounded by STOP_TIMEOUT
        try:
            runner.stop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            signal.signal(signal.SIGINT, signal.default_int_handler)


