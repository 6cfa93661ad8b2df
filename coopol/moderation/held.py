"""Content held for a moderator before anyone sees it (replies from the wider fediverse, see
federation/content/fediverse.py): hidden automatically and put in the moderation queue as an open
report. The queue's usual decisions apply: *dismiss* approves it (an automatic hide is lifted with the
reports), *remove* refuses it."""

from __future__ import annotations

from typing import Any

from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.moderation.models import ActionKind, Report, ReportReason
from coopol.moderation.services import _apply, _record
from coopol.moderation.targets import author_of

HELD_REASON = "Held for review: a reply from the fediverse (a follower, not an allied party's member)."


def hold_for_review(target_type: str, target: Any, note: str = HELD_REASON) -> Report:
    """Hide `target` (a comment or an idea) until a moderator decides; its author files the queue entry
    (a held item has no other reporter), which dismissing approves."""
    now = utcnow()
    changes = _apply(target, {"hidden_at": now, "hidden_reason": note})
    _record(None, ActionKind.HIDE, target_type, target, note, changes)
    author = author_of(target_type, target)
    report = Report(reporter_id=author.id, target_type=target_type, target_id=target.id,
                    reason=ReportReason.OTHER.value, text=note, created_at=now)
    db.session.add(report)
    db.session.flush()
    return report
