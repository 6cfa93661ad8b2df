"""The demo's child processes: each instance's server (`coopol run`) and delivery worker (`coopol worker`).

Each child runs in its own process group; the demo stops every group when it gets Ctrl-C, SIGTERM or
SIGHUP, and the children also get SIGTERM if the demo itself dies (Linux `PR_SET_PDEATHSIG`).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# `python -m coopol.cli` would load the CLI twice (as __main__ and as coopol.cli) and lose the commands
# registered on coopol.cli, so children run the console entry point this way.
COOPOL = [sys.executable, "-c", "import sys; from coopol.cli import main; sys.exit(main())"]
STOP_TIMEOUT = 10.0


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Ask Linux to send the child SIGTERM if the demo dies without cleaning up (e.g. SIGKILL)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Child:
    label: str
    process: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def stop_children(children: list[Child], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM every child's process group, wait, then SIGKILL what is left. Reaps every child."""
    for child in children:
        if child.process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
    for child in children:
        # The group may outlive its leader (a grandchild); kill it whatever the leader did.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, signal.SIGKILL)
        child.process.wait()


def spawn(name: str, label: str, instance_path: Path, env: dict[str, str], *args: str) -> Child:
    """Start `coopol --instance DIR ARGS` in its own session, its output in `DIR/logs/<label>.log`."""
    logs = instance_path / "logs"
    logs.mkdir(exist_ok=True)
    log_path = logs / f"{label}.log"
    log = log_path.open("ab")
    try:
        process = subprocess.Popen([*COOPOL, "--instance", str(instance_path), *args], env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True,
                                   preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    finally:
        log.close()
    return Child(f"{name} {label}", process, log_path)


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def first_dead(children: list[Child]) -> Child | None:
    return next((child for child in children if child.process.poll() is not None), None)
