"""What moderation acts on: an idea, a comment, a member, a group or a gathering (event), named by
`target_type` and `target_id` (a member by handle, a group by slug, a gathering by id).

Moderation reads the ideas models and sets their moderation columns; the ideas module never imports
moderation. Page paths follow the contract in API.md (`/ideas/{id}`, `/comments/{id}`, `/members/{handle}`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from coopol.accounts.models import Member
from coopol.accounts.services import find_member_by_reference
from coopol.core.errors import NotFound, ValidationFailed
from coopol.core.schemas import MAX_ID
from coopol.core.time import utcnow
from coopol.events.guards import can_view as can_view_event
from coopol.events.models import Event
from coopol.extensions import db
from coopol.groups.guards import can_view as can_view_group
from coopol.groups.models import Group
from coopol.groups.services import find_group
from coopol.ideas.models import Comment, Idea, IdeaVote
from coopol.moderation.labels import label
from coopol.moderation.models import TargetType

TARGET_TYPES = tuple(t.value for t in TargetType)
_MODELS: dict[str, type] = {TargetType.IDEA: Idea, TargetType.COMMENT: Comment, TargetType.MEMBER: Member,
                            TargetType.GROUP: Group, TargetType.EVENT: Event}
EXCERPT_LENGTH = 280


def check_target_type(target_type: str) -> str:
    if target_type not in TARGET_TYPES:
        raise ValidationFailed.field("target_type", _("Use one of: %(choices)s.", choices=", ".join(TARGET_TYPES)))
    return target_type


def load_target(target_type: str, target_id: int | str) -> Any:
    """The idea or comment with that id, or the member with that handle (`alice`, `alice@ally.example`
    for a remote member known here) or id. Anything else is a 422 or a 404, never a database error."""
    check_target_type(target_type)
    if isinstance(target_id, str) and target_type == TargetType.MEMBER:
        target = find_member_by_reference(target_id)
        if target is None:
            raise NotFound(f"No member '{target_id}'.")
        return target
    if target_type == TargetType.GROUP and isinstance(target_id, str):
        target = find_group(target_id)
        if target is None:
            raise NotFound(f"No group '{target_id[:64]}'.")
        return target
    if isinstance(target_id, bool) or not isinstance(target_id, int):
        raise ValidationFailed.field("target_id", f"A {target_type} is named by its id, a number.")
    target = db.session.get(_MODELS[target_type], target_id) if 1 <= target_id <= MAX_ID else None
    if target is None or (target_type in (TargetType.IDEA, TargetType.EVENT) and target.state == "draft"):
        raise NotFound(f"No {target_type} with id {target_id}.")
    return target


def visible_to(target_type: str, target: Any, member: Member) -> bool:
    """Whether the member may see the item at all (hidden items: their author and moderators only)."""
    from coopol.ideas.guards import can_view, content_visible

    if target_type == TargetType.IDEA:
        return can_view(target, member)
    if target_type == TargetType.COMMENT:
        return can_view(target.idea, member) and content_visible(target, member)
    if target_type == TargetType.GROUP:
        return can_view_group(target, member)
    if target_type == TargetType.EVENT:
        return can_view_event(target, member)
    return True


def author_of(target_type: str, target: Any) -> Member | None:
    """Who is affected by an action on the target: the author, or the member themselves."""
    if target_type == TargetType.MEMBER:
        return target
    if target_type == TargetType.GROUP:  # who started it answers for it (and may appeal)
        return db.session.get(Member, target.created_by_id) if target.created_by_id else None
    if target_type == TargetType.EVENT:  # who hosts it answers for it
        return target.organiser
    return target.author


def target_path(target_type: str, target: Any) -> str:
    if target_type == TargetType.IDEA:
        return f"/ideas/{target.id}"
    if target_type == TargetType.COMMENT:
        return f"/ideas/{target.idea_id}#comment-{target.id}"
    if target_type == TargetType.GROUP:
        return f"/groups/{target.slug}"
    if target_type == TargetType.EVENT:
        return f"/events/{target.id}"
    return f"/members/{target.handle}"


def target_label(target_type: str, target: Any) -> str:
    if target_type == TargetType.IDEA:
        return target.title
    if target_type == TargetType.COMMENT:
        return _("comment #%(id)s on “%(title)s”", id=target.id, title=target.idea.title)
    if target_type == TargetType.GROUP:
        return _("group “%(name)s”", name=target.name)
    if target_type == TargetType.EVENT:
        return _("gathering “%(title)s”", title=target.title)
    return f"@{target.handle}" if not target.is_erased else _("deleted member")


def public_target(target_type: str, target_id: int) -> dict[str, Any]:
    """A target as the public log shows it: a link, or a notice when it is removed or gone."""
    target = db.session.get(_MODELS.get(target_type, Member), target_id) if target_type in _MODELS else None
    view: dict[str, Any] = {"type": target_type, "id": target_id, "url": None, "label": None, "notice": None}
    if target is None:
        view["notice"] = _("This item no longer exists.")
    elif target_type != TargetType.MEMBER and target.removed_at is not None:
        view["notice"] = label("removed_notice", target_type)
    elif target_type != TargetType.MEMBER and target.hidden_at is not None:
        view["notice"] = label("hidden_notice", target_type)
    elif target_type == TargetType.MEMBER and target.is_erased:
        view["notice"] = _("This account was erased.")
    else:
        view["url"] = target_path(target_type, target)
        view["label"] = target_label(target_type, target)
    return view


def moderator_target(target_type: str, target: Any) -> dict[str, Any]:
    """Everything a moderator needs to judge: the content itself, its state and its context."""
    author = author_of(target_type, target)
    view: dict[str, Any] = {
        "type": target_type, "id": target.id, "url": target_path(target_type, target),
        "label": target_label(target_type, target),
        "author": author.handle if author is not None else None,
        "hidden": getattr(target, "hidden_at", None) is not None,
        "hidden_reason": getattr(target, "hidden_reason", None),
        "removed": getattr(target, "removed_at", None) is not None,
        "excerpt": "", "context": None, "new_account_votes": None,
    }
    if target_type == TargetType.IDEA:
        view.update(excerpt=_excerpt(target.body), state=target.state, locked=target.locked_at is not None,
                    pinned=target.pinned_at is not None, new_account_votes=new_account_vote_count(target.id),
                    votes=target.support_count + target.oppose_count)
    elif target_type == TargetType.COMMENT:
        view.update(excerpt=_excerpt(target.body),
                    context={"idea_id": target.idea_id, "idea_title": target.idea.title,
                             "parent_excerpt": _excerpt(db.session.get(Comment, target.parent_id).body)
                             if target.parent_id else None})
    elif target_type == TargetType.GROUP:
        view.update(excerpt=_excerpt(f"{target.name}: {target.description}"), locked=target.locked_at is not None,
                    state=target.state, members=target.member_count)
    elif target_type == TargetType.EVENT:
        view.update(excerpt=_excerpt(f"{target.title}: {target.description}"), locked=target.locked_at is not None,
                    state=target.state, going=target.going_count, starts_at=target.starts_at)
    else:
        view.update(excerpt=_excerpt(target.bio), status=target.status, suspended_until=target.suspended_until,
                    created_at=target.created_at)
    return view


def _excerpt(text: str | None) -> str:
    text = (text or "").strip()
    return text if len(text) <= EXCERPT_LENGTH else text[:EXCERPT_LENGTH - 1] + "…"


def new_account_vote_count(idea_id: int, hours: int = 24) -> int:
    """How many of the idea's votes come from accounts created in the last `hours` hours."""
    since = utcnow() - timedelta(hours=hours)
    return db.session.scalar(
        select(func.count(IdeaVote.id)).join(Member, Member.id == IdeaVote.member_id)
        .where(IdeaVote.idea_id == idea_id, Member.created_at >= since)) or 0

