"""`python -m bench --soak`: mixed reads and writes against a real gunicorn instance for a while, then
proof that nothing acknowledged was lost.

Each connection is one member (registered and given a token through the API) who, until the time or
the request budget runs out, reads lists and pages, proposes ideas, comments, votes and takes votes
back. Every 2xx answer to a write is noted in a ledger; afterwards the database must hold every noted
member, idea and comment, each member's last acknowledged vote, and every idea's tally must equal its
vote rows. Every error must be in our JSON shape (pages: HTML), a 503 must carry `Retry-After`, and
no other 5xx, nor a dropped connection, may occur.

`--soak-restart` also stops and restarts a PostgreSQL server mid-run: a throw-away one of its own
(`initdb` in a temporary folder, run as the `postgres` OS user on a free 127.0.0.1 port), never a
shared one. The run reports how long after the server was back the last 503 came.
"""

from __future__ import annotations

import contextlib
import glob
import http.client
import json
import os
import random
import shutil
import subprocess
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.instance import create_instance, log
from bench.processes import BenchError, free_port, start_gunicorn

PASSWORD = "soak pass phrase, long enough"
UNKNOWN = "?"  # a vote whose last change was not acknowledged: either outcome is right
# Cheap password hashing and no visitors' cache or rate limits: the soak measures the writes, not argon2.
SOAK_CONFIG: dict[str, Any] = {"ratelimit_enabled": False, "public_cache_seconds": 0, "argon2_time_cost": 1,
                               "argon2_memory_cost": 1024, "argon2_parallelism": 1}
OPERATIONS = (("list", 22), ("idea", 14), ("comments", 8), ("page", 6), ("propose", 10), ("comment", 14),
              ("vote", 18), ("unvote", 8))


@dataclass
class Ledger:
    """What the server acknowledged, and everything it answered."""

    members: dict[str, str] = field(default_factory=dict)  # handle -> token
    ideas: dict[int, str] = field(default_factory=dict)  # id -> title
    comments: dict[int, int] = field(default_factory=dict)  # id -> idea id
    votes: dict[tuple[str, int], str | None] = field(default_factory=dict)
    statuses: Counter = field(default_factory=Counter)
    acknowledged_writes: int = 0
    requests: int = 0
    problems: list[str] = field(default_factory=list)
    last_unavailable: float | None = None  # monotonic time of the latest 503
    unavailable: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def problem(self, text: str) -> None:
        with self.lock:
            if len(self.problems) < 50:
                self.problems.append(text)

    def idea_ids(self) -> list[int]:
        with self.lock:
            return list(self.ideas)


class Connection:
    """One keep-alive connection; reconnects after a dropped one (which is noted as a problem)."""

    def __init__(self, base_url: str, ledger: Ledger) -> None:
        parts = urlsplit(base_url)
        self.host, self.port, self.ledger = parts.hostname, parts.port, ledger
        self.conn: http.client.HTTPConnection | None = None

    def send(self, method: str, path: str, *, token: str | None = None, body: Any = None,
             html: bool = False) -> tuple[int, Any]:
        headers = {"Accept": "text/html" if html else "application/json"}
        data = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as error:
            self.close()
            self.ledger.problem(f"{method} {path}: connection error {error!r}")
            with self.ledger.lock:
                self.ledger.requests += 1
                self.ledger.statuses["connection error"] += 1
            return 0, None
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return self._check(method, path, response, raw, html)

    def _check(self, method: str, path: str, response, raw: bytes, html: bool) -> tuple[int, Any]:
        status = response.status
        with self.ledger.lock:
            self.ledger.requests += 1
            self.ledger.statuses[status] += 1
            if status == 503:
                self.ledger.unavailable += 1
                self.ledger.last_unavailable = time.monotonic()
        content_type = response.getheader("Content-Type", "")
        payload: Any = None
        if content_type.startswith("application/json"):
            try:
                payload = json.loads(raw)
            except ValueError:
                self.ledger.problem(f"{method} {path}: {status} with a body that is not JSON")
        if status >= 400:
            if html:
                if not content_type.startswith("text/html"):
                    self.ledger.problem(f"{method} {path}: page error {status} as {content_type}")
            elif not (isinstance(payload, dict) and set(payload) == {"code", "status", "message", "errors"}
                      and payload["code"] == status):
                self.ledger.problem(f"{method} {path}: {status} not in the error shape: {raw[:200]!r}")
            if status == 503 and not response.getheader("Retry-After"):
                self.ledger.problem(f"{method} {path}: 503 without Retry-After")
            elif status >= 500 and status != 503:
                self.ledger.problem(f"{method} {path}: {status}: {raw[:300]!r}")
        return status, payload

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None


