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
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.instance import create_instance, log
from bench.processes import BenchError, free_port, spawn, stop, tail

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

        self.ports = [free_port() for _ in range(count)]
        log_path = workdir / "receivers.log"
        self.proc = spawn([sys.executable, "-m", "bench.receiver", *map(str, self.ports)], env=child_env(),
                          log_path=log_path)
        self.log_path = log_path
        deadline = time.monotonic() + 30
        while "READY" not in tail(log_path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise BenchError(f"receivers did not start:\n{tail(log_path)}")
            time.sleep(0.1)
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

    from bench.bulk import bulk_insert
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.federation.actors import group_id, signer_for
    from coopol.federation.models import Delivery
    from coopol.federation.outbox import ally_inboxes, build_activity, enqueue_activity
    from coopol.federation.protocol import PUBLIC

    receivers = Receivers(workdir, RECEIVERS)
    try:
        instance = create_instance(workdir, "sender", free_port(), database_url)
        instances.append(instance)
        app = instance.app
        n_activities = ACTIVITIES[size]
        with app.app_context():
            with db.engine.begin() as conn:
                bulk_insert(conn, db.metadata.tables["federation_allies"], (
                    {"host": host, "base_url": f"http://{host}", "group_id": f"http://{host}/g/ideas",
                     "group_inbox": f"http://{host}/g/ideas/inbox", "shared_inbox": f"http://{host}/inbox",
                     "name": f"Receiver {i}", "outgoing": "accepted", "incoming": "accepted",
                     "consecutive_failures": 0, "last_error": ""} for i, host in enumerate(receivers.hosts())),
                    label="receiving allies")
            with unit_of_work():
                targets = ally_inboxes()
                if len(targets) != RECEIVERS:
                    raise BenchError(f"expected {RECEIVERS} ally inboxes, found {len(targets)}")
                for i in range(n_activities):
                    page = _page(instance.url, i)
                    enqueue_activity(build_activity("Create", group_id(), page, to=[PUBLIC],
                                                    cc=[f"{group_id()}/followers"]), targets)
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

        receivers.reset()
        bare_rate = _bare_loop(received, key_id, private_pem)
        after = receivers.stats()
        if after["count"] != len(received):
            raise BenchError(f"the bare loop delivered {after['count']} of {len(received)}")
        bare_rate = _rate(after) or bare_rate
        ratio = round(worker_rate / bare_rate, 3) if bare_rate else None
        return {
            "status": "ok", "goal": DELIVERY_GOAL, "ratio": ratio, "deliveries": expected,
            "recorded_delivered": delivered, "unsigned": unsigned,
            "worker_per_s": worker_rate, "bare_loop_per_s": bare_rate, "worker": "coopol worker (defaults)",
            "summary": (f"worker {worker_rate:,.1f}/s vs bare sign+POST loop {bare_rate:,.1f}/s: ratio "
                        f"{ratio if ratio is not None else '-'} (goal >= {DELIVERY_GOAL}), {expected} deliveries"),
        }
    finally:
        receivers.stop()


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


def _bare_loop(received: list[dict[str, Any]], key_id: str, private_pem: str) -> float:
    """The least a sender can do: sign each body (key loaded once) and POST it with `requests`."""
    import requests

    from bench.inbox import _cache_loaded_keys
    from coopol.federation import signatures

    _cache_loaded_keys(signatures)
    started = time.monotonic()
    for item in received:
        body = item["body"].encode()
        headers = signatures.sign_request("POST", item["url"], {"Content-Type": "application/activity+json"},
                                          body, key_id, private_pem)
        response = requests.post(item["url"], data=body, headers=headers, timeout=10)
        if response.status_code >= 300:
            raise BenchError(f"bare loop: {item['url']} answered {response.status_code}")
    elapsed = time.monotonic() - started
    return round(len(received) / elapsed, 1) if elapsed else 0.0


# --------------------------------------------------------------------------------- propagation

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
    return {"status": "skipped", "reason": "idea federation exists but this scenario is not written yet"}
