"""Three real instances (`coopol run` + `coopol worker` processes on 127.0.0.1) converge: an idea, a
comment and a vote reach everyone with the same tallies and per-instance breakdown; a peer that was
down receives everything exactly once; a worker killed with SIGKILL loses and duplicates nothing; a
replayed or forged announce changes nothing. Every wait is a poll loop with a deadline."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from coopol.federation.signatures import generate_rsa_keypair, sign_request

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

PASSWORD = "correct horse battery 12"
SETTLE_SECONDS = 150.0  # a failed delivery is retried after at most ~40 s; a killed worker's leases: 15 s


class Client:
    def __init__(self, instance, handle: str, role: str = "member") -> None:
        instance.coopol("users", "create", handle, "--email", f"{handle}@{instance.name}.example", "--password",
                        PASSWORD, "--role", role)
        token = instance.coopol("tokens", "create", handle).stdout.strip().splitlines()[-1]
        self.instance, self.headers = instance, {"Authorization": f"Bearer {token}"}

    @classmethod
    def many(cls, *who: tuple[Any, str]) -> list[Client]:
        """Several members at once (`coopol` commands side by side: each one starts in 1-2 s)."""
        with ThreadPoolExecutor(len(who)) as pool:
            return list(pool.map(lambda pair: cls(*pair), who))

    def call(self, method: str, path: str, expect: int | None = None, **kwargs: Any) -> Any:
        response = requests.request(method, f"{self.instance.url}/api/v1{path}", headers=self.headers, timeout=30,
                                    **kwargs)
        if expect is not None:
            assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json()


def get(instance, path: str) -> Any:
    response = requests.get(f"{instance.url}/api/v1{path}", timeout=30)
    return response.json() if response.status_code == 200 else None


def wait_until(what: str, check: Callable[[], Any], timeout: float = SETTLE_SECONDS, instances=()) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except requests.RequestException as error:
            last = error
        else:
            if last:
                return last
        time.sleep(0.5)
    logs = "\n".join(f"--- {i.name} {p.log.name}\n{p.log.read_text()[-1500:]}" for i in instances
                     for p in i.processes)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})\n{logs}")


def ally(*pairs) -> None:
    """Each pair allied: every request first, then every acceptance, then the waits (side by side, as
    three parties' admins would, rather than one alliance after the other)."""
    for first, second in pairs:
        first.coopol("allies", "request", second.url)
    for first, second in pairs:
        second.wait_for_status(first.host, "pending")
        second.coopol("allies", "accept", first.host)
    for first, second in pairs:
        first.wait_for_status(second.host, "allied")
        second.wait_for_status(first.host, "allied")


def three(real_instances):
    a, b, c = real_instances("a", "b", "c")
    ally((a, b), (a, c), (b, c))
    return a, b, c


def copy_on(instance, ap_id: str) -> dict | None:
    origin = ap_id.split("/ideas/")[0].split("://", 1)[1]
    items = get(instance, f"/ideas?origin={origin}&limit=100")
    if items is None:
        return None
    for item in items["items"]:
        if item["ap_id"] == ap_id:
            return get(instance, f"/ideas/{item['id']}")
    return None


def converged(instances, ap_id: str, tally: dict, comments: list[str]) -> Callable[[], bool]:
    def check() -> bool:
        for instance in instances:
            idea = copy_on(instance, ap_id)
            if idea is None or idea["tally"]["by_instance"] != tally["by_instance"] or \
                    (idea["tally"]["support"], idea["tally"]["oppose"]) != (tally["support"], tally["oppose"]):
                return False
            bodies = [c["body"] for c in get(instance, f"/ideas/{idea['id']}/comments")["items"]]
            if bodies != comments:
                return False
        return True

    return check


def test_an_idea_a_comment_and_votes_reach_everyone_with_the_same_tallies(real_instances):
    a, b, c = three(real_instances)
    alice, bob, carol = Client.many((a, "alice"), (b, "bob"), (c, "carol"))
    idea = alice.call("POST", "/ideas", 201, json={"title": "Free night buses", "body": "For everyone.",
                                                   "publish": True})
    on_b = wait_until("the idea on B", lambda: copy_on(b, idea["ap_id"]), instances=(a, b))
    on_c = wait_until("the idea on C", lambda: copy_on(c, idea["ap_id"]), instances=(a, c))
    comment = bob.call("POST", f"/ideas/{on_b['id']}/comments", 201, json={"body": "Yes please", "stance": "for"})
    bob.call("PUT", f"/ideas/{on_b['id']}/vote", 200, json={"value": "support"})
    carol.call("PUT", f"/ideas/{on_c['id']}/vote", 200, json={"value": "oppose"})
    alice.call("PUT", f"/ideas/{idea['id']}/vote", 200, json={"value": "support"})
    expected = {"support": 2, "oppose": 1, "by_instance": {a.host: {"support": 1, "oppose": 0},
                                                           b.host: {"support": 1, "oppose": 0},
                                                           c.host: {"support": 0, "oppose": 1}}}
    wait_until("the same tallies and comments everywhere", converged((a, b, c), idea["ap_id"], expected,
                                                                      ["Yes please"]), instances=(a, b, c))
    # the thread survives: carol answers bob from C
    bob_on_c = get(c, f"/ideas/{on_c['id']}/comments")["items"][0]
    carol.call("POST", f"/ideas/{on_c['id']}/comments", 201,
               json={"body": "Too costly", "stance": "against", "parent_id": bob_on_c["id"]})
    wait_until("the reply everywhere", converged((a, b, c), idea["ap_id"], expected, ["Yes please", "Too costly"]),
               instances=(a, b, c))
    for instance in (a, b, c):
        idea_here = copy_on(instance, idea["ap_id"])
        first, second = get(instance, f"/ideas/{idea_here['id']}/comments")["items"]
        assert second["parent_id"] == first["id"] and second["stance"] == "against"
    assert comment["id"]
    backfill = c.coopol("allies", "backfill", a.host).stdout  # the CLI pull, run again: nothing doubles
    assert "1/1 ideas read" in backfill and "1 idea(s) stored" in backfill
    wait_until("still the same everywhere", converged((a, b, c), idea["ap_id"], expected,
                                                      ["Yes please", "Too costly"]), instances=(a, b, c))
    assert len(get(c, f"/ideas?origin={a.host}")["items"]) == 1


def _failures(instance, host: str) -> int:
    rows = json.loads(instance.coopol("allies", "list", "--json").stdout)
    row = next(r for r in rows if r["host"] == host)
    return int(row["consecutive_failures"]) + int(row["queued"])


def test_a_peer_that_was_down_receives_everything_exactly_once(real_instances):
    a, b, c = three(real_instances)
    alice, bob = Client.many((a, "alice"), (b, "bob"))
    for process in c.processes:
        process.stop()
    c.processes.clear()
    idea = alice.call("POST", "/ideas", 201, json={"title": "Solar schools", "body": "Panels on every school.",
                                                   "publish": True})
    on_b = wait_until("the idea on B", lambda: copy_on(b, idea["ap_id"]), instances=(a, b))
    bob.call("POST", f"/ideas/{on_b['id']}/comments", 201, json={"body": "From B while C sleeps"})
    bob.call("PUT", f"/ideas/{on_b['id']}/vote", 200, json={"value": "support"})
    wait_until("A failing to reach C", lambda: _failures(a, c.host) > 0, instances=(a,))
    c.start()  # same port, same folder and database
    expected = {"support": 1, "oppose": 0, "by_instance": {b.host: {"support": 1, "oppose": 0}}}
    wait_until("C catching up", converged((a, b, c), idea["ap_id"], expected, ["From B while C sleeps"]),
               instances=(a, b, c))
    ideas_on_c = get(c, f"/ideas?origin={a.host}")["items"]
    assert [i["ap_id"] for i in ideas_on_c] == [idea["ap_id"]]
    assert ideas_on_c[0]["comment_count"] == 1


@pytest.mark.timeout(600)
def test_a_worker_killed_mid_delivery_loses_and_duplicates_nothing(real_instances):
    a, b = real_instances("a", "b")
    ally((a, b))
    bob, *authors = Client.many((b, "bob"), *((a, f"author{n}") for n in range(4)))  # 3 ideas an hour each
    for n in range(12):
        author = authors[n // 3]
        idea = author.call("POST", "/ideas", 201, json={"title": f"Idea {n:02d}", "body": "Body", "publish": True})
        author.call("PUT", f"/ideas/{idea['id']}/vote", 200, json={"value": "support"})
        author.call("POST", f"/ideas/{idea['id']}/comments", 201, json={"body": f"Note on {idea['title']}"})
    worker = next(p for p in a.processes if "worker" in p.log.name)
    os.killpg(worker.popen.pid, signal.SIGKILL)  # wherever it was: claiming, posting, recording
    worker.popen.wait(10)
    a.spawn("worker2", "worker")

    def all_there() -> bool:
        copies = get(b, f"/ideas?origin={a.host}&limit=100")["items"]
        return len(copies) == 12 and all(i["tally"]["support"] == 1 and i["comment_count"] == 1 for i in copies)

    wait_until("every idea, vote and comment on B", all_there, timeout=SETTLE_SECONDS + 120, instances=(a, b))
    for copy in get(b, f"/ideas?origin={a.host}&limit=100")["items"]:
        assert copy["tally"]["by_instance"] == {a.host: {"support": 1, "oppose": 0}}
        comments = get(b, f"/ideas/{copy['id']}/comments")["items"]
        assert [x["body"] for x in comments] == [f"Note on {copy['title']}"]
    bob.call("GET", "/me", 200)


def _post_as_group(sender, receiver, activity: dict, key_pem: str | None = None) -> requests.Response:
    body = json.dumps(activity).encode()
    url = f"{receiver.url}/inbox"
    key = key_pem or (sender.path / "keys" / "group.pem").read_text()
    headers = sign_request("POST", url, {"Content-Type": "application/activity+json"}, body,
                           f"{sender.url}/g/ideas#main-key", key)
    return requests.post(url, data=body, headers=headers, timeout=10)


def test_a_replayed_or_forged_announce_changes_nothing(real_instances):
    a, b, c = three(real_instances)
    alice, bob = Client.many((a, "alice"), (b, "bob"))
    idea = alice.call("POST", "/ideas", 201, json={"title": "Car-free Sundays", "body": "Once a month.",
                                                   "publish": True})
    on_b = wait_until("the idea on B", lambda: copy_on(b, idea["ap_id"]), instances=(a, b))
    bob.call("PUT", f"/ideas/{on_b['id']}/vote", 200, json={"value": "support"})
    expected = {"support": 1, "oppose": 0, "by_instance": {b.host: {"support": 1, "oppose": 0}}}
    wait_until("the vote everywhere", converged((a, b, c), idea["ap_id"], expected, []), instances=(a, b, c))

    as_json = {"Accept": "application/activity+json"}
    outbox = requests.get(f"{a.url}/g/ideas/outbox", headers=as_json, timeout=10).json()
    page = requests.get(outbox["first"], headers=as_json, timeout=10).json()  # the outbox is paged
    announce = next(x for x in page["orderedItems"] if x["type"] == "Announce" and x["object"]["type"] == "Like")
    assert _post_as_group(a, c, announce).status_code == 202  # replayed as is
    assert _post_as_group(a, c, {**announce, "id": f"{a.url}/activities/{uuid.uuid4()}"}).status_code == 202
    forged_key, _public = generate_rsa_keypair()
    dislike = {**announce, "id": f"{a.url}/activities/{uuid.uuid4()}",
               "object": {**announce["object"], "type": "Dislike", "id": f"{b.url}/activities/{uuid.uuid4()}"}}
    assert _post_as_group(a, c, dislike, forged_key).status_code == 401  # not A's key
    assert _post_as_group(a, c, {**dislike, "actor": f"{b.url}/g/ideas"}).status_code == 401  # A's key, B's name
    relayed_by_b = {**dislike, "id": f"{b.url}/activities/{uuid.uuid4()}", "actor": f"{b.url}/g/ideas"}
    assert _post_as_group(b, c, relayed_by_b).status_code == 422  # refused: bob signed a Like, not this Dislike
    unsigned = {**relayed_by_b, "id": f"{b.url}/activities/{uuid.uuid4()}",
                "object": {k: v for k, v in relayed_by_b["object"].items() if k != "proof"}}
    assert _post_as_group(b, c, unsigned).status_code == 202  # acknowledged: B is not the idea's origin
    assert converged((a, b, c), idea["ap_id"], expected, [])()  # inboxes apply synchronously
