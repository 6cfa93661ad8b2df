"""The origin has the last word on its ideas: a refused action is taken back where it was done.

A person of an ally comments or votes on one of OUR ideas; the ally has already applied it to its copy.
When our rules refuse it (the person is banned here, the thread was locked or the idea closed while the
activity was on its way), our Group answers `Reject {actor: our Group, object: the activity}` to the
sender's instance (its shared inbox, else its Group's inbox).

Receiving a `Reject` from the Group of an ally whose idea our member acted on: we find the activity in
our own outbox (so a Reject can only name what we sent, to that ally's idea) and take its effect back
through `coopol.ideas.copies`: the comment is deleted, an edit of it undone (the version before it comes
back), the vote withdrawn (or put back to what it was before), a refused withdrawal restored. Repeats and
unknown ids change nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.errors import DomainError, PermissionDenied
from coopol.extensions import db
from coopol.federation.activities import InboxContext, register_handler
from coopol.federation.actors import group_id, local_member_for_actor
from coopol.federation.content.resolve import find_comment, find_idea
from coopol.federation.models import OutboxActivity
from coopol.federation.outbox import build_activity, enqueue_activity
from coopol.federation.protocol import ProtocolError, id_of, type_of
from coopol.ideas.models import Comment, Idea

log = logging.getLogger("coopol.federation.content")
REJECTABLE = ("Create", "Update", "Like", "Dislike", "Undo")
VOTE_VALUES = {"Like": ("support", "up"), "Dislike": ("oppose", "down")}
HISTORY_LIMIT = 500


# ------------------------------------------------------------------------------- outgoing


def send_reject(activity: dict[str, Any], ctx: InboxContext, reason: str) -> None:
    """Our Group tells the sender's instance that `activity` was refused (and why)."""
    if type_of(activity) not in REJECTABLE or ctx.ally is None or not ctx.ally.is_allied:
        return
    person = id_of(activity.get("actor"))
    rejected = {"id": activity["id"], "type": type_of(activity), "actor": person,
                "object": id_of(activity.get("object"))}
    reject = build_activity("Reject", group_id(), rejected, to=[person], summary=reason[:2000])
    enqueue_activity(reject, [ctx.ally.delivery_inbox])


# ------------------------------------------------------------------------------- incoming


def _verify(activity: dict[str, Any], ctx: InboxContext) -> None:
    if ctx.ally is None or ctx.actor_id != ctx.ally.group_id:
        raise PermissionDenied("Only the Group of an allied instance can reject what was sent to it.")


def _from_origin(idea: Idea | None, ctx: InboxContext) -> bool:
    return idea is not None and not idea.is_local and idea.origin_host == ctx.host


def _target(url: str | None) -> Idea | Comment | None:
    return find_comment(url) or find_idea(url)


def _vote_before(person: str, target: str, before_id: int) -> str | None:
    """Which way (Like, Dislike or None) our member's vote on `target` stood before activity `before_id`,
    from what we sent: the vote the origin still holds when it refused the change."""
    rows = db.session.scalars(select(OutboxActivity)
                              .where(OutboxActivity.actor == person, OutboxActivity.id < before_id,
                                     OutboxActivity.type.in_(("Like", "Dislike", "Undo")))
                              .order_by(OutboxActivity.id.desc()).limit(HISTORY_LIMIT))
    for row in rows:
        payload = row.payload
        inner = payload.get("object")
        if row.type in ("Like", "Dislike") and id_of(inner) == target:
            return row.type
        if row.type == "Undo" and isinstance(inner, dict) and id_of(inner.get("object")) == target:
            return None
    return None


def _take_back(sent: OutboxActivity, member: Member, ctx: InboxContext) -> bool:
    from coopol.federation.content.objects import parse_note
    from coopol.ideas.copies import retract_comment, retract_comment_edit, retract_comment_vote, retract_vote

    payload = sent.payload
    kind = type_of(payload)
    obj = payload.get("object")
    if kind == "Create":
        comment = find_comment(id_of(obj))
        if comment is None or comment.author_id != member.id or not _from_origin(comment.idea, ctx):
            return False
        return retract_comment(comment)
    if kind == "Update" and type_of(obj) == "Note":
        comment = find_comment(id_of(obj))
        if comment is None or comment.author_id != member.id or not _from_origin(comment.idea, ctx):
            return False
        note = parse_note(obj)
        return retract_comment_edit(comment, body=note.body, stance=note.stance)
    if kind in ("Like", "Dislike"):
        url, refused, back = id_of(obj), kind, _vote_before(sent.actor, id_of(obj) or "", sent.id)
    elif kind == "Undo" and isinstance(obj, dict) and type_of(obj) in VOTE_VALUES:
        url, refused, back = id_of(obj.get("object")), None, type_of(obj)
    else:
        return False
    target = _target(url)
    if target is None:
        return False
    if isinstance(target, Comment):
        if not _from_origin(target.idea, ctx):
            return False
        return retract_comment_vote(member, target, refused=VOTE_VALUES[refused][1] if refused else None,
                                    back_to=VOTE_VALUES[back][1] if back else None)
    if not _from_origin(target, ctx):
        return False
    return retract_vote(member, target, refused=VOTE_VALUES[refused][0] if refused else None,
                        back_to=VOTE_VALUES[back][0] if back else None)


def _receive(activity: dict[str, Any], ctx: InboxContext) -> None:
    rejected = id_of(activity.get("object"))
    sent = db.session.scalar(select(OutboxActivity).where(OutboxActivity.ap_id == rejected)) if rejected else None
    member = local_member_for_actor(sent.actor) if sent is not None else None
    if sent is None or member is None:
        log.info("Reject from %s of %s: not something our members sent", ctx.host, rejected)
        return
    try:
        with db.session.begin_nested():
            undone = _take_back(sent, member, ctx)
    except (DomainError, ProtocolError) as error:
        log.info("Reject from %s of %s cannot be applied: %s", ctx.host, rejected, error)
        return
    log.info("Reject from %s of %s (%s): %s", ctx.host, rejected, activity.get("summary") or "no reason",
             "taken back" if undone else "nothing to take back")


def register_handlers() -> None:
    for inner in REJECTABLE:
        register_handler("Reject", _receive, verify=_verify, inner_type=inner)
