"""Ideas, debate and votes: proposals with a lifecycle, threaded comments with a stance, support/oppose
votes with per-instance tallies, full-text search and participation statistics."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

SETTINGS = {
    "SUPPORT_THRESHOLD": 0,  # supports that mark an idea as "reached the threshold"; 0 = none
    "HIDE_TALLIES_WHILE_OPEN": False,  # hide counts until an idea leaves `published` (no bandwagon)
    "COMMENT_MAX_DEPTH": 6,
}
# Database objects of the search index that the ORM does not map (see the 0002_ideas migration).
UNMAPPED_SEARCH_OBJECTS = ("ideas_fts", "search_vector", "ix_ideas_search_vector")


def register(app: Flask) -> None:
    from coopol.core.templating import add_nav
    from coopol.ideas import admin_panel, api, routes
    from coopol.ideas.feeds import init_feeds
    from coopol.ideas.in_groups import register_with_groups
    from coopol.ideas.landing import register_landing
    from coopol.ideas.privacy import init_privacy
    from coopol.ideas.scopes import init_scopes

    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    init_scopes(app)
    app.register_blueprint(routes.bp)
    app.extensions["coopol.api"].register_blueprint(api.blp)
    add_nav(app, "ideas.index", _l("Ideas"))
    add_nav(app, "ideas.stats", _l("Stats"))
    add_nav(app, "ideas.new", _l("Propose an idea"), members_only=True)
    init_privacy(app)
    register_landing(app)
    init_feeds(app)
    register_with_groups(app)
    admin_panel.register_participation_panel(app)
    _keep_search_index_out_of_autogenerate(app)


def _keep_search_index_out_of_autogenerate(app: Flask) -> None:
    """Alembic autogenerate must not propose to drop the FTS5 table or the tsvector column and index."""
    migrate = app.extensions.get("migrate")
    if migrate is None:
        return
    previous = migrate.configure_args.get("include_name")

    def include_name(name, type_, parent_names):
        if name and any(name == obj or name.startswith(obj + "_") for obj in UNMAPPED_SEARCH_OBJECTS):
            return False
        return previous(name, type_, parent_names) if previous else True

    migrate.configure_args["include_name"] = include_name