def _pause_after(status: int) -> None:
    if status in (0, 503):
        time.sleep(0.2)  # a real client would honour Retry-After; the soak only eases off


class Member:
    def __init__(self, label: str, base_url: str, ledger: Ledger, rng: random.Random) -> None:
        self.handle = label
        self.http = Connection(base_url, ledger)
        self.ledger, self.rng = ledger, rng
        self.token: str | None = None
        self.my_votes: set[int] = set()
        self.count = 0

    def join(self, deadline: float) -> bool:
        """Register and get a token, retrying while the instance cannot serve."""
        registered = False
        while time.monotonic() < deadline:
            if not registered:
                status, _ = self.http.send("POST", "/api/v1/members", body={
                    "handle": self.handle, "email": f"{self.handle}@soak.example", "password": PASSWORD})
                if 200 <= status < 300 or status in (409, 422):  # taken: an unanswered earlier try went through
                    registered = True
                    if status < 300:
                        self._acknowledge(lambda: None)
                _pause_after(status)
                continue
            status, payload = self.http.send("POST", "/api/v1/tokens", body={
                "login": self.handle, "password": PASSWORD, "name": "soak"})
            if status == 201:
                self.token = payload["token"]
                with self.ledger.lock:
                    self.ledger.members[self.handle] = self.token
                    self.ledger.acknowledged_writes += 1
                return True
            _pause_after(status)
        return False

    def _acknowledge(self, note) -> None:
        with self.ledger.lock:
            note()
            self.ledger.acknowledged_writes += 1

    def step(self) -> None:
        operation = self.rng.choices([o for o, _ in OPERATIONS], [w for _, w in OPERATIONS])[0]
        ideas = self.ledger.idea_ids()
        if not ideas and operation not in ("list", "page"):
            operation = "propose"
        idea = self.rng.choice(ideas) if ideas else None
        status = getattr(self, f"_{operation}")(idea)
        _pause_after(status)

    def _list(self, _idea) -> int:
        sort = self.rng.choice(["new", "top", "hot", "comments"])
        return self.http.send("GET", f"/api/v1/ideas?limit=20&sort={sort}")[0]

    def _idea(self, idea: int) -> int:
        return self.http.send("GET", f"/api/v1/ideas/{idea}", token=self.token)[0]

    def _comments(self, idea: int) -> int:
        return self.http.send("GET", f"/api/v1/ideas/{idea}/comments")[0]

    def _page(self, idea: int | None) -> int:
        return self.http.send("GET", f"/ideas/{idea}" if idea and self.rng.random() < 0.6 else "/ideas", html=True)[0]

    def _propose(self, _idea) -> int:
        self.count += 1
        title = f"Soak idea {self.handle} #{self.count}"
        status, payload = self.http.send("POST", "/api/v1/ideas", token=self.token,
                                         body={"title": title, "body": "Proposed during the soak."})
        if status == 201:
            self._acknowledge(lambda: self.ledger.ideas.__setitem__(payload["id"], title))
        return status

    def _comment(self, idea: int) -> int:
        status, payload = self.http.send("POST", f"/api/v1/ideas/{idea}/comments", token=self.token,
                                         body={"body": f"A comment by {self.handle}."})
        if status == 201:
            self._acknowledge(lambda: self.ledger.comments.__setitem__(payload["id"], idea))
        return status

    def _vote(self, idea: int) -> int:
        value = self.rng.choice(["support", "oppose"])
        status, _ = self.http.send("PUT", f"/api/v1/ideas/{idea}/vote", token=self.token, body={"value": value})
        self._record_vote(idea, status, value)
        return status

    def _unvote(self, idea: int) -> int:
        if self.my_votes:
            idea = self.rng.choice(sorted(self.my_votes))
        status, _ = self.http.send("DELETE", f"/api/v1/ideas/{idea}/vote", token=self.token)
        self._record_vote(idea, status, None)
        return status

    def _record_vote(self, idea: int, status: int, value: str | None) -> None:
        # Only this member changes its votes, one request at a time: the last answer decides.
        key = (self.handle, idea)
        if status == 200:
            self._acknowledge(lambda: self.ledger.votes.__setitem__(key, value))
            (self.my_votes.add if value else self.my_votes.discard)(idea)
        elif status in (0,) or status >= 500:
            with self.ledger.lock:
                self.ledger.votes[key] = UNKNOWN
            self.my_votes.add(idea)


