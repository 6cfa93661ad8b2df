"""`coopol allies ...` and `coopol worker`, added to the app's commands by `register(app)` (as the
blueprints are), where the `coopol` command finds them; this module uses the CLI's helpers, the CLI does not
import it."""

from __future__ import annotations

import signal
import threading

import click
from flask.cli import with_appcontext


def _unit(fn, *args):
    from coopol.cli import _unit as run_unit

    return run_unit(fn, *args)


def _deliver_now(change) -> None:
    """CLI commands try their deliveries at once; what fails stays queued for `coopol worker`."""
    from coopol.federation.delivery import deliver_now

    for outcome in deliver_now(change.delivery_ids):
        if outcome.state == "delivered":
            click.echo(f"  delivered (HTTP {outcome.status})")
        else:
            click.echo(f"  not delivered yet ({outcome.state}: {outcome.error or outcome.status}); "
                       "`coopol worker` will retry")


@click.group()
def allies() -> None:
    """Alliances with other instances (the handshake is Follow / Accept between Groups)."""


@allies.command("request")
@click.argument("url")
@with_appcontext
def allies_request(url: str) -> None:
    """Ask the instance at URL to ally (sends a Follow from our Group to theirs)."""
    from coopol.federation.alliances import request_alliance

    change = _unit(request_alliance, url)
    click.echo(f"Asked {change.ally.host} ({change.ally.group_id}) to ally: {change.ally.status}.")
    _deliver_now(change)


def _answer(service, verb: str):
    @click.argument("host")
    @with_appcontext
    def command(host: str) -> None:
        change = _unit(service, host)
        click.echo(f"{verb} {change.ally.host}: now {change.ally.status}.")
        _deliver_now(change)

    return command


def _register_answers() -> None:
    from coopol.federation import alliances as a

    for name, service, verb, doc in (
        ("accept", a.accept_alliance, "Accepted", "Accept HOST's pending request (and ask back, making it mutual)."),
        ("reject", a.reject_alliance, "Rejected", "Reject HOST's pending request."),
        ("revoke", a.revoke_alliance, "Revoked", "End the alliance with HOST (sends Undo(Follow)); both sides stop."),
    ):
        command = _answer(service, verb)
        command.__doc__ = doc
        allies.command(name)(command)


_register_answers()


def backfill_jobs() -> dict[str, dict]:
    """Each ally's backfill job (by host): its state, counts, last error and times, for lists."""
    from datetime import datetime

    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.federation.models import Backfill

    fields = ("state", "total", "seen", "stored", "skipped", "comments", "votes", "pages", "bytes_read",
              "truncated", "truncation", "attempts", "error", "started_at", "finished_at", "next_attempt_at")
    jobs = {}
    for job in db.session.scalars(select(Backfill)):
        values = {name: getattr(job, name) for name in fields}
        jobs[job.host] = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()}
    return jobs


def describe_backfill(job: dict | None) -> str:
    """One line: `done: 12/12 ideas (10 stored, 2 skipped), 30 comments, 41 votes` (and `; 1 collection(s)
    truncated (the last: why)` when the backfill bounds cut some short); `-` without a job."""
    if job is None:
        return "-"
    text = (f"{job['state']}: {job['seen']}/{job['total']} ideas ({job['stored']} stored, {job['skipped']} skipped),"
            f" {job['comments']} comments, {job['votes']} votes")
    if job["truncated"]:
        text += f"; {job['truncated']} collection(s) truncated (the last: {' '.join(job['truncation'].split())[:200]})"
    if job["error"]:
        text += f"; error: {' '.join(job['error'].split())[:200]}"
    return text


@allies.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def allies_list(as_json: bool) -> None:
    """Every known instance: status, last success, queue depth, failures, backfill job, vote proofs refused
    and the last audit of its votes."""
    import json

    from coopol.federation.alliances import list_allies

    rows = list_allies()
    jobs = backfill_jobs()
    proofs = proofs_health()
    if as_json:
        click.echo(json.dumps([{**row.as_dict(), "backfill": jobs.get(row.host), "proofs": proofs.get(row.host)}
                               for row in rows], indent=2))
        return
    if not rows:
        click.echo("No alliances and no requests.")
        return
    click.echo("HOST\tSTATUS\tLAST SUCCESS\tQUEUED\tFAILURES\tFAILED\tBACKFILL")
    for row in rows:
        last = row.last_success_at.strftime("%Y-%m-%d %H:%M") if row.last_success_at else "never"
        paused = f" (paused until {row.breaker_until:%H:%M})" if row.breaker_until else ""
        click.echo(f"{row.host}\t{row.status}\t{last}\t{row.queued}\t{row.consecutive_failures}{paused}\t{row.failed}"
                   f"\t{describe_backfill(jobs.get(row.host))}")


