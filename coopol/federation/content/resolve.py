"""Find our idea or comment for an ActivityPub id: local ids by their path, copies by `ap_id`; a copy
that has not arrived yet is fetched from its allied origin (deliveries may arrive out of order)."""

from __future__ import annotations

import logging
import re

from flask import current_app
from sqlalchemy import select

from coopol.extensions import db
from coopol.federation.fetch import FetchError, fetch_document, may_fetch_from
from coopol.federation.protocol import ProtocolError, type_of
from coopol.federation.urls import UnsafeURL, host_of
from coopol.ideas.models import Comment, Idea

log = logging.getLogger("coopol.federation.content")
LOCAL_IDEA = re.compile(r"^/ideas/(\d+)$")
LOCAL_COMMENT = re.compile(r"^/comments/(\d+)$")
MAX_FETCH_DEPTH = 8


def _local(url: str, pattern: re.Pattern[str]) -> int | None:
    base = current_app.config["URL"]
    if not url.startswith(base + "/"):
        return None
    match = pattern.match(url[len(base):])
    return int(match.group(1)) if match else None


def find_idea(url: str | None) -> Idea | None:
    if not url:
        return None
    local = _local(url, LOCAL_IDEA)
    if local is not None:
        idea = db.session.get(Idea, local)
        return idea if idea is not None and idea.is_local else None
    return db.session.scalar(select(Idea).where(Idea.ap_id == url))


def find_comment(url: str | None) -> Comment | None:
    if not url:
        return None
    local = _local(url, LOCAL_COMMENT)
    if local is not None:
        comment = db.session.get(Comment, local)
        return comment if comment is not None and comment.ap_id is None else None
    return db.session.scalar(select(Comment).where(Comment.ap_id == url))


def _fetchable(url: str) -> bool:
    try:
        return may_fetch_from(host_of(url))
    except UnsafeURL:
        return False


def resolve_target(url: str | None, depth: int = 0) -> Idea | Comment | None:
    """The idea or comment `url` names, fetching (and storing) it from an ally when we lack it. None when
    it cannot be had now (not an ally, network trouble); ProtocolError when it never will (gone, unusable)."""
    if not url:
        return None
    local_idea = _local(url, LOCAL_IDEA) is not None
    found = find_idea(url) if local_idea else (find_comment(url) or find_idea(url))
    if found is not None or depth >= MAX_FETCH_DEPTH:
        return found
    if current_app.config["URL"] and url.startswith(current_app.config["URL"] + "/"):
        return None
    if not _fetchable(url):
        return None
    try:
        document = fetch_document(url)
    except (FetchError, UnsafeURL) as error:
        if " answered 404" in str(error) or " answered 410" in str(error):
            raise ProtocolError(f"{url} is gone") from error
        log.info("could not fetch %s: %s", url, error)
        return None  # perhaps later: the caller retries
    from coopol.federation.content import receive

    if type_of(document) == "Page":
        return receive.store_page(document, host_of(url))
    if type_of(document) == "Note":
        return receive.store_note(document, host_of(url), depth=depth + 1)
    raise ProtocolError(f"{url} is a {type_of(document)}, not an idea or a comment")