def run_load(base_url: str, *, duration: float, connections: int, max_requests: int = 200_000,
             seed: int = 11, during: Any = None) -> Ledger:
    """`connections` members, each on its own connection, for `duration` seconds (and at most
    `max_requests` in all). `during(ledger)` runs on its own thread meanwhile (a restart, say)."""
    ledger = Ledger()
    run_id = uuid.uuid4().hex[:6]
    join_deadline = time.monotonic() + max(30.0, duration)
    started = time.monotonic()
    stop = threading.Event()

    def client(index: int) -> None:
        member = Member(f"soak{run_id}n{index}", base_url, ledger, random.Random(seed * 1000 + index))
        try:
            if not member.join(join_deadline):
                ledger.problem(f"{member.handle} could not register and log in")
                return
            end = started + duration
            while not stop.is_set() and time.monotonic() < end and ledger.requests < max_requests:
                member.step()
        finally:
            member.http.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    side = None
    if during is not None:
        side = threading.Thread(target=during, args=(ledger,), daemon=True)
        side.start()
    hard_stop = started + duration + 120
    for thread in threads:
        thread.join(max(0.1, hard_stop - time.monotonic()))
    stop.set()
    if side is not None:
        side.join(max(0.1, hard_stop - time.monotonic()))
    if any(t.is_alive() for t in threads):
        ledger.problem("some clients did not stop in time")
    ledger.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
    return ledger


