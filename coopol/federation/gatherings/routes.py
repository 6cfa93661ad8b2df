"""`/events/<id>` answers the FEP-8a8e `Event` to clients asking for ActivityPub JSON (browsers keep the
page), and `/events/<id>/attendees` its count (who goes is not listed to the world). Only a listed local
gathering: a removed one is a `Tombstone` (410); a draft, hidden one or a copy a 404."""

from __future__ import annotations

import re

from flask import Response, request

from coopol.core.schemas import parse_id
from coopol.events.models import Event
from coopol.extensions import db
from coopol.federation.gatherings.objects import event_ap_id, event_document
from coopol.federation.protocol import AS_CONTEXT

EVENT_PATH = re.compile(r"^/events/(\d{1,10})(/attendees)?$")


def serve_event() -> Response | None:
    if request.method not in ("GET", "HEAD"):
        return None
    match = EVENT_PATH.match(request.path)
    if not match:
        return None
    from coopol.federation.content.negotiation import _not_found
    from coopol.federation.routes import activity_response, wants_activitypub

    if not wants_activitypub():
        return None
    event_id = parse_id(match.group(1))  # ASCII digits in range only: int() reads "١" as 1
    event = db.session.get(Event, event_id) if event_id is not None else None
    if event is None or not event.is_local or event.is_draft or event.hidden_at is not None:
        return _not_found()
    if event.removed_at is not None:
        return activity_response({"@context": AS_CONTEXT, "id": event_ap_id(event), "type": "Tombstone",
                                  "formerType": "Event"}, 410)
    if match.group(2):
        return activity_response({"@context": AS_CONTEXT, "id": f"{event_ap_id(event)}/attendees",
                                  "type": "OrderedCollection", "totalItems": event.going_count, "orderedItems": []})
    return activity_response(event_document(event))
