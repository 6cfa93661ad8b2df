"""Atom 1.0 feeds (RFC 4287), made with feedgen, and the `<link rel="alternate">` that announces them.

A module builds a list of `FeedEntry` from what it owns and answers with `atom_response`; a page says
it has a feed by `register_alternate(app, endpoint, title, url)`, so that the page's owner (accounts for a
member's profile, groups for a group) never imports the module that made the feed (ideas, events).
Feeds are public documents read without cookies: modules build them as an anonymous visitor sees things.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, current_app, request

ATOM_TYPE = "application/atom+xml"
FEED_LIMIT = 50
_ALTERNATES = "coopol.feeds.alternates"


@dataclass(frozen=True)
class FeedEntry:
    id: str  # a permanent IRI: the object's ActivityPub id or page URL
    title: str
    url: str
    updated: datetime
    published: datetime | None = None
    author: str | None = None
    content_html: str = ""
    category: str | None = None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def atom_document(*, feed_id: str, title: str, page_url: str, self_url: str, entries: Iterable[FeedEntry],
                  subtitle: str | None = None, language: str | None = None) -> bytes:
    from feedgen.feed import FeedGenerator  # with lxml, 12 MB: imported by the first feed asked for

    entries = list(entries)
    feed = FeedGenerator()
    feed.id(feed_id)
    feed.title(title)
    feed.link(href=page_url, rel="alternate", type="text/html")
    feed.link(href=self_url, rel="self", type=ATOM_TYPE)
    # RFC 4287 4.1.1: a feed has an author unless every entry has one; the instance speaks for its pages.
    feed.author({"name": current_app.config["NAME"], "uri": current_app.config["URL"]})
    feed.generator("Coopol")
    if subtitle:
        feed.subtitle(subtitle)
    if language:
        feed.language(language)
    newest = max((_aware(e.updated) for e in entries), default=None)
    feed.updated(newest or datetime(2000, 1, 1, tzinfo=UTC))  # stable when empty: readers see no change
    for item in entries:
        entry = feed.add_entry(order="append")
        entry.id(item.id)
        entry.title(item.title)
        entry.link(href=item.url, rel="alternate", type="text/html")
        entry.updated(_aware(item.updated))
        if item.published:
            entry.published(_aware(item.published))
        if item.author:
            entry.author({"name": item.author})
        if item.content_html:
            entry.content(item.content_html, type="html")
        if item.category:
            entry.category(term=item.category)
    return feed.atom_str(pretty=False)


def atom_response(**document: Any) -> Response:
    """`atom_response(feed_id=..., title=..., page_url=..., entries=[...])`: the feed at this request's URL."""
    document.setdefault("self_url", request.url)
    return Response(atom_document(**document), mimetype=ATOM_TYPE)


def register_alternate(app: Flask, endpoint: str, title: Any, url: Callable[[dict[str, Any]], str | None]) -> None:
    """Announces a feed on every page of `endpoint`: `url(view_args)` gives its address (None: no feed)."""
    alternates = app.extensions.setdefault(_ALTERNATES, {})
    if not alternates:
        app.context_processor(lambda: {"feed_links": _feed_links})
    alternates.setdefault(endpoint, []).append((title, url))


def _feed_links() -> list[dict[str, str]]:
    found = []
    for title, url in current_app.extensions.get(_ALTERNATES, {}).get(request.endpoint, []):
        href = url(dict(request.view_args or {}))
        if href:
            found.append({"title": str(title), "href": href, "type": ATOM_TYPE})
    return found


__all__ = ["ATOM_TYPE", "FEED_LIMIT", "FeedEntry", "atom_document", "atom_response", "register_alternate"]
