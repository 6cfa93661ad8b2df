"""Child processes (gunicorn servers, workers, receivers): started in their own process group on
127.0.0.1, tracked, and always stopped — at the end, on an error and on Ctrl-C."""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
_RUNNING: list[subprocess.Popen] = []


class BenchError(RuntimeError):
    """The bench itself could not do its job (a server did not start, a seed failed...)."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    os.setsid()
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "COOPOL_INSTANCE")
           and not k.startswith("COOPOL_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def spawn(args: list[str], *, env: dict[str, str], log_path: Path, cwd: Path | None = None) -> subprocess.Popen:
    log = log_path.open("ab")
    try:
        proc = subprocess.Popen(args, env=env, cwd=str(cwd or REPO_ROOT), stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
    finally:
        log.close()
    _RUNNING.append(proc)
    return proc


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM the child's process group (gunicorn's master and its workers), then SIGKILL."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    # Workers left behind by a master that died first share its group id.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc in _RUNNING:
        _RUNNING.remove(proc)


def stop_many(procs: list[subprocess.Popen], timeout: float = 10.0) -> None:
    """Stop several children at once: SIGTERM to every group first, so their graceful exits overlap."""
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        stop(proc, timeout=max(0.1, deadline - time.monotonic()))


def stop_all() -> None:
    stop_many(list(reversed(_RUNNING)))


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen
    log_path: Path
    extra: dict = field(default_factory=dict)

    def stop(self) -> None:
        stop(self.proc)


GUNICORN_WORKERS = 4
GUNICORN_THREADS = 4


def gunicorn_args(app_spec: str, port: int, *, workers: int = GUNICORN_WORKERS,
                  threads: int = GUNICORN_THREADS, preload: bool = False) -> list[str]:
    """`preload`: the master loads the app and forks the workers from it (they share its pages)."""
    return [sys.executable, "-m", "gunicorn", "--worker-class", "gthread", "--workers", str(workers),
            "--threads", str(threads), "--bind", f"127.0.0.1:{port}", "--timeout", "120",
            "--graceful-timeout", "5", "--log-level", "info", "--error-logfile", "-",
            *(["--preload"] if preload else []), app_spec]


def start_gunicorn(name: str, app_spec: str, *, env: dict[str, str], log_dir: Path, port: int | None = None,
                   ready_path: str = "/", workers: int = GUNICORN_WORKERS, threads: int = GUNICORN_THREADS,
                   timeout: float = 90.0, preload: bool = False) -> Server:
    """Serve `app_spec` with gunicorn on 127.0.0.1 and wait until every worker answers."""
    log_path = log_dir / f"{name}.log"
    for _attempt in range(3):
        chosen = port or free_port()
        proc = spawn(gunicorn_args(app_spec, chosen, workers=workers, threads=threads, preload=preload), env=env,
                     log_path=log_path)
        url = f"http://127.0.0.1:{chosen}"
        try:
            wait_ready(proc, url + ready_path, log_path, timeout=timeout, workers=workers)
            return Server(name, url, proc, log_path)
        except BenchError as error:
            stop(proc)
            if port is None and "Address already in use" in tail(log_path):
                continue  # lost the race for a probed port: try another
            raise error
    raise BenchError(f"{name}: could not bind a free port")


def child_pids(pid: int) -> list[int]:
    """The processes whose parent is `pid` (a gunicorn master's workers), from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1 and int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process in MB (VmRSS), or None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def workers_rss_mb(server: Server) -> list[float]:
    """The resident memory of each of a gunicorn server's workers, in MB."""
    return [mb for mb in (rss_mb(pid) for pid in child_pids(server.proc.pid)) if mb is not None]


def memory_mb(pid: int) -> dict[str, float] | None:
    """A process's memory in MB from /proc/PID/smaps_rollup: `rss` (every resident page, shared ones
    too), `pss` (shared pages divided among the processes sharing them) and `uss` (its private pages:
    what it alone costs, what stopping it gives back)."""
    try:
        fields = {}
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
            name, _, rest = line.partition(":")
            fields[name] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return None
    kb = {"rss": fields.get("Rss", 0), "pss": fields.get("Pss", 0),
          "uss": fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)}
    return {name: round(value / 1024, 1) for name, value in kb.items()}


def workers_memory_mb(server: Server) -> list[dict[str, float]]:
    """`memory_mb` of each of a gunicorn server's workers."""
    return [found for found in (memory_mb(pid) for pid in child_pids(server.proc.pid)) if found is not None]


def wait_ready(proc: subprocess.Popen, url: str, log_path: Path, *, timeout: float, workers: int = 1) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"server for {url} exited with status {proc.returncode}:\n{tail(log_path)}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                status = response.status
        except urllib.error.HTTPError as error:
            status = error.code
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
            continue
        if status >= 500:
            raise BenchError(f"{url} answers {status}:\n{tail(log_path)}")
        # Every gunicorn worker must have booted, or the first seconds measure app start-up.
        booted = len(re.findall(r"Booting worker with pid", tail(log_path, 400)))
        if booted >= workers:
            time.sleep(0.5)
            return
        time.sleep(0.2)
    raise BenchError(f"{url} did not answer within {timeout:.0f} s:\n{tail(log_path)}")
