"""The demo's steps, in order: build and seed every instance in this process, start the servers and
workers, ally the instances pairwise, wait for the backfills (each ally copies the other's ideas, debates
and votes), seed the debate across parties, wait for the deliveries, print who is where, watch.

Alliances go through the same services as `coopol allies request` / `accept`, and what travels goes over
HTTP between the real server processes, delivered by the real workers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from itertools import combinations

import click

from coopol.demo.instances import Instance
from coopol.demo.processes import Child, first_dead, spawn, stop_children
from coopol.demo.progress import Progress
from coopol.demo.seed import (
    DEMO_PASSWORD,
    SEEDERS,
    SeedReport,
    demo_password_hash,
    iter_problems,
    seed_debate,
    seed_members,
)
from coopol.demo.seeds import DemoError

READY_LINE = "Coopol demo ready"
START_TIMEOUT = 120.0
ALLY_TIMEOUT = 30.0
BACKFILL_TIMEOUT = 60.0
SETTLE_TIMEOUT = 60.0
POLL = 0.2


def _summary(report: SeedReport) -> str:
    c = report.get
    parts = []
    if "members" in report.counts:
        parts.append(f"{c('members')} members ({c('new')} new)")
    if "ideas" in report.counts or "comments_new" in report.counts:
        parts.append(f"{c('ideas')} ideas ({c('ideas_new')} new), {c('comments_new')} new comments, "
                     f"{c('votes')} votes")
    if any(k in report.counts for k in ("reports", "actions", "appeals")):
        parts.append(f"{c('reports')} new reports, {c('actions')} new decisions, {c('appeals')} new appeals")
    if "groups_new" in report.counts or "memberships_new" in report.counts:
        parts.append(f"{c('groups_new')} new groups, {c('memberships_new')} new memberships")
    if "gatherings_new" in report.counts or "rsvps_new" in report.counts:
        parts.append(f"{c('gatherings_new')} new gatherings, {c('rsvps_new')} new RSVPs")
    if report.problems:
        parts.append(f"{len(report.problems)} problems")
    return "; ".join(parts) or "nothing new"


class Demo:
    def __init__(self, instances: list[Instance], echo: Callable[[str], None]) -> None:
        self.instances = instances
        self._echo = echo
        self.children: list[Child] = []
        self.travel = False
        self.cancelled = threading.Event()
        pairs = len(instances) * (len(instances) - 1) // 2
        per_instance = 2 + len(SEEDERS) + 2 + 1  # create, members, seeders, start, serving, debate
        self.progress = Progress(len(instances) * per_instance + pairs + 4)  # backfill, workers, settle, ready

    def echo(self, line: str) -> None:
        self.progress.clear()
        self._echo(line)

    def step(self, text: str) -> None:
        self.progress.step(text)

    # --- 1. In this process: folders, databases, members, content ---------------------------------------

    def prepare(self) -> None:
        self.echo(click.style("Preparing and seeding the instances (in this process)...", bold=True))
        password_hash = None
        for instance in self.instances:
            self.step(f"{instance.label}: folder, config, keys, database")
            instance.create()
            if password_hash is None:
                password_hash = demo_password_hash(instance)
            self.step(f"{instance.label}: members")
            reports = [seed_members(instance, password_hash)]
            for what, seeder in SEEDERS:
                self.step(f"{instance.label}: {what}")
                reports.append(seeder(instance))
            merged = SeedReport()
            for report in reports:
                for key, value in report.counts.items():
                    merged.add(key, value)
                merged.problems += report.problems
            self.echo(f"  {'!' if merged.problems else '✓'} {instance.label}: {instance.path}; {_summary(merged)}")
            for problem in iter_problems(merged):
                self.echo(f"      {problem}")
            self.start_server(instance)  # it boots while the next instance is prepared

    # --- 2. Processes -----------------------------------------------------------------------------------

    def start_server(self, instance: Instance) -> None:
        self.step(f"{instance.label}: starting its server")
        instance.close()  # the children open their own connections
        server = spawn(instance.seed.slug, "server", instance.path, instance.env(), "run", "--host", "127.0.0.1",
                       "--port", str(instance.port))
        self.children.append(server)
        self.echo(f"  … {instance.label}: server pid {server.pid} starting on {instance.url}")

    def start(self) -> None:
        """Wait until every server answers."""
        self.echo(click.style("Waiting for the servers on 127.0.0.1...", bold=True))
        for instance in self.instances:
            self._wait_until_serving(instance)
            self.step(f"{instance.label}: serving")
            self.echo(f"  ✓ {instance.label} answers on {instance.url}")

    def start_workers(self) -> None:
        """The delivery workers start once the alliances and backfills are done: a backfill that runs while
        its ally backfills too can leave both waiting on each other's SQLite write lock."""
        self.step("starting the delivery workers")
        for instance in self.instances:
            worker = spawn(instance.seed.slug, "worker", instance.path, instance.env(), "worker")
            self.children.append(worker)
            self.echo(f"  … {instance.label}: worker pid {worker.pid} starting")

    def _mine(self, instance: Instance) -> list[Child]:
        return [c for c in self.children if c.label.startswith(instance.seed.slug + " ")]

    def _check_children(self, children: list[Child]) -> None:
        dead = first_dead(children)
        if dead is not None:
            raise DemoError(f"{dead.label} exited with status {dead.process.returncode}; its log "
                            f"({dead.log_path}) ends with:\n{dead.log_tail()}")

    def _wait_until_serving(self, instance: Instance) -> None:
        import requests

        deadline = time.monotonic() + START_TIMEOUT
        mine = self._mine(instance)
        session = requests.Session()
        session.trust_env = False  # loopback only: never through a proxy named in the environment
        while True:
            self._check_children(mine)
            try:
                if session.get(instance.url + "/", timeout=2, allow_redirects=False).status_code < 500:
                    return
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise DemoError(f"{instance.label} did not answer on {instance.url} within "
                                f"{START_TIMEOUT:.0f} s; see {mine[0].log_path}")
            time.sleep(POLL)

    # --- 3. Alliances -----------------------------------------------------------------------------------

    def ally(self) -> None:
        self.echo(click.style("Allying the instances pairwise...", bold=True))
        pairs = list(combinations(self.instances, 2))
        if not pairs:
            self.echo("  – skipped: only one instance.")
            return
        waiting = []
        for first, second in pairs:
            self.step(f"alliance {first.seed.slug} ↔ {second.seed.slug}")
            name = f"{first.seed.slug} ↔ {second.seed.slug}"
            if self._allied(first, second):
                self.echo(f"  ✓ {name}: already allied")
                continue
            waiting.append((first, second))
            problem = self._ally_pair(first, second)
            self.echo(f"  ! {name}: {problem}" if problem else f"  … {name}: asked and accepted")
        deadline = time.monotonic() + ALLY_TIMEOUT
        while waiting and time.monotonic() < deadline:
            # The last Accept is queued by the inbox that received the Follow back: deliver it from here.
            if not sum(deliver_due(i) for i in self.instances):
                time.sleep(POLL)
            waiting = [(a, b) for a, b in waiting if not self._allied(a, b)]
        if waiting:
            names = ", ".join(f"{a.seed.slug} ↔ {b.seed.slug}" for a, b in waiting)
            self.echo(f"  ! not confirmed yet: {names} (see `coopol --instance DIR allies list` and the worker logs)")
        else:
            self.echo(f"  ✓ {len(pairs)} alliance{'s' if len(pairs) > 1 else ''} confirmed on both sides")

    def _allied(self, first: Instance, second: Instance) -> bool:
        return ally_statuses(first).get(second.host) == "allied" == ally_statuses(second).get(first.host)

    def _ally_pair(self, first: Instance, second: Instance) -> str | None:
        """Start the handshake (`request` on one side, `accept` on the other); None when it went through."""
        from coopol.core.errors import DomainError
        from coopol.federation.alliances import accept_alliance, request_alliance

        if ally_statuses(first).get(second.host) == "pending":  # an earlier request of `second` is waiting
            first, second = second, first
        elif (ally_statuses(second).get(first.host) != "pending"
              and ally_statuses(first).get(second.host) != "requested"):
            try:
                run_and_deliver(first, request_alliance, second.url)
            except DomainError as error:
                return f"request refused: {error.message}"
        deadline = time.monotonic() + ALLY_TIMEOUT
        while True:  # the Follow may still be on its way to `second`, or waiting in its inbox
            apply_received(second)
            try:
                run_and_deliver(second, accept_alliance, first.host)
                return None
            except DomainError as error:
                if time.monotonic() > deadline:
                    return f"accept failed: {error.message}"
            time.sleep(POLL)

    # --- 4. What travels ---------------------------------------------------------------------------------

    def backfill(self) -> None:
        """Each new ally copies the other's ideas, with their debates and votes: the backfill jobs queued with
        the alliances, run here one after the other (as `coopol allies backfill HOST` does)."""
        self.step("allies copy each other's ideas (backfill)")
        if len(self.instances) < 2:
            return
        failed = []
        for instance in self.instances:
            for host, (state, _) in backfill_states(instance).items():
                if state != "done":
                    problem = run_backfill(instance, host)
                    if problem:
                        failed.append(f"{instance.label} from {host}: {problem}")
        if failed:
            self.echo(f"  ! backfill failed: {'; '.join(failed)} (the workers try again; see `coopol --instance "
                      "DIR allies list`)")
        else:
            self.echo("  ✓ every ally holds the others' ideas, debates and votes")
        from coopol.demo.seed import copies_of

        self.travel = bool(copies_of(self.instances[0], self.instances[1].host))

    def debate(self) -> None:
        self.echo(click.style("The debate across parties...", bold=True))
        parties = {i.seed.slug: i for i in self.instances}
        for instance in self.instances:
            self.step(f"{instance.label}: votes and comments on allies' ideas")
            entries = [e for e in instance.seed.remote if e.party in parties]
            if not entries:
                continue
            report = seed_debate(instance, entries, parties)
            self.echo(f"  {'!' if report.problems else '✓'} {instance.label}, on allies' ideas: "
                      f"{report.get('comments_new')} new comments, {report.get('votes')} votes")
            for problem in iter_problems(report):
                self.echo(f"      {problem}")
        self.settle()

    def settle(self) -> None:
        """Wait (a bounded time) until no delivery is queued anywhere, so every instance shows the same."""
        self.step("deliveries settle")
        if len(self.instances) < 2:
            return
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            # Delivered from here too: the workers may still be starting (what they claim, they deliver).
            if sum(deliver_due(i) for i in self.instances) and time.monotonic() < deadline:
                continue
            queued = sum(queued_deliveries(i) for i in self.instances)
            if queued == 0:
                self.echo("  ✓ deliveries settled: no activity waits in any outbox")
                return
            if time.monotonic() > deadline:
                self.echo(f"  … {queued} deliveries still queued; the workers go on in the background")
                return
            time.sleep(POLL)

    # --- 5. Running -----------------------------------------------------------------------------------------

    def announce(self) -> None:
        self.step("ready")
        echo = self.echo
        echo("")
        for instance in self.instances:
            title = click.style(f"  {instance.seed.name}", bold=True)
            echo(f"{title} ({instance.seed.language}) — {instance.url}   (log in at {instance.url}/login)")
            suspended = {a.target.member for a in instance.seed.moderation.actions if a.action == "suspend"}
            for member in instance.seed.members:
                note = "  (suspended by the seed moderation: cannot log in; has appealed)" \
                    if member.handle in suspended else ""
                echo(f"      {member.role:<9} {member.handle:<10} {member.name}{note}")
        echo(f"\n  Every seed member logs in with the password: {DEMO_PASSWORD}")
        echo("  Logs: " + ", ".join(str(i.path / "logs") for i in self.instances))
        echo("\nWhat to try:")
        for line in what_to_try(self.instances, self.travel):
            echo(f"  • {line}")
        echo("")
        count = len(self.instances)
        echo(click.style(f"{READY_LINE} in {self.progress.elapsed:.0f} s: {count} instance{'s' if count > 1 else ''} "
                         f"on {', '.join(i.url for i in self.instances)}. Press Ctrl-C to stop.", fg="green"))

    def watch(self) -> None:
        """Until a signal: a child that dies takes the demo down with a reason."""
        while True:
            dead = first_dead(self.children)
            if dead is not None:
                raise DemoError(f"{dead.label} stopped unexpectedly (status {dead.process.returncode}); its log "
                                f"({dead.log_path}) ends with:\n{dead.log_tail()}")
            time.sleep(0.5)

    def stop(self) -> None:
        for instance in self.instances:
            instance.close()
        if self.children:
            self.echo(f"Stopping {len(self.children)} processes...")
            stop_children(self.children)
            self.echo("Stopped.")


