"""Federation figures (issue 5).

deliveries: one `coopol worker` delivers queued activities to 10 receiving instances (bench.receiver);
a bare loop then signs and POSTs the very bodies the worker sent, with `requests`, to the same
receivers. Both rates are taken from the receivers' arrival times; the figure is their ratio.

propagation: seconds from publishing an idea on one instance until 10 allied instances, each with one
worker, show it.
"""

from __future__ import annotations

import importlib.util
import json
import random
import statistics
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.instance import create_instance, log
from bench.processes import BenchError, free_port, spawn, stop, stop_many, tail

TITLES = {
    "deliveries": "deliveries/s, one worker -> 10 instances",
    "propagation": "publish -> visible on 10 allies (s)",
}
DELIVERY_GOAL = 0.50
RECEIVERS = 10
ACTIVITIES = {"full": 300, "quick": 100, "smoke": 10}


def _missing_core() -> str | None:
    for module in ("coopol.federation.models", "coopol.federation.delivery", "coopol.federation.outbox"):
        if importlib.util.find_spec(module) is None:
            return f"{module} does not exist yet"
    return None


def run(keys: list[str], workdir: Path, database_url: str | None, size: str, instances: list[Any]) -> list[dict]:
    out = []
    for key in keys:
        entry: dict[str, Any] = {"key": key, "title": TITLES[key]}
        log(f"federation: {key}")
        try:
            if key == "deliveries":
                entry.update(deliveries(workdir, database_url, size, instances))
            else:
                entry.update(propagation(workdir, database_url, size, instances))
        except BenchError as error:
            entry.update(status="error", reason=str(error))
        if entry["status"] != "ok":
            log(f"  {key}: {entry['status']}: {entry.get('reason')}")
        else:
            log(f"  {key}: {entry['summary']}")
        out.append(entry)
    return out


# ----------------------------------------------------------------------------------- receivers

class Receivers:
    def __init__(self, workdir: Path, count: int) -> None:
        from bench.processes import child_env

        log_path = workdir / "receivers.log"
        self.proc = spawn([sys.executable, "-m", "bench.receiver", str(count)], env=child_env(), log_path=log_path)
        self.log_path = log_path
        deadline = time.monotonic() + 30
        while not (ready := [line for line in tail(log_path).splitlines() if line.startswith("READY")]):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"receivers did not start:\n{tail(log_path)}")
            time.sleep(0.1)
        self.ports = [int(port) for port in ready[0].split()[1:]]
        self.control = f"http://127.0.0.1:{self.ports[0]}"

    def hosts(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.ports]

    def stats(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.control + "/_stats", timeout=10) as response:
            return json.loads(response.read())

    def bodies(self) -> list[dict[str, Any]]:
        with urllib.request.urlopen(self.control + "/_bodies", timeout=30) as response:
            return json.loads(response.read())

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.control + "/_reset", data=b"", method="POST"),
                               timeout=10).close()

    def stop(self) -> None:
        stop(self.proc)


def _rate(stats: dict[str, Any]) -> float:
    span = (stats["last"] or 0) - (stats["first"] or 0)
    return round((stats["count"] - 1) / span, 1) if stats["count"] > 1 and span > 0 else 0.0


# ---------------------------------------------------------------------------------- deliveries

