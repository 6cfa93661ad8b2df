"""What federation tells the rest of Coopol about allies without being imported: their party names
(from the Group document each ally sent, kept on its `Ally` row) and how many allies we have."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from coopol.extensions import db
from coopol.federation.models import Ally


def ally_names(hosts: set[str]) -> dict[str, str]:
    """Names of the parties at these hosts that ever asked or answered us (a revoked ally keeps its name:
    its past votes still count in tallies)."""
    rows = db.session.execute(select(Ally.host, Ally.name).where(Ally.host.in_(sorted(hosts)))).all()
    return {host: name for host, name in rows if name}


def count_allies() -> int:
    return db.session.scalar(select(func.count()).select_from(Ally).where(
        Ally.outgoing == "accepted", Ally.incoming == "accepted")) or 0


def register_parties(app: Flask) -> None:
    from coopol.core.landing import register_counter
    from coopol.core.parties import register_party_names

    register_party_names(app, ally_names)
    register_counter(app, "allies", _l("allied parties"), count_allies, order=40)
