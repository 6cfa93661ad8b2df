"""Live instances for federation tests: each app has its own database and is served by a real WSGI
server on 127.0.0.1 in a thread, so instances talk real HTTP to each other (nothing of ours is mocked).

`instance("a")` starts one; `ally(a, b)` runs the alliance handshake through the CLI commands;
`peer()` starts a stub *remote* server (not ours) whose answers a test scripts, to play a broken,
slow or hostile peer.

An inbox stores what it accepts and the instance's worker applies it (coopol/federation/inbox.py): here
`a.drain()` runs `a`'s worker once (deliveries, and what `a`'s inbox holds), then applies what the inbox
of every live instance holds, as their workers would, until nothing is due; `b.apply_inbox()` (or
`apply_inbox(app)` for an app a test client posts to) applies one instance's alone; `signed_post` to a
live instance applies what it accepted (`apply=False` leaves it queued), and `a.cli(...)`, whose commands
deliver at once, applies what every live instance received.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


def build_votes() -> int:
    """What the worker does first in each round for votes (in an app context): our members' queued votes
    built, signed, kept and enqueued for delivery. Returns how many."""
    from coopol.federation.content.vote_queue import build_queued_votes

    built = 0
    while done := build_queued_votes():
        built += done
    return built


class ServedApp:
    """A WSGI app served on a free loopback port; the app can be given after the port is known."""

    def __init__(self, app: Any = None) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def _dispatch(self, environ, start_response):
        return self.app(environ, start_response)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def apply_inbox(app: Any) -> int:
    """What `app`'s worker does with its inbox: apply every item that is due; returns how many."""
    from coopol.extensions import db
    from coopol.federation.inbox import apply_queued

    applied = 0
    with app.app_context():
        try:
            while True:
                done = apply_queued()
                if not done:
                    return applied
                applied += done
        finally:
            db.session.remove()


@dataclass
class LiveInstance:
    app: Any
    served: ServedApp
    live: list[LiveInstance] = field(default_factory=list)  # every instance of the test, this one too

    @property
    def url(self) -> str:
        return self.served.url

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.served.port}"

    def cli(self, *args: str, expect_ok: bool = True):
        from coopol.federation.cli import allies, worker

        command = {"allies": allies, "worker": worker}[args[0]]
        result = self.app.test_cli_runner().invoke(command, list(args[1:]))
        if expect_ok:
            assert result.exit_code == 0, (result.output, result.exception)
        apply_inboxes(*self.live)  # the commands deliver at once; the receivers' workers apply it
        return result

    def drain(self) -> int:
        """Run this instance's worker once (build the queued votes' activities, deliver everything that is
        due, apply its inbox), then apply what every live instance's inbox received, as their workers would;
        returns the delivery attempts."""
        from coopol.federation.delivery import run_worker

        with self.app.app_context():
            build_votes()
            attempts = run_worker(once=True, concurrency=2)
        apply_inboxes(*(self.live or [self]))
        return attempts

    def apply_inbox(self) -> int:
        """Apply what this instance's inbox holds (its worker's part for received activities)."""
        return apply_inbox(self.app)

    def query(self, fn: Callable[[], Any]) -> Any:
        from coopol.extensions import db

        with self.app.app_context():
            try:
                return fn()
            finally:
                db.session.remove()

    def ally_row(self, host: str):
        from sqlalchemy import select

        from coopol.extensions import db
        from coopol.federation.models import Ally

        def read():
            ally = db.session.scalar(select(Ally).where(Ally.host == host))
            if ally is not None:
                db.session.expunge(ally)
            return ally

        return self.query(read)

    def deliveries(self) -> list[tuple[str, str]]:
        """(activity type, delivery state) of every delivery, sorted."""
        from sqlalchemy import select

        from coopol.extensions import db
        from coopol.federation.models import Delivery, OutboxActivity

        return self.query(lambda: sorted(db.session.execute(
            select(OutboxActivity.type, Delivery.state).join(Delivery.activity)).all()))

    def count(self, model) -> int:
        from sqlalchemy import func, select

        from coopol.extensions import db

        return self.query(lambda: db.session.scalar(select(func.count()).select_from(model)))