def deliveries(workdir: Path, database_url: str | None, size: str, instances: list[Any]) -> dict[str, Any]:
    missing = _missing_core()
    if missing:
        return {"status": "skipped", "reason": missing}
    from sqlalchemy import func, select

    from coopol.extensions import db
    from coopol.federation.actors import group_id, signer_for
    from coopol.federation.models import Delivery

    receivers = Receivers(workdir, RECEIVERS)
    try:
        instance = create_instance(workdir, "sender", free_port(), database_url)
        instances.append(instance)
        app = instance.app
        n_activities = ACTIVITIES[size]
        add_receiving_allies(instance, receivers)
        queue_activities(instance, n_activities)
        with app.app_context():
            key_id, private_pem = signer_for(group_id())
        expected = n_activities * RECEIVERS
        log(f"  {expected} deliveries queued; starting one worker")
        worker_log = workdir / "worker-sender.log"
        worker = spawn(coopol_command("worker"), env=instance.env(), log_path=worker_log)
        started = time.monotonic()
        deadline = started + max(120, expected * 0.5)
        try:
            while True:
                stats = receivers.stats()
                if stats["count"] >= expected:
                    break
                if worker.poll() is not None:
                    raise BenchError(f"the worker exited ({worker.returncode}):\n{tail(worker_log)}")
                if time.monotonic() > deadline:
                    raise BenchError(f"only {stats['count']} of {expected} deliveries arrived in time:\n"
                                     f"{tail(worker_log)}")
                time.sleep(0.2)
        finally:
            stop(worker)
        worker_rate = _rate(stats)
        with app.app_context():
            delivered = db.session.scalar(select(func.count()).select_from(Delivery)
                                          .where(Delivery.state == "delivered"))
            db.session.remove()
        received = receivers.bodies()
        unsigned = sum(1 for r in received if not r["signed"])
        log(f"  worker: {worker_rate:,.1f} deliveries/s ({delivered} recorded delivered); bare loop next")

        bare: dict[str, float] = {}
        for label, pooled in (("per_request", False), ("pooled", True)):
            receivers.reset()
            rate = _bare_loop(received, key_id, private_pem, pooled=pooled)
            after = receivers.stats()
            if after["count"] != len(received):
                raise BenchError(f"the bare loop ({label}) delivered {after['count']} of {len(received)}")
            bare[label] = _rate(after) or rate
        bare_rate = bare["pooled"]
        ratio = round(worker_rate / bare_rate, 3) if bare_rate else None
        ratio_unpooled = round(worker_rate / bare["per_request"], 3) if bare["per_request"] else None
        return {
            "status": "ok", "goal": DELIVERY_GOAL, "ratio": ratio, "deliveries": expected,
            "recorded_delivered": delivered, "unsigned": unsigned,
            "worker_per_s": worker_rate, "bare_loop_per_s": bare_rate,
            "bare_loop_per_request_per_s": bare["per_request"], "ratio_to_per_request_loop": ratio_unpooled,
            "worker": "coopol worker (defaults)",
            "bare_loop": "sign each body, POST with one requests.Session (keep-alive), one thread",
            "summary": (f"worker {worker_rate:,.1f}/s vs bare sign+POST loop {bare_rate:,.1f}/s (keep-alive; "
                        f"{bare['per_request']:,.1f}/s with a connection per POST): ratio "
                        f"{ratio if ratio is not None else '-'} (goal >= {DELIVERY_GOAL}; "
                        f"{ratio_unpooled if ratio_unpooled is not None else '-'} to the per-POST loop), "
                        f"{expected} deliveries"),
        }
    finally:
        receivers.stop()


def add_receiving_allies(instance: Any, receivers: Receivers) -> None:
    """Record every receiver as a mutual ally of `instance` (as if the handshake had happened)."""
    from bench.bulk import bulk_insert
    from coopol.extensions import db

    with instance.app.app_context():
        with db.engine.begin() as conn:
            bulk_insert(conn, db.metadata.tables["federation_allies"], (
                {"host": host, "base_url": f"http://{host}", "group_id": f"http://{host}/g/ideas",
                 "group_inbox": f"http://{host}/g/ideas/inbox", "shared_inbox": f"http://{host}/inbox",
                 "name": f"Receiver {i}", "outgoing": "accepted", "incoming": "accepted",
                 "consecutive_failures": 0, "last_error": ""} for i, host in enumerate(receivers.hosts())),
                label="receiving allies")
        db.session.remove()


