"""Backfill: a new ally pulls the published ideas we already had, through our Group's paged collection
of ideas (`/g/ideas/ideas`, `?page=N`, oldest first so pages stay stable while new ideas arrive)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Flask, current_app, request
from sqlalchemy import event, func, select

from coopol.core.errors import DomainError
from coopol.core.uow import unit_of_work
from coopol.extensions import db
from coopol.federation.actors import GROUP_NAME, group_id
from coopol.federation.fetch import FetchError, fetch_document
from coopol.federation.protocol import AS_CONTEXT, ProtocolError
from coopol.federation.urls import UnsafeURL
from coopol.ideas.models import Idea, IdeaState

log = logging.getLogger("coopol.federation.content")
PAGE_SIZE = 20
MAX_PAGES = 10_000
SHARED_STATES = tuple(s.value for s in IdeaState if s != IdeaState.DRAFT)

bp = Blueprint("federation_content", __name__)


def collection_id() -> str:
    return f"{group_id()}/ideas"


def _shared_ideas():
    return select(Idea).where(Idea.origin_host.is_(None), Idea.state.in_(SHARED_STATES), Idea.hidden_at.is_(None),
                              Idea.removed_at.is_(None))


@bp.get(f"/g/{GROUP_NAME}/ideas")
def ideas_collection():
    from coopol.federation.content.objects import idea_page
    from coopol.federation.routes import activity_response

    total = db.session.scalar(select(func.count()).select_from(_shared_ideas().subquery())) or 0
    raw = request.args.get("page")
    if raw is None:
        return activity_response({"@context": AS_CONTEXT, "id": collection_id(), "type": "OrderedCollection",
                                  "totalItems": total, "first": f"{collection_id()}?page=1"})
    page = int(raw) if raw.isdigit() and 0 < int(raw) <= MAX_PAGES else 1
    ideas = list(db.session.scalars(_shared_ideas().order_by(Idea.id).offset((page - 1) * PAGE_SIZE)
                                    .limit(PAGE_SIZE)))
    document: dict[str, Any] = {"@context": AS_CONTEXT, "id": f"{collection_id()}?page={raw}",
                                "type": "OrderedCollectionPage", "partOf": collection_id(), "totalItems": total,
                                "orderedItems": [idea_page(idea) for idea in ideas]}
    if page * PAGE_SIZE < total:
        document["next"] = f"{collection_id()}?page={page + 1}"
    return activity_response(document)


@dataclass
class BackfillResult:
    total: int = 0
    seen: int = 0
    stored: int = 0
    skipped: int = 0


def backfill(host: str, progress: Callable[[BackfillResult], None] | None = None) -> BackfillResult:
    """Pull every published idea of the ally `host` into our copies (an idea already here is brought up
    to date). No transaction stays open while a page is fetched."""
    from coopol.federation.alliances import get_ally
    from coopol.federation.content.receive import Ignored, store_page

    with unit_of_work():
        ally = get_ally(host)
        if not ally.is_allied:
            raise DomainError(f"{ally.host} is not an ally (it is {ally.status}).")
        host, name, url = ally.host, ally.name, f"{ally.group_id}/ideas"
    result = BackfillResult()
    try:
        first = fetch_document(url)
        result.total = int(first.get("totalItems") or 0)
        next_url = first.get("first") if isinstance(first.get("first"), str) else None
        pages = 0
        while next_url and pages < MAX_PAGES:
            pages += 1
            page = fetch_document(next_url)
            items = page.get("orderedItems") if isinstance(page.get("orderedItems"), list) else []
            for item in items:
                result.seen += 1
                try:
                    with unit_of_work():
                        store_page(item, host, origin_name=name)
                    result.stored += 1
                except (Ignored, DomainError, ProtocolError) as error:
                    log.info("backfill of %s skipped an item: %s", host, error)
                    result.skipped += 1
            if progress:
                progress(result)
            following = page.get("next")
            next_url = following if isinstance(following, str) and following != next_url else None
    except (FetchError, UnsafeURL) as error:
        raise DomainError(f"Cannot read the ideas of {host}: {error}") from error
    finally:
        db.session.remove()
    return result


def _backfill_in_background(app: Flask, host: str) -> None:
    with app.app_context():
        try:
            result = backfill(host, lambda r: log.info("backfill from %s: %s/%s ideas read, %s stored", host,
                                                       r.seen, r.total, r.stored))
            log.info("backfill from %s done: %s stored, %s skipped", host, result.stored, result.skipped)
        except Exception:  # noqa: BLE001 - `coopol allies backfill HOST` can run it again
            log.exception("backfill from %s failed; run `coopol allies backfill %s`", host, host)
        finally:
            db.session.remove()


def on_alliance_formed(ally: Any, **_: Any) -> None:
    """Once the alliance is committed, pull the new ally's ideas in the background (the network is not
    waited on inside the transaction that formed the alliance)."""
    app = current_app._get_current_object()
    if not app.config.get("FEDERATION_AUTO_BACKFILL", not app.testing):  # tests opt in
        return
    host = ally.host

    def start(_session: Any) -> None:
        threading.Thread(target=_backfill_in_background, args=(app, host), name=f"coopol-backfill-{host}",
                         daemon=True).start()

    event.listen(db.session(), "after_commit", start, once=True)