@pytest.fixture
def instance(make_app) -> Iterator[Callable[..., LiveInstance]]:
    started: list[ServedApp] = []

    live: list[LiveInstance] = []

    def factory(name: str, **config: Any) -> LiveInstance:
        served = ServedApp()
        started.append(served)
        served.app = make_app(name, URL=served.url, **config)
        made = LiveInstance(served.app, served, live)
        live.append(made)
        _LIVE.append(made)
        return made

    yield factory
    for made in live:
        _LIVE.remove(made)
    for served in started:
        served.stop()


_LIVE: list[LiveInstance] = []  # the instances of the running test (signed_post applies what they accept)


def apply_inboxes(*lives: LiveInstance) -> int:
    """Apply what the inboxes of `lives` hold, round after round, until none has anything due."""
    total = 0
    while True:
        applied = sum(live.apply_inbox() for live in lives)
        if not applied:
            return total
        total += applied


def run_handshake(a: LiveInstance, b: LiveInstance) -> None:
    """`a` asks `b`, `b`'s admin accepts, the workers deliver what is left: a mutual alliance."""
    a.cli("allies", "request", b.url)
    b.cli("allies", "accept", a.host)
    for _ in range(3):
        a.drain()
        b.drain()
    assert a.ally_row(b.host).is_allied and b.ally_row(a.host).is_allied


@pytest.fixture
def ally() -> Callable[[LiveInstance, LiveInstance], None]:
    return run_handshake


@dataclass
class ScriptedPeer:
    """A stub remote server: answers from `routes` (path -> (status, headers, body)), records requests."""

    served: ServedApp
    routes: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)
    received: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.served.url

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.served.port}"

    release: threading.Event = field(default_factory=threading.Event)
    hold: bool = False

    def answer(self, path: str, status: int = 200, body: Any = b"", headers: dict[str, str] | None = None) -> None:
        if not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self.routes[path] = (status, headers or {}, body)

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.received.append({"method": request.method, "path": request.full_path.rstrip("?"),
                              "headers": dict(request.headers), "body": request.get_data()})
        if self.hold:  # a slow peer: answers only when the test releases it
            self.release.wait(30)
        status, headers, body = self.routes.get(request.path, (404, {}, b"not found"))
        return Response(body, status=status, headers=headers)(environ, start_response)

    def ally_of(self, live: LiveInstance, **fields: Any) -> None:
        """Record this peer in `live`'s database as a mutual ally (as if the handshake had happened)."""
        from coopol.core.uow import unit_of_work
        from coopol.extensions import db
        from coopol.federation.models import Ally

        values = {"host": self.host, "base_url": self.url, "group_id": f"{self.url}/g/ideas",
                  "group_inbox": f"{self.url}/g/ideas/inbox", "shared_inbox": f"{self.url}/inbox", "name": "peer",
                  "outgoing": "accepted", "incoming": "accepted", "consecutive_failures": 0, "last_error": "",
                  **fields}

        def add():
            with unit_of_work():
                db.session.add(Ally(**values))

        live.query(add)


@pytest.fixture
def peer() -> Iterator[Callable[[], ScriptedPeer]]:
    started: list[ServedApp] = []

    def factory() -> ScriptedPeer:
        served = ServedApp()
        started.append(served)
        scripted = ScriptedPeer(served)
        served.app = scripted
        return scripted

    yield factory
    for served in started:
        served.app.release.set()
        served.stop()


def signed_post(url: str, activity: Any, key_id: str, private_pem: str, *, now=None,
                content_type: str = "application/activity+json", body: bytes | None = None,
                extra: dict[str, str] | None = None, apply: bool = True):
    """POST `activity` to `url` signed as a peer would (draft-cavage rsa-sha256 with Digest). When a live
    instance of the test accepts it, its worker's part follows (`apply_inbox`) unless `apply` is False."""
    import requests

    from coopol.federation.signatures import sign_request

    data = body if body is not None else json.dumps(activity).encode()
    headers = sign_request("POST", url, {"Content-Type": content_type, **(extra or {})}, data, key_id, private_pem,
                           now=now)
    response = requests.post(url, data=data, headers=headers, timeout=10)
    return applied(url, response) if apply else response


def applied(url: str, response: Any) -> Any:
    """After a POST to `url`: when a live instance of the test accepted it (202), its worker's part."""
    if response.status_code == 202:
        for live in list(_LIVE):
            if url.startswith(f"{live.url}/"):
                live.apply_inbox()
    return response


def group_signer(live: LiveInstance) -> tuple[str, str]:
    """(key id, private PEM) of `live`'s Group."""
    from coopol.federation.actors import group_id, signer_for

    return live.query(lambda: signer_for(group_id()))
