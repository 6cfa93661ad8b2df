"""Domain events → outbox rows, in the same transaction as the change (FEP-1b12 roles):

- what happens on OUR ideas (published, edited, withdrawn, answered; comments, votes, their undoing,
  by our members) is wrapped by our Group in an `Announce` to every ally;
- what OUR members do on an ally's idea goes to that ally's Group only, which applies and relays it;
- our moderators' removals and locks of our content, and an erased member, are sent by our Group;
- a report on an ally's content is a `Flag` to that ally's Group.
Remote persons' actions reach us through the inbox, which announces them itself (see receive.py).

Followers from the wider fediverse (followers.py) are not allies: they receive only what a reader of the
party follows it for, new ideas, official answers and gatherings, each as an `Announce` by our Group
(of the `Page` itself, which Mastodon shows as a boosted link post with its title; of the `Update` for an
answer), one delivery per host. That Announce is written even when nobody follows yet: it is the
Group's public outbox.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from sqlalchemy import insert, select

from coopol.accounts.models import Member
from coopol.core.events import subscribe
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.federation.actors import group_id, member_actor_id
from coopol.federation.content.objects import (
    CONTEXT,
    _iso,
    actor_id,
    comment_ap_id,
    comment_note,
    idea_ap_id,
    idea_page,
    origin_group,
)
from coopol.federation.content.vote_proofs import keep_proof, sign_vote
from coopol.federation.followers import follower_inboxes
from coopol.federation.models import Ally, QueuedVote
from coopol.federation.outbox import ally_inboxes, build_activity, enqueue_activity, notify_workers
from coopol.federation.protocol import PUBLIC
from coopol.ideas.models import Comment, Idea, IdeaState


def _followers() -> str:
    return f"{group_id()}/followers"


def announce(activity: dict[str, Any]) -> None:
    """Our Group relays `activity` (about our content) to every ally. A signed one (a vote's FEP-8b32
    proof covers its `@context` and `audience`) is embedded exactly as it is."""
    if "proof" in activity:
        inner = activity
    else:
        inner = {k: v for k, v in activity.items() if k != "@context"}
        inner.setdefault("audience", group_id())
    targets = ally_inboxes()
    if targets:
        enqueue_activity(build_activity("Announce", group_id(), inner, to=[PUBLIC], cc=[_followers()],
                                        audience=group_id()), targets)


def announce_to_followers(obj: dict[str, Any], group: str | None = None) -> None:
    """Our Group (or a local group's, `group`) boosts `obj` (a Page, an Event, an Update) to its fediverse
    followers; the Announce is public and stays in the Group's outbox even with no follower."""
    actor = group or group_id()
    inner = {k: v for k, v in obj.items() if k != "@context"}
    enqueue_activity(build_activity("Announce", actor, inner, to=[PUBLIC], cc=[f"{actor}/followers"],
                                    audience=actor, published=utcnow().isoformat()), follower_inboxes(actor))


def _to_origin(activity: dict[str, Any], idea: Idea) -> None:
    """Send our member's action on an ally's idea to that ally's Group (nothing if no longer allied)."""
    ally = db.session.scalar(select(Ally).where(Ally.host == idea.origin_host))
    if ally is not None and ally.is_allied:
        activity.setdefault("audience", ally.group_id)
        enqueue_activity(activity, [ally.group_inbox])


def _send_from_group(kind: str, obj: Any, **extra: Any) -> None:
    targets = ally_inboxes()
    if targets:
        enqueue_activity(build_activity(kind, group_id(), obj, to=[PUBLIC], cc=[_followers()],
                                        audience=group_id(), **extra), targets)


def _as(member: Member) -> str:
    """The actor id of our member. Their key pair is not made here: generating an RSA-2048 key takes
    about 40 ms, which a member's first vote or comment would spend holding the database's write lock
    (on SQLite, every other writer's wait). The worker makes it when it signs the member's first
    delivery (`signer_for`), before any ally can have heard of the member; an actor document asked for
    earlier makes it in a short transaction of its own."""
    return actor_id(member)


def _member_activity(kind: str, member: Member, obj: Any, idea: Idea, **extra: Any) -> None:
    """`member` (ours) did `kind` on `idea`: announce it if the idea is ours, else send it to its origin."""
    if not _has_recipients(idea):
        return
    _as(member)
    activity = build_activity(kind, actor_id(member), obj, to=[PUBLIC], cc=[origin_group(idea) or PUBLIC],
                              **extra)
    activity["@context"] = CONTEXT
    if idea.is_local:
        announce(activity)
    else:
        _to_origin(activity, idea)


def _has_recipients(idea: Idea) -> bool:
    """Anyone to tell? (Saves building activities, and members' key pairs, on an instance without allies.)"""
    if idea.is_local:
        return bool(ally_inboxes())
    ally = db.session.scalar(select(Ally).where(Ally.host == idea.origin_host))
    return ally is not None and ally.is_allied


def _shared(idea: Idea) -> bool:
    return idea.is_local and idea.state != IdeaState.DRAFT and _has_recipients(idea)


# ---------------------------------------------------------------------------------- ideas


def on_idea_published(idea: Idea, **_: Any) -> None:
    if idea.is_local and idea.state != IdeaState.DRAFT:
        announce_to_followers(idea_page(idea))
    if _shared(idea):
        announce({**build_activity("Create", _as(idea.author), idea_page(idea)), "@context": CONTEXT})


def on_idea_changed(idea: Idea, actor: Member | None = None, **_: Any) -> None:
    if _shared(idea) and not idea.is_removed:
        who = actor if actor is not None and actor.is_local else idea.author
        announce({**build_activity("Update", _as(who), idea_page(idea)), "@context": CONTEXT})


def on_idea_answered(idea: Idea, actor: Member | None = None, **extra: Any) -> None:
    on_idea_changed(idea, actor=actor, **extra)
    if idea.is_local and idea.state != IdeaState.DRAFT and not idea.is_removed:
        who = actor if actor is not None and actor.is_local else idea.author
        announce_to_followers(build_activity("Update", _as(who), idea_page(idea)))


def on_event_published(event: Any = None, **_: Any) -> None:
    """Gatherings: the events package publishes `event_published`; the package that federates events
    registers how an event is written as an FEP-8a8e `Event` (`register_event_object`), and followers
    are sent an Announce of it. Until then there is nothing to send."""
    from flask import current_app

    to_object = current_app.extensions.get(EVENT_OBJECT)
    if event is not None and event.is_local and event.is_listed and to_object is not None:  # not an ally's copy
        obj = to_object(event)
        if obj is not None:
            announce_to_followers(obj)


EVENT_OBJECT = "coopol.federation.event_object"


def register_event_object(app: Flask, to_object: Any) -> None:
    """`to_object(event) -> dict | None`: the `Event` document of a published local gathering."""
    app.extensions[EVENT_OBJECT] = to_object


# ------------------------------------------------------------------------------- comments


def on_comment_posted(comment: Comment, idea: Idea, **_: Any) -> None:
    if comment.author.is_local and comment.ap_id is None:
        _member_activity("Create", comment.author, comment_note(comment), idea)


def on_comment_edited(comment: Comment, actor: Member, **_: Any) -> None:
    if actor.is_local and comment.ap_id is None:
        _member_activity("Update", actor, comment_note(comment), comment.idea)


def on_comment_deleted(comment: Comment, actor: Member, **_: Any) -> None:
    if not actor.is_local:
        return
    tombstone = {"id": comment_ap_id(comment), "type": "Tombstone"}
    if actor.id == comment.author_id and comment.ap_id is None:
        _member_activity("Delete", actor, tombstone, comment.idea)
    elif comment.idea.is_local:  # a moderator of ours deleted it: a removal on every ally
        _send_from_group("Delete", tombstone, summary="deleted by a moderator")


# ---------------------------------------------------------------------------------- votes


def _vote_object(kind: str, member: Member, target: str) -> dict[str, Any]:
    return {"type": kind, "actor": actor_id(member), "object": target}


def vote_activity(kind: str, member: Member, obj: Any, idea: Idea, target: Idea | Comment,
                  published: datetime) -> None:
    """A vote, or its Undo, with the time it was cast (microseconds): allies apply a member's votes in
    the order of these times, not in the order deliveries arrive (see clocks.py). It is signed by the
    member's Ed25519 key (FEP-8b32) and kept, whether or not anyone is told now: complete before it is
    signed (its audience is the idea's Group), and sent as signed. Made by the worker (vote_queue.py)."""
    audience = origin_group(idea)
    activity = build_activity(kind, actor_id(member), obj, to=[PUBLIC], cc=[audience or PUBLIC],
                              published=_iso(published))
    activity["@context"] = CONTEXT
    if audience:
        activity["audience"] = audience
    activity = sign_vote(member, activity)
    keep_proof(member, target, activity)
    if not _has_recipients(idea):
        return
    if idea.is_local:
        announce(activity)
    else:
        _to_origin(activity, idea)


def build_vote(member: Member, target: Idea | Comment, kind: str, undone: str | None, published: datetime) -> None:
    """The activity of a queued vote (see vote_queue.py): `kind` Like | Dislike, or Undo of `undone`."""
    url = comment_ap_id(target) if isinstance(target, Comment) else idea_ap_id(target)
    idea = target.idea if isinstance(target, Comment) else target
    obj: Any = _vote_object(undone or "Like", member, url) if kind == "Undo" else url
    vote_activity(kind, member, obj, idea, target, published)


def queue_vote(member: Member, target_type: str, target_id: int, kind: str, undone: str | None,
               at: datetime | None) -> None:
    """In the vote's transaction: `member`'s vote (`kind`; an Undo names the kind it `undone`) on the target."""
    db.session.execute(insert(QueuedVote.__table__).values(
        member_id=member.id, target_type=target_type, target_id=target_id, kind=kind, undone=undone,
        published_at=at or utcnow(), attempts=0, last_error=""))
    notify_workers()


# The vote's transaction only queues its activity (a small row): signing it takes about 1.2 ms, which the
# vote would spend holding the write lock. The time of the vote (`at`, the vote row's) is its `published`.
def on_vote_cast(idea: Idea, member: Member, value: str, previous: str | None = None, at: datetime | None = None,
                 **_: Any) -> None:
    if member.is_local:
        queue_vote(member, "idea", idea.id, "Like" if value == "support" else "Dislike", None, at)


def on_vote_withdrawn(idea: Idea, member: Member, previous: str, at: datetime | None = None, **_: Any) -> None:
    if member.is_local:
        queue_vote(member, "idea", idea.id, "Undo", "Like" if previous == "support" else "Dislike", at)


def on_comment_vote_cast(comment: Comment, member: Member, value: str | None, previous: str | None = None,
                         **_: Any) -> None:
    if not member.is_local:
        return
    if value is None:
        queue_vote(member, "comment", comment.id, "Undo", "Like" if previous == "up" else "Dislike", None)
    else:
        queue_vote(member, "comment", comment.id, "Like" if value == "up" else "Dislike", None, None)


# ----------------------------------------------------------------------------- moderation


def _target_url(target_type: str, target: Any) -> str | None:
    if target_type == "idea" and target.is_local:
        return idea_ap_id(target)
    if target_type == "comment" and target.idea.is_local:
        return comment_ap_id(target)
    return None


def on_content_removed(target_type: str, target: Any, action: Any = None, **_: Any) -> None:
    url = _target_url(target_type, target)
    if url:
        reason = getattr(action, "reason", "") or "removed by a moderator"
        _send_from_group("Delete", {"id": url, "type": "Tombstone"}, summary=reason)


def on_content_restored(target_type: str, target: Any, action: Any = None, **_: Any) -> None:
    """A removal reversed (restore, or an appeal upheld): allies restore their copies too."""
    url = _target_url(target_type, target)
    if url and "removed_at" in (getattr(action, "changes", None) or {}):
        _send_from_group("Undo", {"type": "Delete", "actor": group_id(), "object": url})


def on_thread_locked(idea: Idea, action: Any = None, **_: Any) -> None:
    if idea.is_local:
        _send_from_group("Lock", idea_ap_id(idea), summary=getattr(action, "reason", "") or "locked")


def on_thread_unlocked(idea: Idea, action: Any = None, **_: Any) -> None:
    if idea.is_local:
        _send_from_group("Undo", {"type": "Lock", "actor": group_id(), "object": idea_ap_id(idea)})


def on_report_filed(report: Any, target: Any, **_: Any) -> None:
    reporter = report.reporter
    if reporter is None or not reporter.is_local:
        return
    if report.target_type == "idea":
        idea, url = target, None if target.is_local else target.ap_id
    elif report.target_type == "comment":
        idea, url = target.idea, comment_ap_id(target)
    else:
        idea, url = None, target.ap_id if not target.is_local else None
    if idea is not None and idea.is_local or not url:
        return
    host = idea.origin_host if idea is not None else target.host
    ally = db.session.scalar(select(Ally).where(Ally.host == host))
    if ally is None or not ally.is_allied:
        return
    flag = build_activity("Flag", _as(reporter), [url], to=[ally.group_id], content=report.text or "",
                          reportReason=report.reason)
    flag["@context"] = CONTEXT
    enqueue_activity(flag, [ally.group_inbox])


def on_member_erasing(member: Member, **_: Any) -> None:
    """Our member erases their account: allies blank them too (sent by our Group, since the member's
    own key goes with the account)."""
    if member.is_local:
        person = member_actor_id(member.handle)
        _send_from_group("Delete", {"id": person, "type": "Person"})


EVENTS = {
    "idea_published": on_idea_published,
    "idea_updated": on_idea_changed,
    "idea_withdrawn": on_idea_changed,
    "idea_answered": on_idea_answered,
    "event_published": on_event_published,
    "comment_posted": on_comment_posted,
    "comment_edited": on_comment_edited,
    "comment_deleted": on_comment_deleted,
    "vote_cast": on_vote_cast,
    "vote_withdrawn": on_vote_withdrawn,
    "comment_vote_cast": on_comment_vote_cast,
    "content_removed": on_content_removed,
    "content_restored": on_content_restored,
    "thread_locked": on_thread_locked,
    "thread_unlocked": on_thread_unlocked,
    "report_filed": on_report_filed,
    "member_erasing": on_member_erasing,
}


def subscribe_all(app: Flask) -> None:
    for event, handler in EVENTS.items():
        subscribe(app, event, handler)
