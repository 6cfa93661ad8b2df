"""`coopol allies backfill HOST`: copy an ally's published ideas, their comments and votes, with progress
(added to `coopol allies`)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from coopol.federation.cli import allies


@click.command("backfill")
@click.argument("host")
@with_appcontext
def allies_backfill(host: str) -> None:
    """Copy the published ideas of the ally HOST, with their comments and votes (queued for the worker
    when an alliance forms; run it here any time: what is already here is not copied twice)."""
    from coopol.core.errors import DomainError
    from coopol.federation.content.backfill import backfill

    def progress(result) -> None:
        click.echo(f"  {result.seen}/{result.total} ideas read, {result.stored} stored, {result.skipped} skipped;"
                   f" {result.comments} comment(s), {result.votes} vote(s) added")

    try:
        result = backfill(host, progress)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Backfill from {host}: {result.stored} idea(s) stored, {result.skipped} skipped, "
               f"{result.comments} comment(s) and {result.votes} vote(s) added.")


if "backfill" not in allies.commands:
    allies.add_command(allies_backfill)


@click.command("audit")
@click.argument("idea_url")
@with_appcontext
def audit(idea_url: str) -> None:
    """Check the tally of the idea at IDEA_URL: read its votes from its origin and every ally, verify each
    vote's signature (proof) against its voter's key, recount per party; exit 1 when anything differs."""
    from coopol.core.errors import DomainError
    from coopol.federation.content.audit import audit_idea

    try:
        result = audit_idea(idea_url, click.echo)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"Tally per party, from the signed votes of {idea_url}:")
    for party, counts in sorted(result.tally.items()):
        click.echo(f"  {party}: {counts['support']} support, {counts['oppose']} oppose")
    shown = result.shown
    click.echo(f"{result.origin} shows {shown['support'] if shown['support'] is not None else '?'} support, "
               f"{shown['oppose'] if shown['oppose'] is not None else '?'} oppose.")
    unproven = sum(source.unproven for source in result.sources)
    if unproven:
        click.echo(f"{unproven} vote(s) came without a proof (from Mastodon, Lemmy, or before proofs): "
                   "counted as listed, not verifiable.")
    if result.ok:
        click.echo("No difference: every proof verifies and every instance counts the same votes.")
        return
    click.echo(f"{len(result.problems)} difference(s):")
    for problem in result.problems:
        click.echo(f"  - {problem}")
    raise SystemExit(1)
