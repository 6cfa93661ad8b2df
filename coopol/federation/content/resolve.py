"""Find our idea or comment for an ActivityPub id: local ids by their path, copies by `ap_id`.

A leaf of the content package (receive, rejections and backfill use it; it uses none of them): fetching
and storing a copy that has not arrived yet is `receive.resolve_target`'s work."""

from __future__ import annotations

import re

from flask import current_app
from sqlalchemy import select

from coopol.core.schemas import parse_id
from coopol.extensions import db
from coopol.federation.fetch import may_fetch_from
from coopol.federation.urls import UnsafeURL, host_of
from coopol.ideas.models import Comment, Idea

LOCAL_IDEA = re.compile(r"^/ideas/(\d+)$")
LOCAL_COMMENT = re.compile(r"^/comments/(\d+)$")


def _local(url: str, pattern: re.Pattern[str]) -> int | None:
    base = current_app.config["URL"]
    if not url.startswith(base + "/"):
        return None
    match = pattern.match(url[len(base):])
    return parse_id(match.group(1)) if match else None  # int() would read "١" as 1


def names_local_idea(url: str) -> bool:
    """`url` has the shape of one of our ideas' ids (whether or not that idea exists)."""
    return _local(url, LOCAL_IDEA) is not None


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


def fetchable(url: str) -> bool:
    """`url` is on a host we may fetch from (an ally)."""
    try:
        return may_fetch_from(host_of(url))
    except UnsafeURL:
        return False