def verify(app, ledger: Ledger) -> list[str]:
    """Everything acknowledged is in the database; every idea's tally equals its vote rows."""
    from sqlalchemy import func, select

    from coopol.accounts.models import Member as MemberRow
    from coopol.extensions import db
    from coopol.ideas.models import Comment, Idea, IdeaVote

    missing: list[str] = []
    with app.app_context():
        try:
            handles = set(db.session.scalars(select(MemberRow.handle).where(
                MemberRow.handle.in_(list(ledger.members)))))
            missing += [f"member {h}" for h in ledger.members if h not in handles]
            by_handle = dict(db.session.execute(select(MemberRow.handle, MemberRow.id).where(
                MemberRow.handle.in_(list(ledger.members)))).all())
            titles = dict(db.session.execute(select(Idea.id, Idea.title)).all())
            missing += [f"idea {i} ({t!r})" for i, t in ledger.ideas.items() if titles.get(i) != t]
            comments = dict(db.session.execute(select(Comment.id, Comment.idea_id)).all())
            missing += [f"comment {c} on idea {i}" for c, i in ledger.comments.items() if comments.get(c) != i]
            rows = {(m, i): v for m, i, v in db.session.execute(
                select(IdeaVote.member_id, IdeaVote.idea_id, IdeaVote.value)).all()}
            for (handle, idea), value in ledger.votes.items():
                if value == UNKNOWN or handle not in by_handle:
                    continue
                found = rows.get((by_handle[handle], idea))
                if found != value:
                    missing.append(f"vote of {handle} on idea {idea}: {found!r}, acknowledged {value!r}")
            counted = Counter()
            for (_member, idea), value in rows.items():
                counted[(idea, value)] += 1
            for idea_id, support, oppose in db.session.execute(
                    select(Idea.id, Idea.support_count, Idea.oppose_count)).all():
                if (support, oppose) != (counted[(idea_id, "support")], counted[(idea_id, "oppose")]):
                    missing.append(f"idea {idea_id}: tally {support}/{oppose}, vote rows "
                                   f"{counted[(idea_id, 'support')]}/{counted[(idea_id, 'oppose')]}")
            total = db.session.scalar(select(func.count(Idea.id)))
            if total < len(ledger.ideas):
                missing.append(f"{total} ideas stored, {len(ledger.ideas)} acknowledged")
        finally:
            db.session.remove()
    return missing


def summary(ledger: Ledger) -> dict[str, Any]:
    elapsed = getattr(ledger, "elapsed", 0.0) or 1.0
    return {"requests": ledger.requests, "requests_per_s": round(ledger.requests / elapsed, 1),
            "acknowledged_writes": ledger.acknowledged_writes, "members": len(ledger.members),
            "ideas": len(ledger.ideas), "comments": len(ledger.comments),
            "votes_settled": sum(1 for v in ledger.votes.values() if v != UNKNOWN),
            "votes_unknown": sum(1 for v in ledger.votes.values() if v == UNKNOWN),
            "unavailable_503": ledger.unavailable,
            "statuses": {str(k): v for k, v in sorted(ledger.statuses.items(), key=str)},
            "problems": ledger.problems[:20], "elapsed_s": round(elapsed, 1)}


# ------------------------------------------------------------------------------ throw-away PostgreSQL

def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
                   if p.split("/")[4].isdigit() else 0)
    return Path(found[-1]).parent if found else None


