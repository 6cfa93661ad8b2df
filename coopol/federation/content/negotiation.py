"""`/ideas/{id}` and `/comments/{id}` answer ActivityPub JSON (a `Page`, a `Note`) to clients asking for
it (`Accept: application/activity+json`); browsers keep the pages. Only what anyone may read is served:
published, not hidden, not removed (a removed item is a `Tombstone`, 410)."""

from __future__ import annotations

import re

from flask import Flask, Response, request

from coopol.extensions import db
from coopol.federation.content.objects import comment_ap_id, comment_note, idea_ap_id, idea_page
from coopol.federation.protocol import AS_CONTEXT
from coopol.ideas.models import Comment, Idea, IdeaState

IDEA_PATH = re.compile(r"^/ideas/(\d+)$")
COMMENT_PATH = re.compile(r"^/comments/(\d+)$")


def _not_found() -> Response:
    from coopol.core.errors import error_body
    from coopol.federation.routes import _json

    response = _json(error_body(404, "No such public object."))
    response.status_code = 404
    return response


def _tombstone(url: str, former: str) -> Response:
    from coopol.federation.routes import activity_response

    return activity_response({"@context": AS_CONTEXT, "id": url, "type": "Tombstone", "formerType": former}, 410)


def serve_object() -> Response | None:
    if request.method != "GET":
        return None
    idea_match, comment_match = IDEA_PATH.match(request.path), COMMENT_PATH.match(request.path)
    if not idea_match and not comment_match:
        return None
    from coopol.federation.routes import activity_response, wants_activitypub

    if not wants_activitypub():
        return None
    if idea_match:
        idea = db.session.get(Idea, int(idea_match.group(1)))
        if idea is None or not idea.is_local or idea.state == IdeaState.DRAFT or idea.is_hidden:
            return _not_found()
        if idea.is_removed:
            return _tombstone(idea_ap_id(idea), "Page")
        return activity_response(idea_page(idea))
    comment = db.session.get(Comment, int(comment_match.group(1)))
    if comment is None or comment.ap_id is not None or comment.idea.state == IdeaState.DRAFT \
            or comment.idea.is_hidden or comment.is_hidden:
        return _not_found()
    if comment.is_removed or comment.is_deleted or comment.idea.is_removed:
        return _tombstone(comment_ap_id(comment), "Note")
    return activity_response(comment_note(comment))


def init_negotiation(app: Flask) -> None:
    app.before_request(serve_object)
