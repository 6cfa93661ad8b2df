"""Wire shapes of ActivityPub: media types, contexts, and tolerant parsing of other servers' documents.

Parsing here accepts what Mastodon, Lemmy and Fedify-based servers publish (extra fields, `publicKey`
as an object or a list, `endpoints.sharedInbox` or not, ids given as strings or embedded objects) and
rejects only what we cannot use. No database, no Flask: the behaviour lives in the other modules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coopol.federation.proofs import multikeys_of

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTOR_CONTEXT: list[Any] = [AS_CONTEXT, SECURITY_CONTEXT]

ACTIVITY_JSON = "application/activity+json"
LD_JSON_PROFILE = f'application/ld+json; profile="{AS_CONTEXT}"'
# Media types we accept on fetched documents and inbox POSTs (plain JSON too: several servers use it).
AP_MEDIA_TYPES = frozenset({"application/activity+json", "application/ld+json"})
JSON_MEDIA_TYPES = AP_MEDIA_TYPES | {"application/json"}

ACTOR_TYPES = frozenset({"Person", "Group", "Application", "Service", "Organization"})
# The alliance handshake: the only activities a host that is not (yet) allied may exchange with us.
HANDSHAKE_TYPES = frozenset({"Follow", "Accept", "Reject"})


class ProtocolError(ValueError):
    """A document we cannot use: missing or malformed fields."""


def media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def is_activitypub_media_type(content_type: str | None) -> bool:
    """`application/activity+json`, or `application/ld+json` (with the AS profile, or none)."""
    kind = media_type(content_type)
    if kind == "application/activity+json":
        return True
    if kind == "application/ld+json":
        params = (content_type or "").split(";")[1:]
        profiles = [p.split("=", 1)[1].strip().strip('"') for p in params
                    if p.strip().lower().startswith("profile=")]
        return not profiles or any(AS_CONTEXT in p.split() for p in profiles)
    return False


def id_of(value: Any) -> str | None:
    """The id of a reference: a string, or an embedded object's `id`."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def type_of(value: Any) -> str | None:
    if isinstance(value, dict):
        kind = value.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if isinstance(k, str)), None)
        return kind if isinstance(kind, str) else None
    return None


def is_handshake(activity: dict[str, Any]) -> bool:
    """Follow, Accept, Reject, or Undo of a Follow: allowed before (and after) an alliance."""
    kind = type_of(activity)
    if kind in HANDSHAKE_TYPES:
        return True
    return kind == "Undo" and type_of(activity.get("object")) == "Follow"


@dataclass(frozen=True)
class ActorInfo:
    """What we use of a remote actor document."""

    id: str
    type: str
    preferred_username: str
    name: str
    inbox: str
    shared_inbox: str | None
    key_id: str
    key_owner: str
    public_key_pem: str
    # (key id, publicKeyMultibase) of the Ed25519 Multikeys in `assertionMethod` (FEP-521a): vote proofs
    proof_keys: tuple[tuple[str, str], ...] = ()


def _string(doc: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = doc.get(name)
    if isinstance(value, str) and value:
        return value
    if required:
        raise ProtocolError(f"actor document has no usable {name!r}")
    return ""


def parse_actor(doc: Any, *, key_id: str | None = None) -> ActorInfo:
    """Read an actor document; `key_id` picks one of several keys (else the first RSA one)."""
    if not isinstance(doc, dict):
        raise ProtocolError("actor document is not a JSON object")
    actor_type = type_of(doc)
    if actor_type not in ACTOR_TYPES:
        raise ProtocolError(f"not an actor type: {actor_type!r}")
    actor_id = _string(doc, "id")
    keys = doc.get("publicKey")
    candidates = keys if isinstance(keys, list) else [keys]
    candidates = [k for k in candidates if isinstance(k, dict) and isinstance(k.get("publicKeyPem"), str)]
    if key_id is not None:
        candidates = [k for k in candidates if k.get("id") == key_id]
    if not candidates:
        raise ProtocolError("actor document has no matching publicKey" if key_id else "actor has no publicKey")
    key = candidates[0]
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    shared = endpoints.get("sharedInbox")
    name = doc.get("name")
    return ActorInfo(
        id=actor_id,
        type=actor_type,
        preferred_username=_string(doc, "preferredUsername", required=False),
        name=name if isinstance(name, str) else "",
        inbox=_string(doc, "inbox"),
        shared_inbox=shared if isinstance(shared, str) and shared else None,
        key_id=_string(key, "id"),
        key_owner=id_of(key.get("owner")) or "",
        public_key_pem=key["publicKeyPem"],
        proof_keys=tuple(_multikeys(doc, actor_id).items()),
    )


def _multikeys(doc: dict[str, Any], actor_id: str) -> dict[str, str]:
    return multikeys_of({**doc, "id": actor_id})


def activity_summary(activity: Any) -> tuple[str, str, str]:
    """(id, type, actor id) of an activity, or ProtocolError."""
    if not isinstance(activity, dict):
        raise ProtocolError("an activity must be a JSON object")
    activity_id, kind, actor = activity.get("id"), type_of(activity), id_of(activity.get("actor"))
    if not isinstance(activity_id, str) or not activity_id:
        raise ProtocolError("the activity has no id")
    if not kind:
        raise ProtocolError("the activity has no type")
    if not actor:
        raise ProtocolError("the activity has no actor")
    return activity_id, kind, actor
