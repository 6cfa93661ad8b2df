"""Local groups, territorial (bound to a scope) or thematic: membership, organisers and the group page's
frame, a *space* in which other modules register sections (see space.py). Depends on core and accounts
only: it never imports ideas, events, moderation or federation."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l


def register(app: Flask) -> None:
    from coopol.core.landing import register_counter
    from coopol.core.scopes import init_scopes
    from coopol.core.templating import add_nav
    from coopol.groups import api, routes
    from coopol.groups.feeds import init_feeds
    from coopol.groups.privacy import init_privacy
    from coopol.groups.services import count_groups

    init_scopes(app)
    app.register_blueprint(routes.bp)
    app.extensions["coopol.api"].register_blueprint(api.blp)
    add_nav(app, "groups.index", _l("Groups"))
    init_privacy(app)
    init_feeds(app)
    register_counter(app, "groups", _l("groups"), count_groups, order=40, endpoint="groups.index")
