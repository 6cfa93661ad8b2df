"""One load generator for Coopol and for bare Flask: `wrk` when installed (Debian: `apt-get install wrk`),
otherwise a bundled Python one (threads, one keep-alive `http.client` connection each). Both cycle
through a list of prepared requests, so a scenario can vary URLs, bodies and credentials, and both are
bounded in time (and the Python one in count)."""

from __future__ import annotations

import http.client
import itertools
import json
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None


@dataclass
class LoadResult:
    connections: int
    duration_s: float
    requests: int
    errors: int            # socket errors, time-outs and HTTP statuses >= 400
    rps: float
    p50_ms: float
    p99_ms: float
    mean_ms: float
    distinct_requests: int
    repeated: bool         # more requests were sent than were prepared (the list was cycled)

    def as_dict(self) -> dict:
        return asdict(self)


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def generator_name(prefer: str = "auto") -> str:
    if prefer == "python" or (prefer == "auto" and not have_wrk()):
        return "python"
    if not have_wrk():
        raise RuntimeError("wrk was requested but is not installed (apt-get install -y wrk)")
    return "wrk"


def run_load(base_url: str, requests: list[Request], *, connections: int, duration: float,
             generator: str = "wrk", max_requests: int | None = None) -> LoadResult:
    if not requests:
        raise ValueError("no requests to send")
    if generator == "wrk":
        return _run_wrk(base_url, requests, connections=connections, duration=duration)
    return _run_python(base_url, requests, connections=connections, duration=duration, max_requests=max_requests)


# ------------------------------------------------------------------------------------------- wrk

def _lua_string(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    out = []
    for byte in data:
        char = chr(byte)
        if char in '"\\' or byte < 32 or byte > 126:
            out.append(f"\\{byte:03d}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


_LUA_FOOTER = r"""
local threads = {}
function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end
local position = 0
local stride = 1
function init(args)
  position = thread_index or 0
  stride = tonumber(args[1]) or 1
end
request = function()
  local r = reqs[(position % #reqs) + 1]
  position = position + stride
  return wrk.format(r[1], r[2], r[3], r[4])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


def write_lua(requests: list[Request], path: Path) -> None:
    with path.open("w") as fh:
        fh.write("reqs = {\n")
        for req in requests:
            headers = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in req.headers.items())
            body = _lua_string(req.body) if req.body is not None else "nil"
            fh.write(f"  {{{_lua_string(req.method)}, {_lua_string(req.path)}, {{{headers}}}, {body}}},\n")
        fh.write("}\n")
        fh.write(_LUA_FOOTER)


def _run_wrk(base_url: str, requests: list[Request], *, connections: int, duration: float) -> LoadResult:
    threads = max(1, min(2, connections))
    with tempfile.TemporaryDirectory(prefix="coopol-wrk-") as tmp:
        script = Path(tmp) / "requests.lua"
        write_lua(requests, script)
        seconds = max(1, round(duration))
        args = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s",
                "-s", str(script), base_url, "--", str(threads)]
        out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCHJSON ")), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    data = json.loads(line.removeprefix("BENCHJSON "))
    elapsed = data["duration_us"] / 1e6
    errors = data["connect"] + data["read"] + data["write"] + data["status"] + data["timeout"]
    return LoadResult(
        connections=connections, duration_s=round(elapsed, 3), requests=data["requests"], errors=errors,
        rps=round(data["requests"] / elapsed, 1) if elapsed else 0.0,
        p50_ms=round(data["p50_us"] / 1000, 2), p99_ms=round(data["p99_us"] / 1000, 2),
        mean_ms=round(data["mean_us"] / 1000, 2), distinct_requests=len(requests),
        repeated=data["requests"] > len(requests),
    )


# ---------------------------------------------------------------------------------------- Python

def _run_python(base_url: str, requests: list[Request], *, connections: int, duration: float,
                max_requests: int | None) -> LoadResult:
    parts = urlsplit(base_url)
    host, port = parts.hostname, parts.port or 80
    counter = itertools.count()
    limit = max_requests or 10_000_000
    deadline_holder: list[float] = []
    latencies: list[list[float]] = [[] for _ in range(connections)]
    errors = [0] * connections          # HTTP statuses >= 400 (their latency is still recorded)
    socket_errors = [0] * connections   # failures without a response
    start_barrier = threading.Barrier(connections + 1)

    def worker(index: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=10)
        mine = latencies[index]
        start_barrier.wait()
        deadline = deadline_holder[0]
        while time.perf_counter() < deadline:
            n = next(counter)
            if n >= limit:
                break
            req = requests[n % len(requests)]
            began = time.perf_counter()
            try:
                conn.request(req.method, req.path, body=req.body, headers=req.headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    errors[index] += 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                socket_errors[index] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=10)
                continue
            mine.append(time.perf_counter() - began)
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline_holder.append(began + duration)
    start_barrier.wait()
    for thread in threads:
        thread.join(duration + 30)
    elapsed = time.perf_counter() - began
    samples = sorted(itertools.chain.from_iterable(latencies))
    total = len(samples) + sum(socket_errors)

    def pct(p: float) -> float:
        if not samples:
            return 0.0
        return round(samples[min(len(samples) - 1, int(p / 100 * len(samples)))] * 1000, 2)

    return LoadResult(
        connections=connections, duration_s=round(elapsed, 3), requests=total,
        errors=sum(errors) + sum(socket_errors), rps=round(total / elapsed, 1) if elapsed else 0.0,
        p50_ms=pct(50), p99_ms=pct(99),
        mean_ms=round(sum(samples) / len(samples) * 1000, 2) if samples else 0.0,
        distinct_requests=len(requests), repeated=total > len(requests),
    )
