"""A group's Atom feed, `/groups/{slug}.atom`: the entries that other modules register, merged newest first.

As sections on the group page (space.py), the feed's content comes from the components plugged into the
group: `register_feed_source(app, "ideas", entries)` where `entries(group, limit)` returns `FeedEntry`s
as an anonymous visitor may see them. This package never imports those modules.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any

from flask import Blueprint, Flask, current_app, url_for
from flask_babel import lazy_gettext as _l

from coopol.core.feeds import FEED_LIMIT, FeedEntry, atom_response, register_alternate
from coopol.groups import services

_SOURCES = "coopol.groups.feed_sources"
bp = Blueprint("group_feeds", __name__)


def register_feed_source(app: Flask, key: str, entries: Callable[[Any, int], list[FeedEntry]]) -> None:
    sources = app.extensions.setdefault(_SOURCES, {})
    if key in sources:
        raise ValueError(f"A group feed source '{key}' is already registered.")
    sources[key] = entries


def feed_entries(group: Any, limit: int = FEED_LIMIT) -> list[FeedEntry]:
    found: list[FeedEntry] = []
    for key in sorted(current_app.extensions.get(_SOURCES, {})):
        found += current_app.extensions[_SOURCES][key](group, limit)

    def newest(entry: FeedEntry):
        moment = entry.updated
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    return sorted(found, key=newest, reverse=True)[:limit]


@bp.get("/groups/<slug>.atom")
def feed(slug: str):
    group = services.get_group(slug, None)
    page = url_for("groups.show", slug=group.slug, _external=True)
    return atom_response(feed_id=page, title=f"{group.name} · {current_app.config['NAME']}",
                         page_url=page, entries=feed_entries(group))


def init_feeds(app: Flask) -> None:
    app.register_blueprint(bp)
    register_alternate(app, "groups.show", _l("News of this group (Atom)"),
                       lambda args: url_for("group_feeds.feed", slug=args["slug"]) if "slug" in args else None)
