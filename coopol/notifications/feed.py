"""The home feed: what the people, ideas, groups, tags and scopes a member follows did, newest first.

The listeners write one `Activity` per feed-worthy change with its topics (see models.py). A page is one
query, the newest activities whose topics the member follows, below the cursor, through the
(kind, target, activity_id) index: it reads the followed topics' rows, never the whole activity table.
Then one batch load per kind of object (ideas, comments, gatherings) and one for the actors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import current_app
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.accounts.services import author_view
from coopol.core.schemas import parse_id
from coopol.core.scopes import scope_tree
from coopol.extensions import db
from coopol.ideas.guards import can_view, content_visible
from coopol.ideas.models import Comment, Idea
from coopol.notifications.models import Activity, ActivityTopic, Block, Follow, FollowState

Topic = tuple[str, str]
# object_type -> (ids, viewer) -> {id: object view or None when the viewer may not see it}
_LOADERS = "coopol.feed_loaders"


def register_feed_loader(app, object_type: str, loader: Callable[[list[int], Any], dict[int, dict | None]]) -> None:
    app.extensions.setdefault(_LOADERS, {})[object_type] = loader


def scope_topics(code: str | None) -> list[Topic]:
    """A scope and every scope above it: following France shows what happens in Paris."""
    if not code:
        return []
    path = [scope.code for scope in scope_tree().path(code)] or [code]
    return [("scope", c) for c in path]


def record_activity(kind: str, actor: Member | None, object_type: str, object_id: int,
                    topics: Iterable[Topic]) -> Activity:
    activity = Activity(kind=kind, actor_id=actor.id if actor else None, object_type=object_type,
                        object_id=object_id)
    db.session.add(activity)
    db.session.flush()
    for topic_kind, target in dict.fromkeys(topics):
        db.session.add(ActivityTopic(activity_id=activity.id, kind=topic_kind, target=str(target)[:120]))
    db.session.flush()
    return activity


def feed_page(member: Member, *, cursor: str | None = None, limit: int = 20, since: Any = None
              ) -> tuple[list[dict[str, Any]], str | None]:
    followed = (select(ActivityTopic.activity_id)
                .join(Follow, (Follow.kind == ActivityTopic.kind) & (Follow.target == ActivityTopic.target))
                .where(Follow.member_id == member.id, Follow.state == FollowState.ACTIVE))
    before = parse_id(cursor)
    if before is not None:
        followed = followed.where(ActivityTopic.activity_id < before)
    blocked = select(Block.id).where(Block.member_id == member.id, Block.blocked_id == Activity.actor_id)
    query = select(Activity).where(Activity.id.in_(followed), Activity.actor_id.is_distinct_from(member.id),
                                   ~blocked.exists())  # those I block: not through a followed tag or territory
    if since is not None:
        query = query.where(Activity.created_at > since)
    query = query.order_by(Activity.id.desc()).limit(limit + 1)
    rows = list(db.session.scalars(query))
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return present(rows[:limit], member), next_cursor


def _load_ideas(ids: list[int], viewer: Any) -> dict[int, dict | None]:
    ideas = db.session.scalars(select(Idea).where(Idea.id.in_(ids))) if ids else []
    return {i.id: ({"type": "idea", "id": i.id, "title": i.title, "state": i.state,
                    # Our page, an ally's copy too: the reader votes and comments here (it links the origin).
                    "url": f"{current_app.config['URL']}/ideas/{i.id}"}
                   if can_view(i, viewer) and content_visible(i, viewer) else None) for i in ideas}


def _load_comments(ids: list[int], viewer: Any) -> dict[int, dict | None]:
    rows = db.session.execute(select(Comment, Idea).join(Idea, Idea.id == Comment.idea_id)
                              .where(Comment.id.in_(ids))) if ids else []
    out: dict[int, dict | None] = {}
    for comment, idea in rows:
        visible = can_view(idea, viewer) and content_visible(comment, viewer) and not comment.is_deleted
        if not visible:
            out[comment.id] = None
            continue
        # A plain path, no url_for: digests are built by the worker, outside any request.
        out[comment.id] = {"type": "comment", "id": comment.id, "idea_id": idea.id, "title": idea.title,
                           "excerpt": comment.body[:200],
                           "url": f"{current_app.config['URL']}/ideas/{idea.id}#comment-{comment.id}"}
    return out


def present(rows: list[Activity], viewer: Member) -> list[dict[str, Any]]:
    """Feed items `{id, kind, created_at, actor, object}`, with one query per kind of object."""
    loaders: dict[str, Callable] = {"idea": _load_ideas, "comment": _load_comments,
                                    **current_app.extensions.get(_LOADERS, {})}
    wanted: dict[str, list[int]] = {}
    for row in rows:
        wanted.setdefault(row.object_type, []).append(row.object_id)
    objects = {kind: loaders[kind](ids, viewer) if kind in loaders else {} for kind, ids in wanted.items()}
    actor_ids = {row.actor_id for row in rows if row.actor_id}
    actors = {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(actor_ids)))} \
        if actor_ids else {}
    items = []
    for row in rows:
        shown = objects.get(row.object_type, {}).get(row.object_id)
        if shown is None:
            continue  # removed, hidden or deleted since: not shown, the page is a little shorter
        actor = actors.get(row.actor_id)
        items.append({"id": row.id, "kind": row.kind, "created_at": row.created_at, "object": shown,
                      "actor": author_view(actor) if actor else None})
    return items
