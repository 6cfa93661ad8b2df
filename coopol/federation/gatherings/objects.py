"""Wire shape of a gathering: an FEP-8a8e `Event` as Mobilizon sends it, readable by Mastodon as a link
post (`content`, `summary`, `url`), and its tolerant parser. No database here but the id helpers.

Privacy first: the online URL is not in the public document (it is shown to those going and the
organisers only); a `VirtualLocation` without `url` says that the gathering is online. An ally's person
going gets it privately, as `onlineUrl` (coopol:onlineUrl) on the `Accept` addressed to them alone
(publish.py), which their instance keeps for them only.
Counts: `participantCount` is who is going; `coopol:waitlistCount` the waitlist (ours; others ignore it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from coopol.events.models import Event, EventMode, EventState
from coopol.federation.actors import base_url, group_id
from coopol.federation.content.objects import COOPOL_TERMS, _datetime, actor_id, body_of
from coopol.federation.protocol import AS_CONTEXT, PUBLIC, ProtocolError, id_of, type_of

MZ = "https://joinmobilizon.org/ns#"
EVENT_TERMS = {
    **COOPOL_TERMS,
    "mz": MZ, "sc": "http://schema.org/", "ical": "http://www.w3.org/2002/12/cal/ical#",
    "PostalAddress": "sc:PostalAddress", "address": {"@id": "sc:address", "@type": "sc:PostalAddress"},
    "streetAddress": "sc:streetAddress", "VirtualLocation": "mz:VirtualLocation",
    "timezone": {"@id": "mz:timezone", "@type": "sc:Text"},
    "joinMode": {"@id": "mz:joinMode", "@type": "mz:joinModeType"},
    "participantCount": {"@id": "mz:participantCount", "@type": "sc:Number"},
    "maximumAttendeeCapacity": "sc:maximumAttendeeCapacity",
    "remainingAttendeeCapacity": "sc:remainingAttendeeCapacity",
    "eventStatus": {"@id": "ical:status", "@type": "ical:status"},
    "category": "mz:category", "isOnline": {"@id": "mz:isOnline", "@type": "sc:Boolean"},
    "anonymousParticipationEnabled": {"@id": "mz:anonymousParticipationEnabled", "@type": "sc:Boolean"},
    "waitlistCount": "coopol:waitlistCount", "waitlist": "coopol:waitlist", "mode": "coopol:mode",
    "onlineUrl": {"@id": "coopol:onlineUrl", "@type": "@id"},
}
CONTEXT: list[Any] = [AS_CONTEXT, EVENT_TERMS]
STATUS = {EventState.SCHEDULED.value: "CONFIRMED", EventState.POSTPONED.value: "TENTATIVE",
          EventState.CANCELLED.value: "CANCELLED"}
STATE_OF_STATUS = {"CONFIRMED": EventState.SCHEDULED.value, "TENTATIVE": EventState.POSTPONED.value,
                   "CANCELLED": EventState.CANCELLED.value}


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def online_link(event: Event) -> str | None:
    """What an `Accept` tells the person going: the link of an online or hybrid gathering, else None."""
    return event.online_url if event.mode != EventMode.IN_PERSON and event.online_url else None


def event_ap_id(event: Event) -> str:
    return event.ap_id or f"{base_url()}/events/{event.id}"


def host_actor(event: Event) -> str:
    """Who hosts it on the wire: its group's actor, else its organiser (else our party Group)."""
    from coopol.federation.groups.actors import group_actor_id

    if event.group is not None:
        return group_actor_id(event.group)
    if event.organiser is not None and not event.organiser.is_erased:
        return actor_id(event.organiser)
    return group_id()


def event_document(event: Event) -> dict[str, Any]:
    url = f"{base_url()}/events/{event.id}"
    ap_id = event_ap_id(event)
    local_start = event.starts_at.astimezone(ZoneInfo(event.timezone))
    when = local_start.strftime("%Y-%m-%d %H:%M")
    summary = f"{when} ({event.timezone})" + (f", {event.place_name}" if event.place_name else "")
    going = event.shown_going_count
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": ap_id,
        "type": "Event",
        "name": event.title,
        "summary": summary,
        "content": event.description_html + f'<p><a href="{url}">{url}</a></p>',
        "source": {"content": event.description, "mediaType": "text/markdown"},
        "mediaType": "text/html",
        "url": url,
        "attributedTo": host_actor(event),
        "audience": group_id(),
        "to": [PUBLIC],
        "cc": [group_id()],
        "startTime": _iso(event.starts_at),
        "endTime": _iso(event.ends_at),
        "timezone": event.timezone,
        "eventStatus": STATUS.get(event.state, "CONFIRMED"),
        "joinMode": "restricted" if event.requires_approval else "free",
        "anonymousParticipationEnabled": False,
        "category": "MOVEMENTS_POLITICS",
        "isOnline": event.mode == EventMode.ONLINE,
        "mode": event.mode,
        "participantCount": going,
        "waitlistCount": event.shown_waitlist_count,
        "waitlist": event.waitlist,
        "attendees": {"id": f"{ap_id}/attendees", "type": "OrderedCollection", "totalItems": going},
        "scope": event.scope,
        "published": _iso(event.published_at or event.created_at),
        "updated": _iso(max(event.updated_at, event.counts_at or event.updated_at)),
        "commentsEnabled": False,
    }
    if event.language and event.language != "und":
        document["contentMap"] = {event.language: event.description_html}
    if event.capacity is not None:
        document["maximumAttendeeCapacity"] = event.capacity
        document["remainingAttendeeCapacity"] = event.remaining_capacity
    locations: list[dict[str, Any]] = []
    if event.mode != EventMode.ONLINE and (event.place_name or event.place_address or event.latitude is not None):
        place: dict[str, Any] = {"type": "Place", "name": event.place_name or event.place_address or ""}
        if event.place_address:
            place["address"] = {"type": "PostalAddress", "streetAddress": event.place_address}
        if event.latitude is not None and event.longitude is not None:
            place["latitude"], place["longitude"] = event.latitude, event.longitude
        locations.append(place)
    if event.mode != EventMode.IN_PERSON:
        locations.append({"type": "VirtualLocation", "name": "Online"})
    if locations:
        document["location"] = locations[0] if len(locations) == 1 else locations
    if event.cancel_reason:
        document["coopol:cancelReason"] = event.cancel_reason
    return document


