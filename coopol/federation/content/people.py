"""Remote persons as `Member`s (host + ap_id): one row per actor id, so one person has one vote
across the federation, whichever instance relays their activities."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from coopol.accounts.models import Member, Status
from coopol.extensions import db
from coopol.federation.actors import local_member_for_actor
from coopol.federation.fetch import FetchError, cached_actor, fetch_actor, may_fetch_from, remember_actor
from coopol.federation.models import RemoteActor
from coopol.federation.protocol import ProtocolError
from coopol.federation.urls import UnsafeURL, host_of

HANDLE_CHARS = re.compile(r"[^a-z0-9_.-]")


def _username_from_url(actor_id: str) -> str:
    path = urlsplit(actor_id).path.rstrip("/")
    return path.rsplit("/", 1)[-1] or "someone"


def _handle(username: str, host: str) -> str:
    name = HANDLE_CHARS.sub("", (username or "someone").lower())[:60] or "someone"
    handle = f"{name}@{host}"[:120]
    if db.session.scalar(select(Member.id).where(Member.handle == handle)) is None:
        return handle
    return f"{name}.{secrets.token_hex(3)}@{host}"[:120]


def member_for_actor(actor_id: str, *, fetch: bool = True) -> Member:
    """Our member for `actor_id`: a local member, or the remote person (created on first sight, from the
    cached or fetched actor document; from the URL alone when the actor's host cannot be asked)."""
    local = local_member_for_actor(actor_id)
    if local is not None:
        return local
    member = db.session.scalar(select(Member).where(Member.ap_id == actor_id))
    if member is not None:
        return member
    try:
        host = host_of(actor_id)
    except UnsafeURL as error:
        raise ProtocolError(f"not an actor URL: {actor_id}") from error
    actor: RemoteActor | None = cached_actor(actor_id)
    if actor is None and fetch and may_fetch_from(host):
        try:
            actor = remember_actor(fetch_actor(actor_id))
        except (FetchError, UnsafeURL, ProtocolError):
            actor = None
    username = actor.preferred_username if actor is not None and actor.preferred_username else \
        _username_from_url(actor_id)
    display = (actor.name if actor is not None else "")[:100]
    member = Member(handle=_handle(username, host), display_name=display, host=host, ap_id=actor_id,
                    role="member", status=Status.ACTIVE.value, session_token=secrets.token_hex(16))
    try:
        with db.session.begin_nested():
            db.session.add(member)
    except IntegrityError:  # created meanwhile by a concurrent delivery
        member = db.session.scalar(select(Member).where(Member.ap_id == actor_id))
        if member is None:
            raise
    return member
