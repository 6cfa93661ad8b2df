"""The bridging panel of the admin dashboard: the last fit (when, on how many votes, how long) and the
co-voting clusters still to review."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from coopol.bridging.models import VoteCluster
from coopol.bridging.services import last_fit
from coopol.extensions import db


def bridging_panel() -> dict[str, Any]:
    pending = db.session.scalar(select(func.count()).select_from(VoteCluster)
                                .where(VoteCluster.reviewed_at.is_(None))) or 0
    return {"fit": last_fit(), "pending_clusters": pending}


def register_bridging_panel(app: Flask) -> None:
    from coopol.admin import register_panel

    register_panel(app, "bridging", _l("Across parties"), "bridging/admin_panel.html", bridging_panel, order=35)