def proofs_health() -> dict[str, dict]:
    """Per host: the votes its deliveries carried whose FEP-8b32 proof failed (refused), and the last
    `coopol audit` of its votes."""
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.federation.models import ProofHealth

    def stamp(moment):
        return moment.isoformat() if moment else None

    return {row.host: {"refused": row.refused_proofs, "last_refused_at": stamp(row.last_refused_at),
                       "last_refused_reason": row.last_refused_reason or None, "audited_at": stamp(row.audited_at),
                       "audit_idea": row.audit_idea or None, "audit_votes": row.audit_votes,
                       "audit_problems": row.audit_problems, "audit_summary": row.audit_summary or None}
            for row in db.session.scalars(select(ProofHealth))}


@click.group()
def followers() -> None:
    """Followers from the wider fediverse (not allies): see `fediverse_followers` in the config."""


@followers.command("list")
@click.option("--state", default=None, help="Only pending, accepted, rejected or revoked followers.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@with_appcontext
def followers_list(state: str | None, as_json: bool) -> None:
    """Every fediverse follower of our Groups, with its state."""
    import json

    from coopol.federation.followers import list_followers

    rows = _unit(list_followers, state)
    if as_json:
        click.echo(json.dumps([{"id": r.id, "actor": r.actor_id, "name": r.name, "host": r.host, "state": r.state,
                                "group": r.group_actor, "since": r.created_at.isoformat()} for r in rows], indent=2))
        return
    if not rows:
        click.echo("No followers.")
        return
    click.echo("ID\tSTATE\tACTOR\tGROUP")
    for row in rows:
        click.echo(f"{row.id}\t{row.state}\t{row.actor_id}\t{row.group_actor}")


def _follower_answer(service, verb: str):
    @click.argument("follower")
    @with_appcontext
    def command(follower: str) -> None:
        change = _unit(service, follower)
        click.echo(f"{verb} {change.follower.actor_id}: now {change.follower.state}.")
        _deliver_now(change)

    return command


def _register_follower_answers() -> None:
    from coopol.federation import followers as f

    for name, service, verb, doc in (
        ("approve", f.approve_follower, "Approved", "Approve FOLLOWER (its number or actor URL): sends Accept."),
        ("reject", f.reject_follower, "Rejected", "Reject FOLLOWER's pending request: sends Reject."),
        ("revoke", f.revoke_follower, "Revoked", "Remove FOLLOWER: it receives nothing more (sends Reject)."),
    ):
        command = _follower_answer(service, verb)
        command.__doc__ = doc
        followers.command(name)(command)


_register_follower_answers()


@click.command()
@click.option("--once", is_flag=True, help="Apply what the inbox received and deliver what is due now, then exit.")
@click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1, 32))
@click.option("--verbose", "-v", is_flag=True, help="Print every attempt.")
@with_appcontext
def worker(once: bool, concurrency: int, verbose: bool) -> None:
    """Apply the activities allies sent (the inbox's queue) and deliver ours to them (run one or more,
    anywhere, against the same database)."""
    from coopol.federation.delivery import run_worker

    stop = threading.Event()
    if not once:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: stop.set())
        click.echo("Delivery worker running (Ctrl-C to stop).")

    def report(outcome) -> None:
        if verbose:
            click.echo(f"delivery {outcome.delivery_id}: {outcome.state} {outcome.status or ''} {outcome.error}")

    attempts = run_worker(once=once, concurrency=concurrency, stop=stop, report=report)
    click.echo(f"Worker stopped after {attempts} delivery attempt(s).")


COMMANDS = (allies, followers, worker)


def register_commands(app) -> None:
    for command in COMMANDS:
        app.cli.add_command(command)
