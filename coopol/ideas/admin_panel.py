"""The participation panel of the admin dashboard: totals, and members, ideas, comments and votes per
month as server-drawn charts (the series of `stats.participation_stats`, as on the public stats page)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask
from flask_babel import format_date
from flask_babel import lazy_gettext as _l

from coopol.core.charts import Series, line_chart, render_svg
from coopol.ideas.stats import participation_stats

METRICS = (("members", _l("New members per month"), "#8a5a00"), ("ideas", _l("Ideas published per month"), "#b3123c"),
           ("comments", _l("Comments per month"), "#1b7f3b"), ("votes", _l("Votes per month"), "#1f4e9a"))


def month_label(month: str) -> str:
    """`2026-03` as the interface language writes a short month: `Mar 26`, `mars 26`."""
    year, number = (int(part) for part in month.split("-"))
    return format_date(date(year, number, 1), "MMM yy")


def participation_panel() -> dict[str, Any]:
    stats = participation_stats()
    months = stats["over_time"]
    labels = [month_label(point["month"]) for point in months]
    charts = []
    for key, title, color in METRICS:
        values = [point[key] for point in months]
        geometry = line_chart(labels, [Series(str(title), values, color)])
        charts.append({"key": key, "title": title, "svg": render_svg(geometry, str(title)), "chart": geometry})
    totals = {key: stats[key]["total"] for key, _title, _color in METRICS}
    return {"totals": totals, "charts": charts, "months": months, "labels": labels}


def register_participation_panel(app: Flask) -> None:
    from coopol.admin import register_panel

    register_panel(app, "participation", _l("Participation"), "ideas/admin_panel.html", participation_panel,
                   order=30)
