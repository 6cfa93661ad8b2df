"""The moderation panel of the admin dashboard: how much work waits, how old it is, what was done."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.moderation.models import Appeal, AppealStatus, ModerationAction, Report, ReportStatus


def moderation_workload(now: datetime | None = None) -> dict[str, Any]:
    """Open reports, queue items (reported things, as the queue groups them), the oldest open report's
    age, actions taken in the last 7 and 30 days, and pending appeals."""
    now = now or utcnow()
    is_open = Report.status == ReportStatus.OPEN
    open_reports, oldest = db.session.execute(select(func.count(Report.id), func.min(Report.created_at))
                                              .where(is_open)).one()
    items = select(Report.target_type, Report.target_id).where(is_open).distinct().subquery()
    queue_items = db.session.scalar(select(func.count()).select_from(items))

    def actions_since(days: int) -> int:
        return db.session.scalar(select(func.count(ModerationAction.id))
                                 .where(ModerationAction.created_at >= now - timedelta(days=days)))

    pending = db.session.scalar(select(func.count(Appeal.id)).where(Appeal.status == AppealStatus.PENDING))
    return {"open_reports": open_reports, "queue_items": queue_items, "oldest_open_at": oldest,
            "oldest_open_age": (now - oldest) if oldest else None, "actions_7_days": actions_since(7),
            "actions_30_days": actions_since(30), "pending_appeals": pending}


def register_workload_panel(app: Flask) -> None:
    from coopol.admin import register_panel

    register_panel(app, "moderation", _l("Moderation"), "moderation/admin_panel.html", moderation_workload,
                   order=20)
