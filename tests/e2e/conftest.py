"""Real instances as separate processes: `coopol init`, `coopol run` and `coopol worker` on 127.0.0.1.

On PostgreSQL (COOPOL_TEST_DATABASE_URL set) each instance gets its own database, passed to the
processes as DATABASE_URL; otherwise each uses the SQLite file in its instance folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

PG_ADMIN_URL = os.environ.get("COOPOL_TEST_DATABASE_URL")
COOPOL = [shutil.which("coopol")] if shutil.which("coopol") else [
    sys.executable, "-c", "import sys; from coopol.cli import main; sys.exit(main())"]
START_TIMEOUT = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Process:
    popen: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(5)


@dataclass
class RealInstance:
    name: str
    path: Path
    port: int
    env: dict[str, str]
    processes: list[Process] = field(default_factory=list)
    _engine: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def coopol(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([*COOPOL, "--instance", str(self.path), *args], env=self.env, capture_output=True,
                                text=True, timeout=120)
        if check:
            assert result.returncode == 0, f"coopol {' '.join(args)}: {result.stdout}\n{result.stderr}"
        return result

    def spawn(self, label: str, *args: str) -> Process:
        log = self.path / f"{label}.log"
        with log.open("w") as out:
            popen = subprocess.Popen([*COOPOL, "--instance", str(self.path), *args], env=self.env, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        process = Process(popen, log)
        self.processes.append(process)
        return process

    def start(self) -> RealInstance:
        self.init()
        return self.launch()

    def init(self) -> None:
        self.coopol("init", "--name", f"Party {self.name}", "--url", self.url)

    def launch(self) -> RealInstance:
        """Start the server and the worker of an initialised instance and wait until it answers."""
        self.spawn("server", "run", "--port", str(self.port))
        self.spawn("worker", "worker")
        return self.wait_ready()

    def wait_ready(self) -> RealInstance:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                if requests.get(f"{self.url}/nodeinfo/2.1", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            for process in self.processes:
                if process.popen.poll() is not None:
                    raise AssertionError(f"{self.name} died:\n{process.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name} did not start:\n{self.processes[0].log.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        if self._engine is not None:
            self._engine.dispose()

    def status_of(self, host: str) -> str | None:
        """The alliance's status as `coopol allies list` shows it (tests/e2e/test_federation.py reads that
        list), read from the instance's database: a poll costs a query, not a command's start-up."""
        from coopol.federation.models import Ally

        if self._engine is None:
            self._engine = create_engine(self.env.get("DATABASE_URL") or f"sqlite:///{self.path / 'coopol.sqlite'}",
                                         poolclass=NullPool)
        with self._engine.connect() as conn:
            row = conn.execute(text("SELECT outgoing, incoming FROM federation_allies WHERE host = :host"),
                               {"host": host}).first()
        return None if row is None else Ally(outgoing=row.outgoing, incoming=row.incoming).status

    def wait_for_status(self, host: str, status: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while (current := self.status_of(host)) != status:
            if time.monotonic() > deadline:
                logs = "\n".join(p.log.read_text()[-2000:] for p in self.processes)
                raise AssertionError(f"{self.name}: {host} stayed {current!r}, expected {status!r}\n{logs}")
            time.sleep(0.3)


@pytest.fixture
def real_instances(tmp_path) -> Iterator:
    started: list[RealInstance] = []
    databases: list[str] = []
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT") if PG_ADMIN_URL else None

    def factory(*names: str) -> RealInstance | tuple[RealInstance, ...]:
        """`factory("a")` starts one instance; `factory("a", "b", "c")` starts several at once (their
        `init`s run side by side) and returns them in that order."""
        instances = [create(name) for name in names]
        if len(instances) == 1:
            return instances[0].start()
        with ThreadPoolExecutor(len(instances)) as pool:
            list(pool.map(RealInstance.init, instances))
        for instance in instances:
            instance.spawn("server", "run", "--port", str(instance.port))
            instance.spawn("worker", "worker")
        return tuple(instance.wait_ready() for instance in instances)

    def create(name: str) -> RealInstance:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COOPOL_") and k != "DATABASE_URL"}
        # A killed worker's claims run out after this, so the crash tests settle in seconds, not minutes.
        env["COOPOL_FEDERATION_DELIVERY_LEASE"] = "15"
        env["COOPOL_FEDERATION_INBOX_LEASE"] = "15"  # the same for the received activities it was applying
        # A failed delivery is tried again after 1.6-3.6 s instead of 16-36 s: the tests of a peer that was
        # down wait for the retry (the delays themselves are tested in tests/federation/test_delivery.py).
        env["COOPOL_FEDERATION_RETRY_SCALE"] = "0.1"
        # The tests read as visitors right after each change; the visitors' cache has its own tests.
        env["COOPOL_PUBLIC_CACHE_SECONDS"] = "0"
        if admin is not None:
            database = f"coopol_e2e_{name}_{uuid.uuid4().hex[:8]}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{database}"'))
            databases.append(database)
            env["DATABASE_URL"] = make_url(PG_ADMIN_URL).set(database=database).render_as_string(
                hide_password=False)
        instance = RealInstance(name, tmp_path / name, free_port(), env)
        started.append(instance)
        return instance

    yield factory
    for instance in started:
        instance.stop()
    if admin is not None:
        with admin.connect() as conn:
            for database in databases:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
