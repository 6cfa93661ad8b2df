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
