"""The inbox dispatcher: one handler per activity type, each with *verify* then *receive* (Lemmy style).

`verify(activity, ctx)` runs in the request, before anything is stored, and rejects the request by
raising a `DomainError` (400/403...); it only reads (the inbox runs it in a read transaction: an actor it
fetches goes to `ctx.learned`, stored with the item). `receive(activity, ctx)` does the work once the
activity is stored, in the worker (inbox.py); if it raises, the item is left `errored` and retried.
A handler is `handshake` when a host that is not allied may send it (Follow, Accept, Reject, Undo of a
Follow); its `gate` then says whether this host may (asked again when the item is applied). `open_to`
lets a non-ally send a kind that allies send too (a follower's reply or like, see content/fediverse.py):
the alliance check is skipped when it says yes. Issue 6 registers Create, Update, Delete, Like,
Announce... the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from coopol.federation.models import Ally, RemoteActor
from coopol.federation.protocol import ActorInfo, type_of


@dataclass
class InboxContext:
    """Who sent an activity, as established by the inbox checks."""

    actor_id: str
    host: str
    actor: RemoteActor | None
    ally: Ally | None
    inbox_path: str
    # Actors the checks fetched (the sender's key, a voter's Multikey): stored with the item, not before.
    learned: list[ActorInfo] = field(default_factory=list)


Verify = Callable[[dict[str, Any], InboxContext], None]
Receive = Callable[[dict[str, Any], InboxContext], None]
Gate = Callable[[dict[str, Any], InboxContext], bool]


@dataclass(frozen=True)
class ActivityHandler:
    type: str
    receive: Receive
    verify: Verify | None = None
    inner_type: str | None = None
    gate: Gate | None = None  # set for handshake activities; others need a mutual alliance
    open_to: Gate | None = None  # besides allies, who may send this (a fediverse follower's reply or like)

    @property
    def handshake(self) -> bool:
        return self.gate is not None


_HANDLERS: dict[tuple[str, str | None], ActivityHandler] = {}


def register_handler(kind: str, receive: Receive, *, verify: Verify | None = None, inner_type: str | None = None,
                     gate: Gate | None = None, open_to: Gate | None = None) -> None:
    """Register the handler of activity `kind` (of an object of `inner_type`, e.g. Undo of a Follow)."""
    _HANDLERS[(kind, inner_type)] = ActivityHandler(kind, receive, verify, inner_type, gate, open_to)


def handler_for(activity: dict[str, Any]) -> ActivityHandler | None:
    kind = type_of(activity) or ""
    inner = type_of(activity.get("object"))
    return _HANDLERS.get((kind, inner)) or _HANDLERS.get((kind, None))


def registered_handler(kind: str, inner_type: str | None = None) -> ActivityHandler | None:
    """The handler registered for exactly (kind, inner_type): a later module wraps it to take a case over."""
    return _HANDLERS.get((kind, inner_type))


def registered_types() -> list[str]:
    return sorted({kind for kind, _ in _HANDLERS})
