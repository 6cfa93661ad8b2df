"""Federation of content: ideas, debate, votes and moderation travel between allies (FEP-1b12).

`objects` (wire shapes and tolerant parsers), `publish` (domain events → outbox), `receive` (inbox
handlers calling the domain services), `resolve` (ids → our rows, fetching what is missing),
`negotiation` (ActivityPub JSON on the idea and comment URLs), `backfill` (a new ally's ideas).
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from coopol.core.events import subscribe
    from coopol.extensions import limiter
    from coopol.federation.content import backfill, negotiation, publish, receive

    receive.register_handlers()
    publish.subscribe_all(app)
    subscribe(app, "alliance_formed", backfill.on_alliance_formed)
    negotiation.init_negotiation(app)
    limiter.exempt(backfill.bp)
    app.register_blueprint(backfill.bp)
    _register_cli()


def _register_cli() -> None:
    import click
    from flask.cli import with_appcontext

    from coopol.federation.cli import allies

    if "backfill" in allies.commands:
        return

    @allies.command("backfill")
    @click.argument("host")
    @with_appcontext
    def allies_backfill(host: str) -> None:
        """Copy the published ideas of the ally HOST (done when an alliance forms; run again any time)."""
        from coopol.core.errors import DomainError
        from coopol.federation.content.backfill import backfill

        def progress(result) -> None:
            click.echo(f"  {result.seen}/{result.total} ideas read, {result.stored} stored, "
                       f"{result.skipped} skipped")

        try:
            result = backfill(host, progress)
        except DomainError as error:
            raise click.ClickException(error.message) from error
        click.echo(f"Backfill from {host}: {result.stored} idea(s) stored, {result.skipped} skipped.")
