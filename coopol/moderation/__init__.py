"""Moderation people can trust: reports, the queue, actions with reasons, appeals decided by another
moderator, a public append-only log, outcomes told to those concerned, and rate limits against sock puppets."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

MODERATOR_ONLY_NAV = frozenset({"moderation.queue"})


def register(app: Flask) -> None:
    from flask_login import current_user

    from coopol.accounts.services import register_exporter
    from coopol.core.events import subscribe
    from coopol.core.templating import add_nav
    from coopol.moderation import admin_panel, api, limits, routes, services
    from coopol.moderation.group_log import init_group_log

    app.config.setdefault("REPORTS_TO_HIDE", services.DEFAULT_REPORTS_TO_HIDE)
    app.config.setdefault("NOTIFY_BY_EMAIL", False)
    app.register_blueprint(routes.bp)
    app.extensions["coopol.api"].register_blueprint(api.blp)
    limits.init_limits(app)
    init_group_log(app)
    admin_panel.register_workload_panel(app)

    add_nav(app, "moderation.modlog", _l("Moderation log"))
    add_nav(app, "moderation.queue", _l("Moderation queue"), members_only=True)

    @app.context_processor
    def moderator_aware_nav():
        # The queue entry is for moderators: filter it out of the member navigation for everyone else.
        entries = app.extensions["coopol.nav"]["members"]

        def member_nav():
            is_moderator = current_user.is_authenticated and current_user.is_moderator
            return [entry for entry in entries if is_moderator or entry[0] not in MODERATOR_ONLY_NAV]

        return {"member_nav": member_nav, "moderation_tools": moderation_tools}

    def moderation_tools(target_type: str, target_id: int, author_id: int | None = None):
        """For other modules' templates: a report link, and for moderators a review link with signals.
        Use it guarded, `{% if moderation_tools is defined %}{{ moderation_tools("idea", idea.id) }}{% endif %}`."""
        from markupsafe import Markup

        if not current_user.is_authenticated:
            return Markup("")
        from coopol.moderation.targets import new_account_vote_count

        new_votes = None
        if current_user.is_moderator and target_type == "idea":
            new_votes = new_account_vote_count(target_id)
        # Rendered directly, not through render_template: a page calls this once per comment, and
        # render_template would run every context processor each time (a third of a 50-comment page).
        template = app.jinja_env.get_template("moderation/_tools.html")
        return Markup(template.render(target_type=target_type, target_id=target_id, current_user=current_user,
                                      is_own=author_id is not None and author_id == current_user.id,
                                      new_votes=new_votes))

    register_exporter("reports", services.export_reports)
    register_exporter("appeals", services.export_appeals)
    subscribe(app, "member_erasing", lambda member, **_: services.erase_moderation_data(member))