# -------------------------------------------------------------------------------------- parser


@dataclass
class EventData:
    id: str
    host: str | None  # attributedTo
    url: str | None
    fields: dict[str, Any]
    going: int | None
    waitlist: int | None
    updated: datetime | None = None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and 0 <= value < 2**31:
        return value
    if isinstance(value, dict):
        return _int(value.get("totalItems"))
    return None


def _place(doc: dict[str, Any]) -> tuple[dict[str, Any], bool, bool]:
    raw = doc.get("location")
    values: dict[str, Any] = {"place_name": None, "place_address": None, "latitude": None, "longitude": None}
    physical = online = False
    for item in raw if isinstance(raw, list) else [raw]:
        if not isinstance(item, dict):
            continue
        if type_of(item) == "VirtualLocation":
            online = True
            continue
        physical = True
        name = item.get("name") if isinstance(item.get("name"), str) else None
        address = item.get("address")
        if isinstance(address, dict):
            parts = [address.get(k) for k in ("streetAddress", "postalCode", "addressLocality", "addressCountry")]
            address = ", ".join(p for p in parts if isinstance(p, str) and p)
        values["place_name"] = (name or None) and name[:200]
        values["place_address"] = address[:500] if isinstance(address, str) and address else None
        for key, column, bound in (("latitude", "latitude", 90), ("longitude", "longitude", 180)):
            value = item.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool) and -bound <= value <= bound:
                values[column] = float(value)
    return values, physical, online


def parse_event(doc: Any) -> EventData:
    if not isinstance(doc, dict) or type_of(doc) != "Event":
        raise ProtocolError("not an Event")
    ap_id = id_of(doc)
    name = doc.get("name")
    start, end = _datetime(doc.get("startTime")), _datetime(doc.get("endTime"))
    if not ap_id or not isinstance(name, str) or not name.strip() or start is None:
        raise ProtocolError("an Event needs an id, a name and a startTime")
    if end is None or end <= start:
        end = start  # FEP-8a8e: no end given; shown as a point in time
    zone = doc.get("timezone") if isinstance(doc.get("timezone"), str) else "UTC"
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = "UTC"
    place, physical, online = _place(doc)
    mode = doc.get("mode") if doc.get("mode") in {m.value for m in EventMode} else (
        EventMode.HYBRID.value if physical and online else
        EventMode.ONLINE.value if online or doc.get("isOnline") is True else EventMode.IN_PERSON.value)
    status = doc.get("eventStatus") if isinstance(doc.get("eventStatus"), str) else "CONFIRMED"
    capacity = _int(doc.get("maximumAttendeeCapacity"))
    fields = {
        "title": " ".join(name.split())[:200],
        "description": body_of(doc, 20_000),
        "starts_at": start, "ends_at": end, "timezone": zone, "mode": mode, **place,
        "capacity": capacity if capacity else None,
        "waitlist": doc.get("waitlist") is not False,
        "requires_approval": doc.get("joinMode") in ("restricted", "invite"),
        "state": STATE_OF_STATUS.get(status.upper(), EventState.SCHEDULED.value),
        "cancel_reason": doc.get("coopol:cancelReason") if isinstance(doc.get("coopol:cancelReason"), str) else None,
    }
    language = doc.get("contentMap")
    if isinstance(language, dict) and language:
        first = next(iter(language))
        if isinstance(first, str) and 2 <= len(first) <= 16:
            fields["language"] = first
    going = _int(doc.get("participantCount"))
    if going is None:
        going = _int(doc.get("attendees"))
    return EventData(id=ap_id, host=id_of(doc.get("attributedTo")) if not isinstance(doc.get("attributedTo"), list)
                     else next((id_of(a) for a in doc["attributedTo"] if id_of(a)), None),
                     url=doc.get("url") if isinstance(doc.get("url"), str) else None, fields=fields,
                     going=going, waitlist=_int(doc.get("waitlistCount")), updated=_datetime(doc.get("updated")))
