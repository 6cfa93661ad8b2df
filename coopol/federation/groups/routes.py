"""ActivityPub on the groups' addresses: `/groups/<slug>` answers the `Group` actor to clients asking
for ActivityPub JSON (browsers keep the page), with its inbox, outbox, followers, members and
moderators collections. Only a listed local group is served: a removed one is a `Tombstone` (410), a
hidden one, a copy of an ally's group or an unknown slug a 404."""

from __future__ import annotations

import re

from flask import Blueprint, Response, request
from sqlalchemy import func, select

from coopol.core.errors import DomainError, NotFound, error_body
from coopol.extensions import db
from coopol.federation.groups.actors import group_actor_document, group_actor_id, organiser_actor_ids
from coopol.federation.models import OutboxActivity
from coopol.federation.protocol import AS_CONTEXT
from coopol.groups.models import Group
from coopol.groups.validation import is_slug

bp = Blueprint("federation_groups", __name__)
GROUP_PATH = re.compile(r"^/groups/([a-z0-9-]+)(/members)?$")
OUTBOX_LIMIT = 20


def _shown(slug: str) -> Group | Response:
    from coopol.federation.routes import activity_response

    group = db.session.scalar(select(Group).where(Group.slug == slug)) if is_slug(slug) else None
    if group is None or not group.is_local or group.hidden_at is not None:
        raise NotFound(f"No group '{slug[:64]}'.")
    if group.removed_at is not None:
        return activity_response({"@context": AS_CONTEXT, "id": group_actor_id(group), "type": "Tombstone",
                                  "formerType": "Group"}, 410)
    return group


def serve_group_actor() -> Response | None:
    """before_request: the actor document on `Accept: application/activity+json`."""
    if request.method not in ("GET", "HEAD"):
        return None
    match = GROUP_PATH.match(request.path)
    if not match:
        return None
    from coopol.federation.routes import activity_response, wants_activitypub

    if not wants_activitypub():
        return None
    try:
        shown = _shown(match.group(1))
    except NotFound as error:
        return _error(error)
    if isinstance(shown, Response):
        return shown
    if match.group(2):  # who belongs is not listed to the world (privacy first): how many is
        return _collection(f"{group_actor_id(shown)}/members", [], shown.member_count)
    return activity_response(group_actor_document(shown))


def _error(error: DomainError) -> Response:
    from coopol.federation.routes import _json

    response = _json(error_body(error.status_code, error.message, error.errors))
    response.status_code = error.status_code
    return response


def _collection(url: str, items: list, total: int | None = None) -> Response:
    from coopol.federation.routes import activity_response

    return activity_response({"@context": AS_CONTEXT, "id": url, "type": "OrderedCollection",
                              "totalItems": len(items) if total is None else total, "orderedItems": items})


def _group_or_response(slug: str) -> Group | Response:
    try:
        return _shown(slug)
    except NotFound as error:
        return _error(error)


@bp.get("/groups/<slug>/outbox")
def outbox(slug: str):
    group = _group_or_response(slug)
    if isinstance(group, Response):
        return group
    actor = group_actor_id(group)
    where = (OutboxActivity.public.is_(True), OutboxActivity.actor == actor)
    total = db.session.scalar(select(func.count(OutboxActivity.id)).where(*where)) or 0
    rows = db.session.scalars(select(OutboxActivity).where(*where).order_by(OutboxActivity.id.desc())
                              .limit(OUTBOX_LIMIT))
    return _collection(f"{actor}/outbox", [row.payload for row in rows], total)


@bp.get("/groups/<slug>/moderators")
def moderators(slug: str):
    group = _group_or_response(slug)
    if isinstance(group, Response):
        return group
    return _collection(f"{group_actor_id(group)}/moderators", organiser_actor_ids(group))


@bp.get("/groups/<slug>/followers")
def followers(slug: str):
    """Allies see the group through the party Group; its fediverse followers are counted, not listed."""
    from coopol.federation.followers import count_followers

    group = _group_or_response(slug)
    if isinstance(group, Response):
        return group
    actor = group_actor_id(group)
    return _collection(f"{actor}/followers", [], count_followers(actor))


@bp.post("/groups/<slug>/inbox")
def inbox(slug: str):
    from coopol.federation.routes import receive

    group = _group_or_response(slug)
    if isinstance(group, Response):
        return group
    return receive()
