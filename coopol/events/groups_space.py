"""What gatherings show in a group (coopol/groups/space.py): the "Upcoming gatherings" section and the
`upcoming_event_count` counter on every group of the API."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, url_for
from flask_babel import lazy_gettext as _l

from coopol.events import presenters, services
from coopol.groups.space import register_counter, register_section


def group_section(group: Any, viewer: Any) -> dict[str, Any] | None:
    events = services.upcoming_for_group(group, limit=current_app.config["GROUP_UPCOMING_EVENTS"])
    views = presenters.event_views(events, viewer)
    for view in views:
        view["starts_local"] = view["starts_at"].astimezone(ZoneInfo(view["timezone"])).strftime("%Y-%m-%d %H:%M")
    return {"events": views, "calendar_url": url_for("events_calendars.group_events_ics", slug=group.slug)}


def register_with_groups(app: Flask) -> None:
    register_section(app, "gatherings", _l("Upcoming gatherings"), "events/_group_section.html", group_section,
                     order=10)
    register_counter(app, "upcoming_event_count", services.upcoming_counts)
