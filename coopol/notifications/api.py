"""Follows, the home feed, notifications and preferences (`/api/v1`): thin handlers over the services."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _

from coopol.accounts.auth import require_member
from coopol.accounts.services import author_view
from coopol.core.errors import ValidationFailed
from coopol.core.schemas import Blueprint
from coopol.notifications import blocks, feed, follows, preferences, schemas, store
from coopol.notifications.models import FollowKind, Notification

blp = Blueprint("notifications_api", __name__, url_prefix="/api/v1",
                description="Following, the home feed, notifications and their preferences")


def notification_view(n: Notification, actors: dict[int, Any]) -> dict[str, Any]:
    actor = actors.get(n.actor_id)
    url = n.link if not n.link or "://" in n.link else current_app.config["URL"].rstrip("/") + n.link
    return {"id": n.id, "kind": n.kind, "read": n.read_at is not None, "created_at": n.created_at,
            "count": n.count or 1, "text": n.message, "message": n.message, "link": n.link, "read_at": n.read_at,
            "target": {"type": n.target_type, "id": n.target_id, "url": url},
            "actor": author_view(actor) if actor else None}


def notification_views(rows: list[Notification]) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from coopol.accounts.models import Member
    from coopol.extensions import db

    ids = {n.actor_id for n in rows if n.actor_id}
    actors = {m.id: m for m in db.session.scalars(select(Member).where(Member.id.in_(ids)))} if ids else {}
    return [notification_view(n, actors) for n in rows]


@blp.get("/notifications")
@blp.arguments(schemas.NotificationQuerySchema, location="query")
@blp.response(200, schemas.NotificationListSchema)
@blp.errors(401, 422)
def list_notifications(args):
    """My notifications, newest first (`unread=true`: only those not read yet)."""
    member = require_member()
    rows, next_cursor = store.list_notifications(member, cursor=args["cursor"], limit=args["limit"],
                                                 unread=args["unread"])
    return {"items": notification_views(rows), "next_cursor": next_cursor, "unread": store.unread_count(member)}


@blp.post("/notifications/read")
@blp.arguments(schemas.MarkReadSchema)
@blp.response(200, schemas.MarkedSchema)
@blp.errors(401, 404, 422)
def mark_read(data):
    """Mark one notification (`id`), several (`ids`) or all of them (`all`, or an empty body) read."""
    member = require_member()
    chosen = [name for name in ("id", "ids", "all") if data[name] not in (None, False)]
    if len(chosen) > 1:
        raise ValidationFailed.field(chosen[-1], _("Send one of id, ids or all."))
    if data["all"] is False and not chosen:
        raise ValidationFailed.field("all", _("Send one of id, ids or all: true."))
    which = data["id"] if data["id"] is not None else data["ids"]
    return {"marked": store.mark_read(member, which)}


@blp.get("/feed")
@blp.arguments(schemas.CursorQuerySchema, location="query")
@blp.response(200, schemas.FeedSchema)
@blp.errors(401, 422)
def home_feed(args):
    """What the members, ideas, groups, tags and scopes I follow did, newest first."""
    items, next_cursor = feed.feed_page(require_member(), cursor=args["cursor"], limit=args["limit"])
    return {"items": items, "next_cursor": next_cursor}


@blp.get("/me/preferences")
@blp.response(200, schemas.PreferencesSchema)
@blp.errors(401)
def get_preferences():
    """Where each kind of notice goes (web, email, off), the e-mail digest, private follow lists."""
    return preferences.get_preferences(require_member())


@blp.patch("/me/preferences")
@blp.arguments(schemas.PreferencesUpdateSchema)
@blp.response(200, schemas.PreferencesSchema)
@blp.errors(401, 422)
def update_preferences(data):
    """Change some of my choices; the others stay."""
    return preferences.update_preferences(require_member(), **data)


@blp.get("/me/following")
@blp.response(200, schemas.FollowListSchema)
@blp.errors(401)
def my_following():
    """What I follow, by kind."""
    return follows.list_following(require_member())


def _following(kind: str, reference: Any, wanted: bool) -> dict[str, Any]:
    member = require_member()
    if wanted:
        row = follows.follow(member, kind, reference)
        return {"following": True, "state": row.state}
    follows.unfollow(member, kind, reference)
    return {"following": False, "state": "none"}


def _follow_routes(path: str, kind: str, name: str, doc: str) -> None:
    def put(**kwargs):
        return _following(kind, next(iter(kwargs.values())), True)

    def delete(**kwargs):
        return _following(kind, next(iter(kwargs.values())), False)

    put.__doc__, delete.__doc__ = f"Follow {doc}.", f"Stop following {doc}."
    put.__name__, delete.__name__ = f"follow_{name}", f"unfollow_{name}"
    for method, view in (("PUT", put), ("DELETE", delete)):
        view = blp.errors(401, 404, 422)(blp.response(200, schemas.FollowingSchema)(view))
        blp.route(path, methods=[method], endpoint=view.__name__)(view)


_follow_routes("/members/<handle>/follow", FollowKind.MEMBER, "member",
               "a member (`alice`, or `alice@ally.example` through ActivityPub)")
_follow_routes("/ideas/<int:idea_id>/follow", FollowKind.IDEA, "idea", "an idea")
_follow_routes("/groups/<slug>/follow", FollowKind.GROUP, "group", "a group")
_follow_routes("/tags/<tag>/follow", FollowKind.TAG, "tag", "a tag")
_follow_routes("/scopes/<code>/follow", FollowKind.SCOPE, "scope", "a territory (and the scopes below it)")


@blp.put("/members/<handle>/block")
@blp.response(200, schemas.BlockingSchema)
@blp.errors(401, 404, 422)
def block_member(handle: str):
    """Block a member (`alice`, or `alice@ally.example`): follows between us end, they cannot follow me, I get
    no notice from them. Private: never federated, never shown to them."""
    blocks.block_member(require_member(), handle)
    return {"blocked": True}


@blp.delete("/members/<handle>/block")
@blp.response(200, schemas.BlockingSchema)
@blp.errors(401, 404, 422)
def unblock_member(handle: str):
    """Unblock a member (follows the block ended do not come back)."""
    blocks.unblock_member(require_member(), handle)
    return {"blocked": False}


@blp.get("/me/blocks")
@blp.arguments(schemas.CursorQuerySchema, location="query")
@blp.response(200, schemas.BlockListSchema)
@blp.errors(401, 422)
def my_blocks(args):
    """Whom I block, newest first."""
    rows, next_cursor = blocks.list_blocks(require_member(), cursor=args["cursor"], limit=args["limit"])
    return {"items": [{**author_view(m), "created_at": b.created_at} for b, m in rows], "next_cursor": next_cursor}