def queue_activities(instance: Any, count: int) -> None:
    """`count` Group activities, each queued for every ally inbox (one delivery per receiver)."""
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.federation.actors import group_id
    from coopol.federation.outbox import ally_inboxes, build_activity, enqueue_activity
    from coopol.federation.protocol import PUBLIC

    with instance.app.app_context():
        try:
            with unit_of_work():
                targets = ally_inboxes()
                if len(targets) != RECEIVERS:
                    raise BenchError(f"expected {RECEIVERS} ally inboxes, found {len(targets)}")
                for i in range(count):
                    enqueue_activity(build_activity("Create", group_id(), _page(instance.url, i), to=[PUBLIC],
                                                    cc=[f"{group_id()}/followers"]), targets)
        finally:
            db.session.remove()


def coopol_command(*args: str) -> list[str]:
    """The `coopol` CLI with this interpreter (`python -m coopol.cli` would register feature commands
    on a second copy of the module)."""
    return [sys.executable, "-c", "import sys; from coopol.cli import main; sys.argv[0] = 'coopol'; main()", *args]


def _page(base: str, i: int) -> dict[str, Any]:
    return {
        "id": f"{base}/ideas/{i + 1}", "type": "Page", "name": f"Bench idea {i} about cycling and trams",
        "content": "<p>" + " ".join(["Safer streets for children and more trams in every district."] * 8) + "</p>",
        "mediaType": "text/html", "attributedTo": f"{base}/u/bench{i:06d}", "audience": f"{base}/g/ideas",
        "tag": [{"type": "Hashtag", "name": "#transport"}], "published": "2026-01-01T00:00:00Z",
        "url": f"{base}/ideas/{i + 1}",
    }


def _bare_loop(received: list[dict[str, Any]], key_id: str, private_pem: str, *, pooled: bool) -> float:
    """The least a sender can do: sign each body (key loaded once) and POST it with `requests`, over
    kept-alive connections (`pooled`, as Coopol's transport does) or one connection per POST."""
    import requests

    from bench.inbox import _cache_loaded_keys
    from coopol.federation import signatures

    _cache_loaded_keys(signatures)
    with requests.Session() as session:
        post = session.post if pooled else requests.post
        started = time.monotonic()
        for item in received:
            body = item["body"].encode()
            headers = signatures.sign_request("POST", item["url"], {"Content-Type": "application/activity+json"},
                                              body, key_id, private_pem)
            response = post(item["url"], data=body, headers=headers, timeout=10)
            if response.status_code >= 300:
                raise BenchError(f"bare loop: {item['url']} answered {response.status_code}")
        elapsed = time.monotonic() - started
    return round(len(received) / elapsed, 1) if elapsed else 0.0


# --------------------------------------------------------------------------------- propagation

ALLIES = {"full": 10, "quick": 10, "smoke": 2}  # the smoke run only checks the machinery
PUBLICATIONS = {"full": 5, "quick": 3, "smoke": 1}
POLL_SECONDS = 0.1  # how often the bench asks each ally that does not show the idea yet
SHOW_TIMEOUT = 60.0
SERVER_WORKERS, SERVER_THREADS = 1, 4  # per instance: 11 servers share the machine
PASSWORD = "bench horse battery staple 12"


def _ideas_federated(app) -> bool:
    handlers = app.extensions.get("coopol.events", {}).get("idea_published", [])
    return any(getattr(h, "__module__", "").startswith("coopol.federation") for h in handlers)