def run_and_deliver(instance: Instance, service: Callable, *args):
    """One alliance service as a unit of work, its deliveries tried at once (what fails stays queued for
    the worker), as `coopol allies ...` does."""
    from coopol.federation.delivery import deliver_now

    with instance.unit():
        change = service(*args)
    with instance.app.app_context():
        deliver_now(change.delivery_ids)
    return change


def ally_statuses(instance: Instance) -> dict[str, str]:
    """{host: status} as `allies list` shows it (allied, requested, pending, ...)."""
    from coopol.federation.alliances import list_allies

    with instance.unit():
        return {row.host: row.status for row in list_allies()}


def queued_deliveries(instance: Instance) -> int:
    from coopol.federation.alliances import list_allies

    with instance.unit():
        return sum(row.queued for row in list_allies())


def backfill_states(instance: Instance) -> dict[str, tuple[str, int]]:
    """{ally host: (state, failed attempts)} of the instance's backfill jobs."""
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.federation.models import Backfill

    with instance.unit():
        return {job.host: (job.state, job.attempts) for job in db.session.scalars(select(Backfill))}


def run_backfill(instance: Instance, host: str) -> str | None:
    """Copy the ally's ideas now (the job is marked done); what went wrong, or None."""
    from coopol.core.errors import DomainError
    from coopol.federation.content.backfill import backfill

    with instance.app.app_context():
        try:
            backfill(host)
        except DomainError as error:
            return str(error.message)
    return None


