"""Copies of allies' ideas: their lifecycle follows the origin instance, which decided it (its author
withdrew it, its moderators answered it). The copy takes the origin's state as it is, even when some
intermediate step never reached us, so no local transition rule applies. No events: nothing to tell."""

from __future__ import annotations

from flask_babel import gettext as _

from coopol.accounts.models import Member
from coopol.core.errors import PermissionDenied
from coopol.core.text import render_markdown
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.ideas.guards import lock_idea
from coopol.ideas.models import Idea, IdeaState

KEEP = object()


def sync_copy(idea: Idea, *, state: str | None = None, answer: str | None = None,
              answered_by: Member | None = None, withdrawn_reason: str | None = None,
              withdrawn_explanation: str | None = None, scope: object = KEEP) -> Idea:
    """Set the lifecycle, official answer and scope of a copy to what its origin says."""
    if idea.is_local:
        raise PermissionDenied(_("Only copies of allies' ideas follow their origin."))
    lock_idea(idea)
    now = utcnow()
    changed = False
    if state and state != IdeaState.DRAFT and state != idea.state:
        idea.state = state
        changed = True
    if state == IdeaState.WITHDRAWN and withdrawn_reason and withdrawn_reason != idea.withdrawn_reason:
        idea.withdrawn_reason = withdrawn_reason[:16]
        idea.withdrawn_explanation = withdrawn_explanation or None
        changed = True
    if answer and answer != idea.answer:
        idea.answer = answer
        idea.answer_html = render_markdown(answer)
        idea.answered_at = now
        if answered_by is not None:
            idea.answered_by_id = answered_by.id
        changed = True
    if scope is not KEEP and scope != idea.scope:
        idea.scope = scope  # type: ignore[assignment]
        changed = True
    if changed:
        idea.updated_at = now
        db.session.flush()
    return idea
