"""Federation endpoints: actors, collections, inboxes, WebFinger, NodeInfo.

Actor documents answer signed and unsigned GETs alike (they are public). Browsers asking for HTML
are sent to the matching page. Inbox POSTs carry no CSRF token: the HTTP signature authenticates them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, json, redirect, request, url_for
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.database import reading
from coopol.core.errors import DomainError, NotFound, error_body
from coopol.extensions import db
from coopol.federation import actors, discovery, inbox, outbox
from coopol.federation.models import OutboxActivity
from coopol.federation.protocol import (
    ACTIVITY_JSON,
    AS_CONTEXT,
    LD_JSON_PROFILE,
    is_activitypub_media_type,
    media_type,
)

bp = Blueprint("federation", __name__)

def wants_activitypub() -> bool:
    """True when the client lists an ActivityPub media type (with q > 0) in Accept."""
    for entry in request.headers.get("Accept", "").split(","):
        kind = media_type(entry)
        params = entry.split(";")[1:]
        if any(p.strip().replace(" ", "") in ("q=0", "q=0.0", "q=0.00", "q=0.000") for p in params):
            continue
        if kind == "application/activity+json" or (kind == "application/ld+json" and is_activitypub_media_type(entry)):
            return True
    return False


def activity_response(document: dict[str, Any], status: int = 200) -> Response:
    """Answer in the flavour asked for: ld+json with the AS profile, else activity+json."""
    asked_ld = any(media_type(e) == "application/ld+json" for e in request.headers.get("Accept", "").split(","))
    asked_activity = any(media_type(e) == ACTIVITY_JSON for e in request.headers.get("Accept", "").split(","))
    content_type = LD_JSON_PROFILE if asked_ld and not asked_activity else ACTIVITY_JSON
    response = Response(json.dumps(document), status=status, content_type=f"{content_type}; charset=utf-8"
                        if content_type == ACTIVITY_JSON else content_type)
    response.headers["Vary"] = "Accept"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _json(document: dict[str, Any], content_type: str = "application/json") -> Response:
    response = Response(json.dumps(document), content_type=content_type)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _collection(collection_id: str, items: list[Any], total: int | None = None) -> dict[str, Any]:
    return {"@context": AS_CONTEXT, "id": collection_id, "type": "OrderedCollection",
            "totalItems": len(items) if total is None else total, "orderedItems": items}


# ------------------------------------------------------------------------------------- actors


@bp.get("/actor")
def instance_actor():
    return activity_response(actors.instance_actor_document())


@bp.get("/actor/outbox")
def instance_outbox():
    return activity_response(_collection(f"{actors.instance_actor_id()}/outbox", []))


@bp.get(f"/g/{actors.GROUP_NAME}")
def group():
    if not wants_activitypub():
        return redirect(url_for("core.home"))
    return activity_response(actors.group_document())


OUTBOX_PAGE = 20


@bp.get(f"/g/{actors.GROUP_NAME}/outbox")
def group_outbox():
    """Public and paged: the collection names its first page; each page the next (older) one."""
    collection = f"{actors.group_id()}/outbox"
    if "page" not in request.args:
        total, _items = outbox.public_activities(limit=0)
        return activity_response({"@context": AS_CONTEXT, "id": collection, "type": "OrderedCollection",
                                  "totalItems": total, "first": f"{collection}?page=true",
                                  "last": f"{collection}?page=true&min_id=0"})
    before = request.args.get("max_id", "")
    before_id = int(before) if before.isdigit() and int(before) < 2**31 else None
    if request.args.get("min_id") == "0":  # the last page: the oldest activities
        total, rows = outbox.public_activities(limit=OUTBOX_PAGE, oldest=True)
    else:
        total, rows = outbox.public_activities(limit=OUTBOX_PAGE, before=before_id)
    page_id = f"{collection}?page=true" + (f"&max_id={before_id}" if before_id is not None else "")
    page: dict[str, Any] = {"@context": AS_CONTEXT, "id": page_id, "type": "OrderedCollectionPage",
                            "partOf": collection, "totalItems": total, "orderedItems": [item for _id, item in rows]}
    if len(rows) == OUTBOX_PAGE and request.args.get("min_id") != "0":
        page["next"] = f"{collection}?page=true&max_id={rows[-1][0]}"
    return activity_response(page)


@bp.get(f"/g/{actors.GROUP_NAME}/followers")
def group_followers():
    """Allies' Groups are listed; fediverse followers are counted, not named (a person's follows are theirs)."""
    from coopol.federation.followers import count_followers

    allies = actors.group_followers()
    return activity_response(_collection(f"{actors.group_id()}/followers", allies, len(allies) + count_followers()))


@bp.get(f"/g/{actors.GROUP_NAME}/moderators")
def group_moderators():
    return activity_response(_collection(f"{actors.group_id()}/moderators", actors.group_moderators()))


@bp.get(f"/g/{actors.GROUP_NAME}/featured")
def group_featured():
    """The pinned ideas (moderators pin them), newest pin first, as Pages."""
    from coopol.federation.content.objects import featured_pages

    return activity_response(_collection(f"{actors.group_id()}/featured", featured_pages()))


def _local_member_or_404(handle: str) -> Member:
    member = db.session.scalar(select(Member).where(Member.handle == handle, Member.host.is_(None)))
    if member is None or member.is_erased:
        raise NotFound(f"No member '{handle}'.")
    return member


@bp.get("/u/<handle>")
def member(handle: str):
    member = _local_member_or_404(handle)
    if not wants_activitypub():
        return redirect(url_for("accounts.profile", handle=member.handle))
    return activity_response(actors.member_document(member))


@bp.get("/u/<handle>/outbox")
@bp.get("/u/<handle>/followers")
@bp.get("/u/<handle>/following")
def member_collection(handle: str):
    """A member's outbox, followers and following: they exist and answer, and are empty (a member's own
    activities go through the Group; members do not follow across the fediverse yet)."""
    member = _local_member_or_404(handle)
    name = request.path.rsplit("/", 1)[1]
    return activity_response(_collection(f"{actors.member_actor_id(member.handle)}/{name}", []))


@bp.get("/activities/<uuid:activity_uuid>")
def activity(activity_uuid):
    ap_id = f"{actors.base_url()}/activities/{activity_uuid}"
    row = db.session.scalar(select(OutboxActivity).where(OutboxActivity.ap_id == ap_id))
    if row is None or not row.public:
        raise NotFound("No such public activity.")
    return activity_response(row.payload)


# -------------------------------------------------------------------------------------- inbox


@bp.post("/inbox")
@bp.post(f"/g/{actors.GROUP_NAME}/inbox")
@bp.post("/u/<handle>/inbox")
def receive(handle: str | None = None):
    # Errors are JSON whatever the sender's Content-Type: a peer, not a browser, reads them.
    try:
        if handle is not None:
            with reading():  # a read transaction: on SQLite, no write lock while the checks run
                try:
                    _local_member_or_404(handle)
                finally:
                    db.session.rollback()
        body, status = inbox.receive_activity(request)
    except DomainError as error:
        count = getattr(error, "count_refusal", None)
        if count is not None:  # a refusal federation health counts (a vote whose proof fails): nothing else kept
            db.session.rollback()
            count()
        response = _json(error_body(error.status_code, error.message, error.errors))
        response.status_code = error.status_code
        return response
    response = _json(body)
    response.status_code = status
    return response


# ------------------------------------------------------------------------------ discovery


@bp.get("/.well-known/webfinger")
def webfinger():
    return _json(discovery.webfinger(request.args.get("resource", "")), discovery.JRD_JSON)


@bp.get("/.well-known/host-meta")
def host_meta():
    response = Response(discovery.host_meta_xml(), mimetype=discovery.XRD_XML)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/.well-known/host-meta.json")
def host_meta_json():
    return _json(discovery.host_meta_json())


@bp.get("/.well-known/nodeinfo")
def nodeinfo_links():
    return _json(discovery.nodeinfo_links())


@bp.get("/nodeinfo/2.1")
def nodeinfo():
    return _json(discovery.nodeinfo(),
                 f'application/json; profile="{discovery.NODEINFO_SCHEMA}#"')
