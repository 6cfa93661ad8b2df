"""Who may do what to which idea: checks shared by every service of this module."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.errors import AuthenticationFailed, Conflict, PermissionDenied
from coopol.extensions import db
from coopol.ideas.models import COMMENTING_STATES, VOTING_STATES, Comment, Idea, IdeaState


def ensure_can_act(member: Member | None) -> Member:
    if member is None or not getattr(member, "is_authenticated", False):
        raise AuthenticationFailed(_("Please log in first."))
    if member.is_erased:
        raise PermissionDenied(_("This account was erased."))
    if member.is_restricted():
        raise PermissionDenied(_("Your account is suspended or banned: you cannot do this now."))
    return member


def ensure_confirmed_email_to_vote(member: Member) -> None:
    """With `require_confirmed_email_to_vote`, a local member votes once their address is confirmed
    (coopol/mail); remote members' instances vouch for their own."""
    if (current_app.config.get("REQUIRE_CONFIRMED_EMAIL_TO_VOTE") and member.is_local
            and member.email_confirmed_at is None):
        raise PermissionDenied(_("Confirm your e-mail address before voting: see your e-mail settings."))


# Checks that other modules add without this module knowing them (the federation: a member banned by an
# ally may not comment or vote on copies of that ally's ideas). `check(member, idea, action)`, with
# action "comment", "vote" or "comment_vote", raises a DomainError to refuse; it runs before anything
# is written.
ActionCheck = Callable[[Member, Idea, str], None]
_CHECKS = "coopol.ideas.action_checks"


def add_action_check(app: Flask, check: ActionCheck) -> None:
    app.extensions.setdefault(_CHECKS, []).append(check)


def ensure_allowed(member: Member, idea: Idea, action: str) -> None:
    for check in current_app.extensions.get(_CHECKS, ()):
        check(member, idea, action)


def is_moderator(viewer: Member | None) -> bool:
    return bool(viewer is not None and getattr(viewer, "is_authenticated", False) and viewer.is_moderator
                and viewer.is_local)


def is_author(idea_or_comment: Idea | Comment, viewer: Member | None) -> bool:
    return viewer is not None and getattr(viewer, "id", None) == idea_or_comment.author_id


def can_view(idea: Idea, viewer: Member | None) -> bool:
    if idea.state == IdeaState.DRAFT:
        return is_author(idea, viewer)
    if idea.is_hidden:
        return is_author(idea, viewer) or is_moderator(viewer)
    return True


def content_visible(item: Idea | Comment, viewer: Member | None) -> bool:
    """Removed and hidden content shows a notice instead, except to its author and to moderators."""
    if not (item.is_removed or item.is_hidden):
        return True
    return is_author(item, viewer) or is_moderator(viewer)


def ensure_author(idea_or_comment: Idea | Comment, actor: Member, what: str) -> None:
    if idea_or_comment.author_id != actor.id:
        raise PermissionDenied(_("Only the author can %(what)s.", what=what))


def ensure_not_moderated(idea: Idea) -> None:
    if idea.is_removed:
        raise Conflict(_("This idea was removed by the moderators."))
    if idea.is_locked:
        raise Conflict(_("This idea is locked: no new comments or votes."))


def ensure_open_for_votes(idea: Idea) -> None:
    ensure_not_moderated(idea)
    if idea.state not in VOTING_STATES:
        if idea.state == IdeaState.DRAFT:
            raise Conflict(_("This idea is a draft: it cannot receive votes until it is published."))
        if idea.state == IdeaState.WITHDRAWN:
            raise Conflict(_("This idea was withdrawn by its author: voting is closed."))
        raise Conflict(_("This idea was decided: voting is closed."))


def ensure_open_for_comments(idea: Idea) -> None:
    ensure_not_moderated(idea)
    if idea.state not in COMMENTING_STATES:
        if idea.state == IdeaState.DRAFT:
            raise Conflict(_("This idea is a draft: it cannot be discussed until it is published."))
        raise Conflict(_("This idea was withdrawn: the debate is closed."))


def lock_idea(idea: Idea) -> Idea:
    """Reload the idea and hold its row until the end of the transaction (PostgreSQL: FOR UPDATE;
    SQLite: write transactions are already serialised by BEGIN IMMEDIATE)."""
    db.session.scalars(select(Idea).where(Idea.id == idea.id).with_for_update(of=Idea.__table__)
                       .execution_options(populate_existing=True)).one()
    return idea


def lock_comment(comment: Comment) -> Comment:
    db.session.scalars(select(Comment).where(Comment.id == comment.id)
                       .with_for_update(of=Comment.__table__)
                       .execution_options(populate_existing=True)).one()
    return comment
