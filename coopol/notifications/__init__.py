"""Members come back: follows, the home feed and notifications (coalesced, per-kind preferences).

This package only listens: domain services publish events, the listeners here store notices and feed
lines in the same transaction; no domain imports it. E-mail is the mail package's: it listens to
`notification_created` (published for every stored or coalesced notice, with the reader's channel).
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import lazy_gettext as _l


def register(app: Flask) -> None:
    from flask import request
    from flask_login import current_user
    from markupsafe import Markup

    from coopol.accounts.services import register_profile_counts
    from coopol.core.errors import DomainError
    from coopol.core.landing import register_section
    from coopol.core.templating import add_nav
    from coopol.notifications import api, follows, labels, routes, store  # noqa: F401  (labels: defined)
    from coopol.notifications.feed import feed_page
    from coopol.notifications.gatherings import init_gatherings
    from coopol.notifications.listeners import init_listeners
    from coopol.notifications.mailing import init_mail_hooks
    from coopol.notifications.models import FollowKind
    from coopol.notifications.privacy import init_privacy

    app.config.setdefault("NOTIFY_COALESCE_SECONDS", store.COALESCE_SECONDS)
    app.register_blueprint(routes.bp)
    app.extensions["coopol.api"].register_blueprint(api.blp)
    init_listeners(app)
    init_gatherings(app)
    init_mail_hooks(app)
    init_privacy(app)
    add_nav(app, "notifications.page", _l("Notifications"), members_only=True)

    def feed_section(viewer: Any) -> dict[str, Any] | None:
        if viewer is None:
            return None
        items, _cursor = feed_page(viewer, limit=10)
        return {"entries": items}

    register_section(app, "home_feed", "notifications/_landing.html", feed_section, order=5)
    register_profile_counts(app, lambda member: {"follower_count": follows.follower_count(member),
                                            "following_count": follows.following_count(member)})

    def follow_button(kind: str, target: Any, key: Any = None, count: bool = False) -> Markup:
        """A follow form for other modules' templates: `follow_button("group", group.slug, group.id)`
        (`key` is what a follow stores, the id, when the form names the thing otherwise; a tag or a scope
        is stored as its clean name, found here). With `count`, how many follow it too (one indexed count)."""
        if not current_user.is_authenticated:
            return Markup("")
        if key is None and kind in (FollowKind.TAG, FollowKind.SCOPE):
            try:
                key, _found = follows.resolve_target(current_user, kind, target)
            except DomainError:  # not a tag or a scope that can be followed: no button
                return Markup("")
        stored = str(target if key is None else key)
        row = follows.find_follow(current_user, kind, stored)
        template = app.jinja_env.get_template("notifications/_follow.html")
        return Markup(template.render(kind=kind, target=target, state=row.state if row else None, request=request,
                                      count=follows.count_following(kind, stored) if count else None))

    def follow_box(member: Any) -> Markup:
        if member.is_erased:
            return Markup("")
        signed_in = current_user.is_authenticated and current_user.id != member.id
        # A member I block shows only "Unblock" (following them would be refused); whether they block me is
        # not shown (blocks are private): their follow button says so when used.
        blocked = store.is_blocked(current_user, member) if signed_in else None
        button = follow_button("member", member.handle, member.id) if signed_in and not blocked else Markup("")
        return Markup(app.jinja_env.get_template("notifications/_profile.html").render(
            member=member, followers=follows.follower_count(member), following=follows.following_count(member),
            button=button, block_state=blocked, request=request))

    @app.context_processor
    def notification_helpers():
        def unread_notifications() -> int:
            return store.unread_count(current_user) if current_user.is_authenticated else 0

        return {"follow_button": follow_button, "follow_box": follow_box,
                "unread_notifications": unread_notifications}