def deliver_due(instance: Instance) -> int:
    """Apply what the instance's inbox received, then deliver what its outbox holds now, as one turn of
    `coopol worker` would; how many."""
    from coopol.federation.delivery import claim_due, deliver_batch

    applied = apply_received(instance)
    with instance.app.app_context():
        return applied + len(deliver_batch(claim_due()))


def apply_received(instance: Instance) -> int:
    """Apply what the instance's inbox received (the workers start later; the handshake needs it now)."""
    from coopol.extensions import db
    from coopol.federation.inbox import apply_queued

    with instance.app.app_context():
        try:
            return apply_queued()
        finally:
            db.session.remove()


def what_to_try(instances: list[Instance], ideas_travel: bool) -> list[str]:
    home = instances[0]
    suspended = {a.target.member for a in home.seed.moderation.actions if a.action == "suspend"}
    member = next((m.handle for m in reversed(home.seed.members) if m.role == "member" and m.handle not in suspended),
                  home.seed.admin.handle)
    moderator = next((m.handle for m in home.seed.members if m.role == "moderator"), home.seed.admin.handle)
    tips = [f"Open {home.url}/ideas, log in as {home.seed.admin.handle} and browse the ideas of "
            f"{home.seed.name}; filter by tag or territorial scope."]
    if len(instances) > 1 and ideas_travel:
        other = instances[1]
        tips.append(f"On {home.url}, open an idea of {other.seed.name} "
                    f"({home.url}/ideas?origin={other.host}): it shows its origin party and links back.")
        tips.append(f"Comment on it and vote from {home.seed.name} as {member}, then open the same idea on "
                    f"{other.url}: your comment is there, and the tally's per-instance breakdown counts your "
                    f"vote under {home.host}.")
        if len(instances) > 2:
            tips.append(f"Look at the same idea on {instances[2].url}: a third party sees the whole debate.")
    elif len(instances) > 1:
        tips.append("The instances are allied, but no idea has travelled yet (see `coopol --instance DIR allies "
                    "list` and the worker logs).")
    tips.append(f"Read the public moderation log at {home.url}/modlog: a hidden comment, a locked thread and a "
                f"suspension, each with its reason.")
    tips.append(f"Log in as the moderator {moderator}: {home.url}/moderation shows an open report and the "
                f"pending appeal; report a comment yourself as {member}.")
    tips.append(f"Script it: the JSON API is documented at {home.url}/api/openapi.json "
                f"(`coopol --instance {home.path} tokens create {home.seed.admin.handle}` prints a token).")
    return tips
