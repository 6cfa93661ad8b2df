"""`/ideas/{id}` and `/comments/{id}` answer ActivityPub JSON (a `Page`, a `Note`) to clients asking for
it (`Accept: application/activity+json`); browsers keep the pages. Only what anyone may read is served:
published, not hidden, not removed (a removed item is a `Tombstone`, 410).

A local idea's collections, paged (`?page=N`, oldest first), are what a new ally backfills from:
`/ideas/{id}/replies` (its comments, a removed or deleted one as a `Tombstone`, a hidden one left out),
`/ideas/{id}/likes` and `/dislikes` (supports, oppositions) and `/comments/{id}/likes` and `/dislikes`.
`/ideas/{id}/votes` (also on our copy of an ally's idea, and as `/ideas/votes?object=IDEA_URL`) lists every
vote we count with the signed activity behind it, for `coopol audit` (see vote_proofs.py).
Who voted is told to allies only: vote collections answer GETs signed by an allied instance."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, current_app, request
from sqlalchemy import Select, func, select

from coopol.accounts.models import Member
from coopol.core.schemas import parse_id
from coopol.extensions import db
from coopol.federation.content.objects import (
    comment_ap_id,
    comment_collections,
    comment_note,
    idea_ap_id,
    idea_page,
    vote_activity,
)
from coopol.federation.protocol import AS_CONTEXT
from coopol.ideas.models import Comment, CommentVote, Idea, IdeaState, IdeaVote

log = logging.getLogger("coopol.federation.content")
IDEA_PATH = re.compile(r"^/ideas/(\d+)$")
COMMENT_PATH = re.compile(r"^/comments/(\d+)$")
IDEA_COLLECTION = re.compile(r"^/ideas/(\d+)/(replies|likes|dislikes)$")
COMMENT_COLLECTION = re.compile(r"^/comments/(\d+)/(likes|dislikes)$")
IDEA_VOTES = re.compile(r"^/ideas/(\d+)/votes$")
COPY_VOTES = "/ideas/votes"  # ?object=IDEA_URL: the votes we hold on an ally's idea (our copy of it)
MAX_PAGES = 10_000


def _not_found() -> Response:
    from coopol.core.errors import error_body
    from coopol.federation.routes import _json

    response = _json(error_body(404, "No such public object."))
    response.status_code = 404
    return response


def _forbidden() -> Response:
    from coopol.core.errors import error_body
    from coopol.federation.routes import _json

    response = _json(error_body(403, "Votes are shown to allied instances only (sign the request)."))
    response.status_code = 403
    return response


def _tombstone(url: str, former: str) -> Response:
    from coopol.federation.routes import activity_response

    return activity_response({"@context": AS_CONTEXT, "id": url, "type": "Tombstone", "formerType": former}, 410)


def _shown_idea(idea_id: int | None, *, copies: bool = False) -> Idea | Response:
    """One of our published ideas (`copies`: or our copy of an ally's)."""
    idea = db.session.get(Idea, idea_id) if idea_id is not None else None
    if idea is None or not (idea.is_local or copies) or idea.state == IdeaState.DRAFT or idea.is_hidden:
        return _not_found()
    if idea.is_removed:
        return _tombstone(idea_ap_id(idea), "Page")
    return idea


def _shown_comment(comment_id: int | None, *, ours_only: bool) -> Comment | Response:
    """`ours_only`: the Note itself is served by its author's instance; its votes on our idea by us."""
    comment = db.session.get(Comment, comment_id) if comment_id is not None else None
    if comment is None or (ours_only and comment.ap_id is not None) or not comment.idea.is_local \
            or comment.idea.state == IdeaState.DRAFT or comment.idea.is_hidden or comment.is_hidden:
        return _not_found()
    if comment.is_removed or comment.is_deleted or comment.idea.is_removed:
        return _tombstone(comment_ap_id(comment), "Note")
    return comment


def serve_object() -> Response | None:
    if request.method != "GET":
        return None
    collection = _collection_request()
    if collection is not None:
        return collection
    idea_match, comment_match = IDEA_PATH.match(request.path), COMMENT_PATH.match(request.path)
    if not idea_match and not comment_match:
        return None
    from coopol.federation.routes import activity_response, wants_activitypub

    if not wants_activitypub():
        return None
    if idea_match:
        idea = _shown_idea(parse_id(idea_match.group(1)))
        return idea if isinstance(idea, Response) else activity_response(idea_page(idea))
    comment = _shown_comment(parse_id(comment_match.group(1)), ours_only=True)
    return comment if isinstance(comment, Response) else activity_response(comment_note(comment))


# ----------------------------------------------------------------------------------- collections


def _votes_request() -> Response | None:
    """`/ideas/{id}/votes` (ours, or our copy of an ally's idea) and `/ideas/votes?object=IDEA_URL`: every vote
    we hold on the idea with the signed activity behind it, for audits (vote_proofs.py); allies only."""
    from coopol.federation.content.resolve import find_idea
    from coopol.federation.content.vote_proofs import tally_per_party, vote_item, votes_query

    match = IDEA_VOTES.match(request.path)
    if match:
        shown = _shown_idea(parse_id(match.group(1)), copies=True)
        url = f"{current_app.config['URL']}{request.path}"
    elif request.path == COPY_VOTES:
        target = request.args.get("object", "")
        found = find_idea(target) if 0 < len(target) <= 2048 else None
        shown = _shown_idea(found.id if found is not None else None, copies=True)
        url = f"{current_app.config['URL']}{COPY_VOTES}?{urlencode({'object': target})}"
    else:
        return None
    if isinstance(shown, Response):
        return shown
    if not signed_by_ally():
        return _forbidden()
    target = idea_ap_id(shown)
    extra = {"votesOn": target, "tally": tally_per_party(shown)}
    return _paged(url, votes_query(shown), lambda row: vote_item(row, target), rows=True, extra=extra)


def _collection_request() -> Response | None:
    votes = _votes_request()
    if votes is not None:
        return votes
    idea_match, comment_match = IDEA_COLLECTION.match(request.path), COMMENT_COLLECTION.match(request.path)
    if idea_match:
        shown: Idea | Comment | Response = _shown_idea(parse_id(idea_match.group(1)))
        kind = idea_match.group(2)
    elif comment_match:
        shown = _shown_comment(parse_id(comment_match.group(1)), ours_only=False)
        kind = comment_match.group(2)
    else:
        return None
    if isinstance(shown, Response):
        return shown
    url = f"{current_app.config['URL']}{request.path}"
    if kind == "replies" and isinstance(shown, Idea):
        query = select(Comment).where(Comment.idea_id == shown.id, Comment.hidden_at.is_(None)).order_by(Comment.id)
        return _paged(url, query, _reply)
    if not signed_by_ally():
        return _forbidden()
    like = kind == "likes"
    if isinstance(shown, Idea):
        target = idea_ap_id(shown)
        query = (select(IdeaVote, Member).join(Member, Member.id == IdeaVote.member_id)
                 .where(IdeaVote.idea_id == shown.id, IdeaVote.value == ("support" if like else "oppose"))
                 .order_by(IdeaVote.id))
    else:
        target = comment_ap_id(shown)
        query = (select(CommentVote, Member).join(Member, Member.id == CommentVote.member_id)
                 .where(CommentVote.comment_id == shown.id, CommentVote.value == ("up" if like else "down"))
                 .order_by(CommentVote.id))
    return _paged(url, query, lambda row: vote_activity("Like" if like else "Dislike", row[1], target,
                                                         getattr(row[0], "ap_id", None)), rows=True)


def _reply(comment: Comment) -> dict[str, Any]:
    if comment.is_removed or comment.is_deleted:
        return {"id": comment_ap_id(comment), "type": "Tombstone", "formerType": "Note"}
    note = {k: v for k, v in comment_note(comment).items() if k != "@context"}
    return {**note, **comment_collections(comment)}


def _paged(url: str, query: Select, build: Callable[[Any], dict[str, Any]], *, rows: bool = False,
           extra: dict[str, Any] | None = None) -> Response:
    from coopol.federation.content.backfill import PAGE_SIZE  # one page size for every collection
    from coopol.federation.routes import activity_response

    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    raw = request.args.get("page")
    joiner = "&" if "?" in url else "?"
    if raw is None:
        return activity_response({"@context": AS_CONTEXT, "id": url, "type": "OrderedCollection",
                                  "totalItems": total, "first": f"{url}{joiner}page=1", **(extra or {})})
    page = parse_id(raw) or 1  # ASCII digits only: int() would fail on 4,301 of them (a 500)
    page = page if page <= MAX_PAGES else 1
    paged = query.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    found = list(db.session.execute(paged)) if rows else list(db.session.scalars(paged))
    document: dict[str, Any] = {"@context": AS_CONTEXT, "id": f"{url}{joiner}page={raw}",
                                "type": "OrderedCollectionPage", "partOf": url, "totalItems": total,
                                "orderedItems": [build(item) for item in found]}
    if page * PAGE_SIZE < total:
        document["next"] = f"{url}{joiner}page={page + 1}"
    return activity_response(document)


def signed_by_ally() -> bool:
    """Is this GET signed by a key of an allied instance (as our fetches are)?"""
    from coopol.federation.fetch import FetchError, cached_actor_for_key, fetch_actor, known_key, learn_key
    from coopol.federation.models import Ally
    from coopol.federation.protocol import ProtocolError
    from coopol.federation.signatures import SignatureError, SignedRequest, parse_signature, verify_request
    from coopol.federation.urls import UnsafeURL, host_of

    query = request.query_string.decode("latin-1")
    signed = SignedRequest(method=request.method, path=request.path + (f"?{query}" if query else ""),
                           headers=list(request.headers.items()), body=b"",
                           scheme=current_app.config["URL"].split(":", 1)[0])
    window = int(current_app.config.get("FEDERATION_SIGNATURE_WINDOW", 3600))
    try:
        key_id = parse_signature(signed).key_id
        host = host_of(key_id)
    except (SignatureError, UnsafeURL):
        return False
    ally = db.session.scalar(select(Ally).where(Ally.host == host))
    if ally is None or not ally.is_allied:
        return False
    cached = cached_actor_for_key(key_id)
    stored = cached.public_key_pem if cached is not None and cached.host == host else None
    for pem in dict.fromkeys(p for p in (known_key(key_id), stored) if p):
        try:
            verify_request(signed, pem, max_skew_seconds=window)
            return True
        except SignatureError:
            pass  # the key may have been rotated: ask its owner
    try:
        owner = fetch_actor(key_id.split("#", 1)[0], allow_host=host, key_id=key_id)
        verify_request(signed, owner.public_key_pem, max_skew_seconds=window)
    except (FetchError, ProtocolError, SignatureError, UnsafeURL) as error:
        log.info("an unverified GET of %s: %s", request.path, error)
        return False
    learn_key(key_id, owner.public_key_pem)  # the next GETs it signs need no fetch
    return True


def init_negotiation(app: Flask) -> None:
    app.before_request(serve_object)