class ThrowawayPostgres:
    """A PostgreSQL server of our own in a temporary folder, on a free port of 127.0.0.1 (trust auth,
    no fsync: it dies with the run). As root it runs as the `postgres` OS user (postgres refuses root)."""

    def __init__(self) -> None:
        self.bin = postgres_bin()
        if self.bin is None:
            raise BenchError("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin")
        self.folder = Path(tempfile.mkdtemp(prefix="coopol-soak-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "postgres.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.folder, "postgres", "postgres")
        os.chmod(self.folder, 0o700)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self.running = False

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str, timeout: float = 120) -> None:
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.folder)
        if result.returncode != 0:
            raise BenchError(f"{tool} failed ({result.returncode}): {result.stdout}\n{result.stderr}\n"
                             f"{self.log.read_text() if self.log.exists() else ''}"[-3000:])

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c fsync=off "
                   "-c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        if self.running:
            self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")
            self.running = False

    def dispose(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class Restart:
    """Stop the server `at` seconds into the load, keep it down `down` seconds, start it again."""

    server: ThrowawayPostgres
    at: float
    down: float = 2.0
    stopped_at: float | None = None
    ready_at: float | None = None
    error: str | None = None

    def __call__(self, ledger: Ledger) -> None:
        time.sleep(self.at)
        try:
            self.stopped_at = time.monotonic()
            self.server.stop("fast")
            time.sleep(self.down)
            self.server.start()
            self.ready_at = time.monotonic()
        except Exception as error:  # noqa: BLE001 - reported with the results
            self.error = repr(error)

    def recovery_seconds(self, ledger: Ledger) -> float | None:
        """From the server being back to the last 503 any client saw (0 if none came after)."""
        if self.ready_at is None:
            return None
        if ledger.last_unavailable is None:
            return 0.0
        return round(max(0.0, ledger.last_unavailable - self.ready_at), 2)


# ------------------------------------------------------------------------------------------- runs

def soak(workdir: Path, database: str | None, *, duration: float, connections: int, restart: bool = False,
         max_requests: int = 200_000, workers: int = 4, threads: int = 4) -> dict[str, Any]:
    """One soak: an instance on `database` (sqlite, a PostgreSQL server URL, or with `restart` a
    throw-away PostgreSQL server of its own), gunicorn, the load, the checks."""
    pg = ThrowawayPostgres() if restart else None
    instance = server = None
    try:
        if pg is not None:
            pg.start()
            database = pg.admin_url
        kind = "postgresql" if (database or "").startswith("postgresql") else "sqlite"
        label = f"soak-{kind}{'-restart' if restart else ''}"
        instance = create_instance(workdir, label, free_port(), database, config=SOAK_CONFIG)
        server = start_gunicorn(label, "coopol:create_app()", env=instance.env(), log_dir=workdir,
                                port=instance.port, workers=workers, threads=threads)
        log(f"{label}: {connections} connections for {duration:.0f} s against {server.url}")
        during = Restart(pg, at=duration * 0.35) if pg is not None else None
        ledger = run_load(server.url, duration=duration, connections=connections, max_requests=max_requests,
                          during=during)
        result = {"label": label, "database": kind, "connections": connections, "duration_s": duration,
                  **summary(ledger)}
        if during is not None:
            result["restart"] = {"error": during.error, "recovery_s": during.recovery_seconds(ledger),
                                 "down_s": round(during.ready_at - during.stopped_at, 2)
                                 if during.ready_at and during.stopped_at else None}
        result["lost"] = verify(instance.app, ledger)
        result["ok"] = not result["lost"] and not ledger.problems and (during is None or (
            during.error is None and result["restart"]["recovery_s"] is not None
            and result["restart"]["recovery_s"] <= 10))
        return result
    finally:
        if server is not None:
            server.stop()
        if instance is not None:
            instance.dispose()
        if pg is not None:
            pg.dispose()


def run(args, workdir: Path) -> list[dict[str, Any]]:
    """`python -m bench --soak`: the soak on the chosen database (and, with `--soak-restart`, on a
    throw-away PostgreSQL server that is restarted mid-run)."""
    results = []
    plans = [dict(database=args.database, restart=False)]
    if args.soak_restart:
        plans.append(dict(database=None, restart=True))
    for plan in plans:
        result = soak(workdir, plan["database"], duration=args.soak_duration, connections=args.soak_connections,
                      restart=plan["restart"])
        log(format_result(result))
        results.append(result)
    return results


def format_result(result: dict[str, Any]) -> str:
    ok = result.get("ok", not result["lost"] and not result["problems"])
    lines = [f"{result['label']}: {'OK' if ok else 'FAILED'} — {result['requests']} requests "
             f"({result['requests_per_s']}/s) in {result['elapsed_s']} s at {result['connections']} connections; "
             f"{result['acknowledged_writes']} writes acknowledged ({result['members']} members, {result['ideas']} "
             f"ideas, {result['comments']} comments, {result['votes_settled']} votes settled, "
             f"{result['votes_unknown']} unknown); 503s: {result['unavailable_503']}; statuses {result['statuses']}"]
    if "restart" in result:
        restart = result["restart"]
        lines.append(f"  restart: down {restart['down_s']} s, last 503 {restart['recovery_s']} s after the server "
                     f"was back{'; ' + restart['error'] if restart['error'] else ''}")
    for item in result["lost"][:10]:
        lines.append(f"  LOST: {item}")
    for item in result["problems"][:10]:
        lines.append(f"  PROBLEM: {item}")
    return "\n".join(lines)
