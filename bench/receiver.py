"""Receiving instances for the delivery bench: one process, one threaded HTTP/1.1 server per port on
127.0.0.1, answering every POST with 202 and noting when it arrived (and its body, to replay it).

`python -m bench.receiver COUNT` listens on COUNT free ports and prints `READY PORT...` once every one
listens. The first port also answers `GET /_stats` ({count, first, last} in monotonic seconds),
`GET /_bodies` and `POST /_reset`.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_KEPT_BODIES = 20_000
_lock = threading.Lock()
_state: dict = {"count": 0, "first": None, "last": None, "bodies": []}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - quiet
        return

    def _answer(self, status: int, payload: bytes = b"", content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path == "/_reset":
            with _lock:
                _state.update(count=0, first=None, last=None, bodies=[])
            return self._answer(204)
        now = time.monotonic()
        with _lock:
            _state["count"] += 1
            _state["first"] = _state["first"] or now
            _state["last"] = now
            if len(_state["bodies"]) < MAX_KEPT_BODIES:
                _state["bodies"].append({"url": f"http://{self.headers.get('Host')}{self.path}",
                                         "body": body.decode("utf-8", "replace"),
                                         "signed": "Signature" in self.headers or "signature" in self.headers})
        self._answer(202)

    def do_GET(self):  # noqa: N802
        with _lock:
            if self.path == "/_stats":
                data = {k: _state[k] for k in ("count", "first", "last")}
            elif self.path == "/_bodies":
                data = _state["bodies"]
            else:
                return self._answer(404)
        self._answer(200, json.dumps(data).encode())


def main(count: int) -> None:
    # Port 0: the system picks free ports as it binds (ports chosen beforehand could be taken meanwhile by
    # another process, as when two bench runs start together); the parent reads them from the READY line.
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(count)]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    print("READY", *(server.server_address[1] for server in servers), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main(int(sys.argv[1]))
