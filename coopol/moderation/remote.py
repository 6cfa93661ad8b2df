"""Decisions of an ally's moderators on its own content (removals, locks), applied to our copies.

They land in our public log like our own actions, without a local moderator, the reason saying which
instance decided. No event is published: the decision came from elsewhere, there is nothing to send."""

from __future__ import annotations

from typing import Any

from coopol.core.time import utcnow
from coopol.moderation.models import ActionKind, ModerationAction
from coopol.moderation.services import _change_item, _record

REMOTE_KINDS = frozenset({ActionKind.REMOVE, ActionKind.RESTORE, ActionKind.LOCK, ActionKind.UNLOCK})


def apply_remote_decision(kind: str, target_type: str, target: Any, reason: str, decided_by: str) -> ModerationAction:
    """Apply `kind` (remove, restore, lock, unlock) as decided on `decided_by`; raises Conflict when it
    is already in that state (a repeated decision changes nothing)."""
    if kind not in REMOTE_KINDS:
        raise ValueError(f"{kind} is not applied from another instance")
    text = f"{(reason or '').strip()[:1800] or kind} (decided by {decided_by})"
    changes = _change_item(kind, target_type, target, text, utcnow())
    return _record(None, kind, target_type, target, text, changes)
