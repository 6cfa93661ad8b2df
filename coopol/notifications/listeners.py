"""What the notifications package hears from the domains, and what it does: notices, feed lines, follows.

Every handler runs inside the publisher's transaction, so a notice commits or rolls back with its cause.
Replies, votes and answers that arrive from allies go through the same domain services, so they publish
the same events and notify like local ones.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.events import subscribe
from coopol.extensions import db
from coopol.ideas.models import Comment, Idea, IdeaVote
from coopol.ideas.services import idea_tags
from coopol.notifications import follows
from coopol.notifications.feed import record_activity, scope_topics
from coopol.notifications.mentions import mentioned_members
from coopol.notifications.models import FollowKind
from coopol.notifications.store import notify


def _idea_link(idea: Idea, comment: Comment | None = None) -> str:
    return f"/ideas/{idea.id}" + (f"#comment-{comment.id}" if comment is not None else "")


def _idea_topics(idea: Idea) -> list[tuple[str, str]]:
    return [("member", str(idea.author_id)), ("idea", str(idea.id)),
            *(("tag", name) for name in idea_tags(idea)), *scope_topics(idea.scope)]


def notify_mentions(members: list[Member], author: Member, idea: Idea, comment: Comment | None = None) -> None:
    """Tell each mentioned member once per idea or comment (the text and the ActivityPub tags may both name them)."""
    target_type, target_id = ("comment", comment.id) if comment is not None else ("idea", idea.id)
    for member in members:
        notify(member, "mention",
               lambda n: _("%(name)s mentioned you in “%(title)s”.", name=author.name, title=idea.title),
               actor=author, target_type=target_type, target_id=target_id, link=_idea_link(idea, comment),
               group_key=f"mention:{target_type}:{target_id}", once=True)


def on_idea_published(idea: Idea, **_rest: Any) -> None:
    record_activity("idea", idea.author, "idea", idea.id, _idea_topics(idea))
    notify_mentions(mentioned_members(idea.body), idea.author, idea)


def on_comment_posted(comment: Comment, idea: Idea, **_rest: Any) -> None:
    author = comment.author
    record_activity("comment", author, "comment", comment.id,
                    [("member", str(author.id)), ("idea", str(idea.id))])
    told: set[int] = set()
    if comment.parent_id is not None:
        parent = db.session.get(Comment, comment.parent_id)
        if parent is not None and not parent.is_deleted:
            told.add(parent.author_id)
            notify(parent.author, "reply",
                   lambda n: _("%(name)s replied to your comment on “%(title)s”.", name=author.name, title=idea.title)
                   if n == 1 else ngettext("%(num)d reply to your comment on “%(title)s”.",
                                           "%(num)d replies to your comment on “%(title)s”.", n, title=idea.title),
                   actor=author, target_type="comment", target_id=parent.id, link=_idea_link(idea, comment),
                   group_key=f"reply:{parent.id}")
    if idea.author_id not in told:
        told.add(idea.author_id)
        notify(idea.author, "comment",
               lambda n: _("%(name)s commented on your idea “%(title)s”.", name=author.name, title=idea.title)
               if n == 1 else ngettext("%(num)d new comment on your idea “%(title)s”.",
                                       "%(num)d new comments on your idea “%(title)s”.", n, title=idea.title),
               actor=author, target_type="idea", target_id=idea.id, link=_idea_link(idea, comment),
               group_key=f"comment:{idea.id}")
    notify_mentions([m for m in mentioned_members(comment.body) if m.id not in told], author, idea, comment)


def on_idea_answered(idea: Idea, actor: Member, previous_state: str, **_rest: Any) -> None:
    from coopol.ideas.labels import label

    record_activity("answer", actor, "idea", idea.id, [("idea", str(idea.id)), *(
        ("tag", name) for name in idea_tags(idea)), *scope_topics(idea.scope)])
    supporters = db.session.scalars(select(Member).join(IdeaVote, IdeaVote.member_id == Member.id).where(
        IdeaVote.idea_id == idea.id, IdeaVote.value == "support", Member.host.is_(None)))
    recipients = {m.id: m for m in (idea.author, *supporters, *follows.followers_of(FollowKind.IDEA, str(idea.id)))}

    def text(n: int) -> str:
        return _("The idea “%(title)s” has an official answer: %(state)s.", title=idea.title,
                 state=label("idea_state", idea.state))

    for member in recipients.values():
        notify(member, "answer", text, actor=actor, target_type="idea", target_id=idea.id,
               link=_idea_link(idea), group_key=f"answer:{idea.id}")


def on_vote_cast(idea: Idea, member: Member, value: str, previous: str | None, support_count: int | None = None,
                 **_rest: Any) -> None:
    threshold = int(current_app.config.get("SUPPORT_THRESHOLD") or 0)
    if threshold <= 0 or value != "support":
        return
    # The count the vote's write left (under the idea's lock); read the stored one when not given.
    support = support_count if support_count is not None else \
        db.session.scalar(select(Idea.support_count).where(Idea.id == idea.id)) or 0
    if support >= threshold:
        notify(idea.author, "threshold",
               lambda n: _("Your idea “%(title)s” reached %(count)d supports.", title=idea.title, count=threshold),
               target_type="idea", target_id=idea.id, link=_idea_link(idea),
               group_key=f"threshold:{idea.id}", once=True)


def on_moderation_notice(member: Member, kind: str, message: Any, link: str | None, action_id: int | None,
                         **_rest: Any) -> None:
    notify(member, kind, (lambda n: message()) if callable(message) else message, link=link, action_id=action_id)


def on_group_joined(group: Any, membership: Any, **_rest: Any) -> None:
    if membership.state == "active":
        follows.follow_target(membership.member, FollowKind.GROUP, str(group.id), group)


def on_membership_approved(group: Any, membership: Any, **_rest: Any) -> None:
    follows.follow_target(membership.member, FollowKind.GROUP, str(group.id), group)


def on_group_left(group: Any, member: Member, **_rest: Any) -> None:
    follows.unfollow_target(member, FollowKind.GROUP, str(group.id), group)


def init_listeners(app: Flask) -> None:
    subscribe(app, "idea_published", on_idea_published)
    subscribe(app, "comment_posted", on_comment_posted)
    subscribe(app, "idea_answered", on_idea_answered)
    subscribe(app, "vote_cast", on_vote_cast)
    subscribe(app, "moderation_notice", on_moderation_notice)
    subscribe(app, "group_joined", on_group_joined)
    subscribe(app, "membership_approved", on_membership_approved)
    subscribe(app, "group_left", on_group_left)
    subscribe(app, "group_member_removed", on_group_left)
