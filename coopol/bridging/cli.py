"""`coopol bridging fit`: fit the bridging model now and say how long it took."""

from __future__ import annotations

import click
from flask.cli import with_appcontext


@click.group()
def bridging() -> None:
    """The "supported across parties" ranking (sort=bridging)."""


@bridging.command("fit")
@with_appcontext
def bridging_fit() -> None:
    """Fit the model on every vote now and store the scores (the worker also does it on its schedule)."""
    from coopol.bridging.services import fit_bridging
    from coopol.core.uow import unit_of_work

    with unit_of_work():
        report = fit_bridging()
    if report is None:
        raise click.ClickException("Another worker is fitting the model right now; try again in a moment.")
    click.echo(f"Fitted {report.votes} votes of {report.members} members on {report.ideas} ideas "
               f"({report.parties} parties) in {report.seconds:.2f} s ({report.iterations} iterations; "
               f"{report.total_seconds:.2f} s with reading and storing); {report.ranked} ideas ranked.")


@bridging.command("clusters")
@with_appcontext
def bridging_clusters() -> None:
    """Find co-voting clusters now (the worker also does it after each fit); moderators see them at /clusters."""
    from coopol.bridging.clusters import detect_clusters
    from coopol.core.uow import unit_of_work

    with unit_of_work():
        found = detect_clusters()
    click.echo(f"{found} co-voting cluster(s).")