def propagation(workdir: Path, database_url: str | None, size: str, instances: list[Any]) -> dict[str, Any]:
    missing = _missing_core()
    if missing:
        return {"status": "skipped", "reason": missing}
    from coopol import create_app

    probe = create_app({"INSTANCE_PATH": str(workdir / "probe"), "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    if not _ideas_federated(probe):
        return {"status": "skipped",
                "reason": "ideas are not federated yet: nothing in coopol.federation subscribes to "
                          "'idea_published', so no ally would ever show a published idea"}
    from coopol.federation import DEFAULTS

    poll_default = DEFAULTS["FEDERATION_WORKER_IDLE_MAX"]  # the longest an idle worker waits unwoken
    network = _Network(workdir, database_url, instances, ALLIES[size])
    try:
        network.start()
        network.ally_all()
        token = network.member_token()
        rng = random.Random(7)
        samples = []
        for i in range(PUBLICATIONS[size]):
            time.sleep(rng.uniform(0, poll_default))  # publish at any point of the idle worker's sleep
            samples.append(network.publish_and_wait(token, i))
    finally:
        network.stop()
    lasts = sorted(sample["last"] for sample in samples)
    firsts = sorted(sample["first"] for sample in samples)
    median, worst = round(statistics.median(lasts), 2), round(lasts[-1], 2)
    median_first = round(statistics.median(firsts), 2)
    picked_up = round(statistics.median(sample["first_delivered_s"] for sample in samples), 2)
    all_delivered = round(statistics.median(sample["last_delivered_s"] for sample in samples), 2)
    return {
        "status": "ok", "allies": len(network.allies), "publications": samples,
        "median_s": median, "max_s": worst, "median_first_s": median_first,
        "median_first_delivered_s": picked_up, "median_last_delivered_s": all_delivered,
        "setup": (f"1 origin + {len(network.allies)} allies, each gunicorn ({SERVER_WORKERS} gthread worker x "
                  f"{SERVER_THREADS} threads) and one `coopol worker` (defaults: 4 threads, batches of 20)"),
        "worker_poll_seconds": poll_default, "bench_poll_seconds": POLL_SECONDS,
        "summary": (f"all {len(network.allies)} allies show a new idea to their members after {median:.2f} s "
                    f"(median of {len(samples)}, max {worst:.2f} s; first ally {median_first:.2f} s); "
                    f"origin queue: first delivery {picked_up:.2f} s, last {all_delivered:.2f} s after queueing; "
                    f"the idle worker is woken by the commit (PostgreSQL NOTIFY; SQLite: data_version checked every "
                    f"{DEFAULTS['FEDERATION_WORKER_POLL']:g} s)"),
    }


class _Network:
    """One origin and its allies: instances, servers, workers, and the alliances between them."""

    def __init__(self, workdir: Path, database_url: str | None, instances: list[Any], allies: int) -> None:
        self.workdir, self.database_url, self.instances, self.n_allies = workdir, database_url, instances, allies
        self.origin: Any = None
        self.allies: list[Any] = []
        self.reader_tokens: dict[str, str] = {}
        self.procs: list[tuple[Any, Path]] = []

    def start(self) -> None:
        from bench.processes import gunicorn_args, wait_ready

        log(f"  creating 1 origin and {self.n_allies} allies")
        for name in ["origin", *(f"ally{i:02d}" for i in range(self.n_allies))]:
            instance = create_instance(self.workdir, name, free_port(), self.database_url)
            self.instances.append(instance)
            instance.app.config["FEDERATION_AUTO_BACKFILL"] = False  # the bench process pulls nothing
            if self.origin is None:
                self.origin = instance
            else:
                self.allies.append(instance)
        everyone = [self.origin, *self.allies]
        servers = []
        for instance in everyone:
            log_path = self.workdir / f"server-{instance.name}.log"
            proc = spawn(gunicorn_args("coopol:create_app()", instance.port, workers=SERVER_WORKERS,
                                       threads=SERVER_THREADS), env=instance.env(), log_path=log_path)
            self.procs.append((proc, log_path))
            servers.append((instance, proc, log_path))
        for instance, proc, log_path in servers:
            try:
                wait_ready(proc, instance.url + "/nodeinfo/2.1", log_path, timeout=90, workers=SERVER_WORKERS)
            except BenchError as error:
                raise BenchError(f"{instance.name}'s server did not come up (log {log_path}, rerun with --keep "
                                 f"to keep it): {error}") from error
        for instance in everyone:
            log_path = self.workdir / f"worker-{instance.name}.log"
            self.procs.append((spawn(coopol_command("worker"), env=instance.env(), log_path=log_path), log_path))
        deadline = time.monotonic() + 60
        for proc, log_path in self.procs[len(everyone):]:
            while "Delivery worker running" not in tail(log_path):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise BenchError(f"{log_path.stem} did not start (log {log_path}, rerun with --keep to keep "
                                     f"it):\n{tail(log_path)}")
                time.sleep(0.1)
        log(f"  {len(everyone)} servers and {len(everyone)} workers running")

    def _check_alive(self) -> None:
        for proc, log_path in self.procs:
            if proc.poll() is not None:
                raise BenchError(f"{log_path.stem} exited with status {proc.returncode}; {log_path} (rerun with "
                                 f"--keep to keep it) ends:\n{tail(log_path)}")

    def _unit(self, instance: Any, fn, *args, **kwargs):
        from coopol.core.uow import unit_of_work
        from coopol.extensions import db

        with instance.app.app_context():
            try:
                with unit_of_work():
                    return fn(*args, **kwargs)
            finally:
                db.session.remove()

    def _ally_row(self, instance: Any, host: str) -> tuple[str, str] | None:
        from sqlalchemy import select

        from coopol.federation.models import Ally

        def read() -> tuple[str, str] | None:
            row = db_scalar(select(Ally).where(Ally.host == host))
            return (row.outgoing, row.incoming) if row is not None else None

        return self._unit(instance, read)

    def _deliver(self, instance: Any, change: Any) -> None:
        """What `coopol allies ...` does: try the handshake's deliveries at once (the worker retries)."""
        from coopol.extensions import db
        from coopol.federation.delivery import deliver_now

        with instance.app.app_context():
            try:
                deliver_now(change.delivery_ids)
            finally:
                db.session.remove()

    def _logs(self, *names: str) -> str:
        return "\n".join(f"--- {path} (rerun with --keep to keep it)\n{tail(path, 12)}"
                         for _, path in self.procs if path.stem.split("-", 1)[1] in names)

    def _wait(self, what: str, check, about: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            self._check_alive()
            if time.monotonic() > deadline:
                raise BenchError(f"timed out after {timeout:.0f} s waiting for {what}:\n"
                                 f"{self._logs('origin', about)}")
            time.sleep(0.2)

    def ally_all(self) -> None:
        """The handshake of `coopol allies request` / `accept`, through the same services."""
        from coopol.federation.alliances import accept_alliance, request_alliance

        for ally in self.allies:
            self._deliver(self.origin, self._unit(self.origin, request_alliance, ally.url))
        for ally in self.allies:
            self._wait(f"{ally.name} to receive the origin's request",
                       lambda ally=ally: (self._ally_row(ally, self.origin.host) or ("", ""))[1] == "pending",
                       ally.name)
            self._deliver(ally, self._unit(ally, accept_alliance, self.origin.host))
        for ally in self.allies:
            self._wait(f"the alliance origin <-> {ally.name}",
                       lambda ally=ally: self._ally_row(self.origin, ally.host) == ("accepted", "accepted")
                       and self._ally_row(ally, self.origin.host) == ("accepted", "accepted"), ally.name)
        log(f"  origin allied with {len(self.allies)} instances")

    def member_token(self) -> str:
        from coopol.accounts.services import create_token, register_member

        def make() -> str:
            member = register_member("benchauthor", "benchauthor@bench.example", PASSWORD, bypass_policy=True)
            return create_token(member, "bench")[1]

        # Each ally is read by one of its members: a visitor's answer may come from the visitors' cache,
        # up to `public_cache_seconds` old, which would time the cache rather than the federation.
        for ally in self.allies:
            self.reader_tokens[ally.name] = self._unit(ally, lambda: create_token(
                register_member("benchreader", "benchreader@bench.example", PASSWORD, bypass_policy=True),
                "bench")[1])
        return self._unit(self.origin, make)

    def publish_and_wait(self, token: str, i: int) -> dict[str, Any]:
        import requests

        with requests.Session() as http:
            return self._publish_and_wait(http, token, i)

    def _publish_and_wait(self, http: Any, token: str, i: int) -> dict[str, Any]:
        started = time.monotonic()
        response = http.post(f"{self.origin.url}/api/v1/ideas", headers={"Authorization": f"Bearer {token}"},
                             json={"title": f"Bench propagation {i}: night buses",
                                   "body": "Night buses on every line, every night.", "publish": True}, timeout=30)
        if response.status_code != 201:
            raise BenchError(f"publishing on the origin answered {response.status_code}: {response.text[:500]}")
        ap_id = response.json()["ap_id"]
        published = time.monotonic() - started
        seen: dict[str, float] = {}
        deadline = started + SHOW_TIMEOUT
        while len(seen) < len(self.allies):
            for ally in self.allies:
                if ally.name in seen:
                    continue
                answer = http.get(f"{ally.url}/api/v1/ideas", params={"origin": self.origin.host, "limit": 100},
                                  headers={"Authorization": f"Bearer {self.reader_tokens[ally.name]}"}, timeout=30)
                if answer.status_code == 200 and any(item.get("ap_id") == ap_id for item in answer.json()["items"]):
                    seen[ally.name] = time.monotonic() - started
            if len(seen) == len(self.allies):
                break
            self._check_alive()
            if time.monotonic() > deadline:
                late = [a.name for a in self.allies if a.name not in seen]
                raise BenchError(f"{ap_id} did not reach {', '.join(late)} within {SHOW_TIMEOUT:.0f} s:\n"
                                 f"{self._logs('origin', late[0])}")
            time.sleep(POLL_SECONDS)
        times = sorted(seen.values())
        queue = self.delivery_times(ap_id)
        log(f"  publication {i + 1}: first ally {times[0]:.2f} s, all {len(times)} {times[-1]:.2f} s (origin: "
            f"first delivered {queue['first_delivered_s']:.2f} s, last {queue['last_delivered_s']:.2f} s after "
            f"queueing)")
        return {"post_s": round(published, 3), "first": round(times[0], 3), "last": round(times[-1], 3), **queue}

    def delivery_times(self, ap_id: str) -> dict[str, float]:
        """From the origin's queue: seconds from queueing the Announce to its first and last delivery."""
        from sqlalchemy import select

        from coopol.federation.models import OutboxActivity

        def read() -> dict[str, float]:
            recent = db_scalars(select(OutboxActivity).order_by(OutboxActivity.id.desc()).limit(20))
            rows = [d for a in recent if a.type == "Announce" and ap_id in json.dumps(a.payload)
                    for d in a.deliveries]
            done = [d for d in rows if d.delivered_at is not None]
            if not rows or not done:
                return {"first_delivered_s": float("nan"), "last_delivered_s": float("nan"), "delivered": 0}
            queued = min(d.created_at for d in rows)
            spans = sorted((d.delivered_at - queued).total_seconds() for d in done)
            return {"first_delivered_s": round(spans[0], 3), "last_delivered_s": round(spans[-1], 3),
                    "delivered": len(done)}

        return self._unit(self.origin, read)

    def stop(self) -> None:
        """Workers first: their kept-alive connections closed, the servers' graceful exits are quick."""
        stop_many([proc for proc, path in self.procs if path.name.startswith("worker-")])
        stop_many([proc for proc, _ in self.procs])


def db_scalar(query):
    from coopol.extensions import db

    return db.session.scalar(query)


def db_scalars(query) -> list:
    from coopol.extensions import db

    return list(db.session.scalars(query))
