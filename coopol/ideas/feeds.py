"""Atom feeds of ideas: `/ideas.atom` (the list's filters), `/members/{handle}.atom` (a member's ideas), and
the ideas of a group's feed (registered with groups, which never imports ideas).

A feed is what an anonymous visitor sees (feed readers send no cookies, and a public cache may keep it):
published ideas only, never drafts, hidden or removed ones, whoever asks. Newest first by default.
"""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from coopol.accounts.services import get_member_by_handle
from coopol.core.cache import public_cache
from coopol.core.errors import ValidationFailed
from coopol.core.feeds import FEED_LIMIT, FeedEntry, atom_response, register_alternate
from coopol.ideas import queries
from coopol.ideas.models import Idea, IdeaState
from coopol.ideas.scopes import scope_tree

bp = Blueprint("idea_feeds", __name__)
FILTERS = ("state", "tag", "scope", "language", "origin", "author", "group")
LISTED_STATES = (IdeaState.PUBLISHED, IdeaState.EVALUATING, IdeaState.ACCEPTED, IdeaState.REJECTED)


def idea_entry(idea: Idea) -> FeedEntry:
    page = current_app.config["URL"] + url_for("ideas.show", idea_id=idea.id)
    return FeedEntry(id=idea.ap_id or page, title=idea.title, url=page, updated=idea.updated_at,
                     published=idea.published_at, author=idea.author.name, content_html=idea.body_html)


def _site_title(title: str) -> str:
    return f"{title} · {current_app.config['NAME']}"


def _list_filters(args) -> tuple[dict, str, str | None]:
    """The web list's filters, checked: a feed subscribed with a wrong filter must say so, not list everything."""
    filters = {key: (args.get(key) or "").strip()[:200] or None for key in FILTERS}
    if filters["state"] and filters["state"] not in LISTED_STATES:
        raise ValidationFailed.field("state", _("Choose one of: %(choices)s.", choices=", ".join(LISTED_STATES)))
    if filters["scope"] and filters["scope"] not in scope_tree():
        raise ValidationFailed.field("scope", _("Unknown scope '%(code)s'.", code=filters["scope"][:64]))
    sort = args.get("sort") or "new"
    if sort not in queries.SORTS:
        raise ValidationFailed.field("sort", _("Choose one of: %(choices)s.", choices=", ".join(queries.SORTS)))
    q = (args.get("q") or "").strip()[:200] or None
    return filters, sort, q


@bp.get("/ideas.atom")
@public_cache
def ideas_feed():
    filters, sort, q = _list_filters(request.args)
    page = queries.list_ideas(None, sort=sort, q=q, limit=FEED_LIMIT, pinned_first=False, **filters)
    shown = {key: value for key, value in {**filters, "q": q}.items() if value}
    subtitle = ", ".join(f"{key}: {value}" for key, value in sorted(shown.items())) or None
    return atom_response(feed_id=current_app.config["URL"] + url_for("idea_feeds.ideas_feed", **shown, sort=sort),
                         title=_site_title(_("Ideas")), subtitle=subtitle,
                         page_url=current_app.config["URL"] + url_for("ideas.index", **shown, sort=sort),
                         entries=[idea_entry(idea) for idea in page.ideas])


@bp.get("/members/<handle>.atom")
@public_cache
def member_feed(handle: str):
    member = get_member_by_handle(handle)
    ideas = [] if member.is_erased else queries.list_ideas(None, sort="new", limit=FEED_LIMIT, pinned_first=False,
                                                           author=member.handle).ideas
    page = current_app.config["URL"] + url_for("accounts.profile", handle=member.handle)
    return atom_response(feed_id=page + ".atom", title=_site_title(_("Ideas of %(name)s", name=member.name)),
                         page_url=page, entries=[idea_entry(idea) for idea in ideas])


def group_ideas(group, limit: int) -> list[FeedEntry]:
    """The ideas posted in the group, as an anonymous visitor sees them."""
    page = queries.list_ideas(None, sort="new", limit=limit, pinned_first=False, group=group.slug)
    return [idea_entry(idea) for idea in page.ideas]


def _list_feed_url(_args: dict) -> str:
    shown = {key: request.args[key] for key in (*FILTERS, "q", "sort") if request.args.get(key)}
    return url_for("idea_feeds.ideas_feed", **shown)


def init_feeds(app: Flask) -> None:
    from coopol.groups.feeds import register_feed_source

    app.register_blueprint(bp)
    register_feed_source(app, "ideas", group_ideas)
    register_alternate(app, "ideas.index", _l("Ideas of this list (Atom)"), _list_feed_url)
    register_alternate(app, "accounts.profile", _l("Ideas of this member (Atom)"),
                       lambda args: url_for("idea_feeds.member_feed", handle=args["handle"])
                       if "handle" in args else None)
