"""Replies and likes from followers who are not allies (followers.py): neither lost nor counted.

A follower (a Mastodon user following the party's Group) may reply to one of OUR ideas or comments and
like or dislike them; nothing else it sends applies, and nothing is fetched from its host (only allies
are fetched from). Per `fediverse_replies`:
- `moderated` (default): the reply is stored through the same domain service as any comment, then held
  (hidden, in the moderation queue) until a moderator approves it; the page then shows it as "from the
  fediverse";
- `open`: shown at once, marked the same way;
- `off`: acknowledged and ignored.
Their likes are kept apart (`FediverseVote`), shown as "12 from the fediverse", and never enter a party
tally (which only allies' members' votes make). Nothing of theirs is relayed to allies: moderation and
debate between parties stay between allies.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select

from coopol.extensions import db
from coopol.federation.activities import InboxContext
from coopol.federation.content import objects
from coopol.federation.content.people import member_for_actor
from coopol.federation.content.resolve import find_comment, find_idea
from coopol.federation.followers import is_follower
from coopol.federation.models import FediverseVote
from coopol.federation.outcomes import NotApplied
from coopol.federation.protocol import id_of, type_of
from coopol.ideas.models import Comment, Idea

FOLLOWER_KINDS = ("Create", "Like", "Dislike", "Undo")


def replies_mode() -> str:
    return current_app.config.get("FEDIVERSE_REPLIES", "moderated")


def follower_may_send(activity: dict[str, Any], ctx: InboxContext) -> bool:
    """Besides allies, an accepted follower may send a reply (Create of a Note), a like or dislike, or the
    Undo of one (`open_to` of those inbox handlers)."""
    kind, inner = type_of(activity), type_of(activity.get("object"))
    if kind not in FOLLOWER_KINDS:
        return False
    if kind == "Create" and inner != "Note":
        return False
    if kind == "Undo" and inner not in ("Like", "Dislike", None):
        return False
    return is_follower(ctx.actor_id)


def _local_target(url: str | None) -> Idea | Comment:
    """One of OUR ideas or comments (a follower acts on nothing else; nothing is fetched for it)."""
    target = find_comment(url) or find_idea(url)
    if target is None or not (target.idea if isinstance(target, Comment) else target).is_local:
        raise NotApplied(f"not one of our ideas or comments: {url}")
    return target


def _reply(activity: dict[str, Any], ctx: InboxContext) -> None:
    from coopol.ideas.services import post_comment
    from coopol.moderation.held import hold_for_review

    mode = replies_mode()
    if mode == "off":
        raise NotApplied("replies from the fediverse are off here")
    note = objects.parse_note(activity["object"])
    if note.author != ctx.actor_id:
        raise NotApplied("a reply is created by its author")
    if objects.is_local_id(note.id) or find_comment(note.id) is not None:
        raise NotApplied("already here")
    parent = _local_target(note.in_reply_to)
    idea = parent.idea if isinstance(parent, Comment) else parent
    comment = post_comment(member_for_actor(note.author, fetch=False), idea, body=note.body, stance=note.stance,
                           parent_id=parent.id if isinstance(parent, Comment) else None, ap_id=note.id,
                           origin_host=ctx.host, created_at=note.published)
    if mode == "moderated":
        hold_for_review("comment", comment)


def _vote(activity: dict[str, Any], ctx: InboxContext) -> None:
    target = _local_target(id_of(activity.get("object")))
    target_type = "comment" if isinstance(target, Comment) else "idea"
    kind = type_of(activity) or ""
    row = db.session.scalar(select(FediverseVote).where(FediverseVote.target_type == target_type,
                                                        FediverseVote.target_id == target.id,
                                                        FediverseVote.actor_id == ctx.actor_id))
    if row is not None and row.kind == kind:
        raise NotApplied("the same vote again")
    if row is None:
        row = FediverseVote(target_type=target_type, target_id=target.id, actor_id=ctx.actor_id, host=ctx.host)
        db.session.add(row)
    row.kind = kind
    row.activity_id = activity["id"]
    db.session.flush()


def _undo_vote(activity: dict[str, Any], ctx: InboxContext) -> None:
    vote = activity.get("object")
    if isinstance(vote, dict):
        if id_of(vote.get("actor")) not in (None, ctx.actor_id):
            raise NotApplied("an Undo names the actor's own vote")
        target = _local_target(id_of(vote.get("object")))
        where = (FediverseVote.target_type == ("comment" if isinstance(target, Comment) else "idea"),
                 FediverseVote.target_id == target.id)
    else:  # only the Like's id
        where = (FediverseVote.activity_id == id_of(vote),)
    gone = db.session.execute(delete(FediverseVote).where(FediverseVote.actor_id == ctx.actor_id, *where))
    if not gone.rowcount:
        raise NotApplied("no vote to undo")


def receive_from_follower(activity: dict[str, Any], ctx: InboxContext) -> None:
    """What a follower that is not an ally sent (the gate let only these kinds through)."""
    kind = type_of(activity)
    if kind == "Create" and type_of(activity.get("object")) == "Note":
        _reply(activity, ctx)
    elif kind in ("Like", "Dislike"):
        _vote(activity, ctx)
    elif kind == "Undo":
        _undo_vote(activity, ctx)
    else:
        raise NotApplied(f"{kind} from a follower is not for us")


def fediverse_votes(target_type: str, ids: list[int]) -> dict[int, dict[str, int]]:
    """{target id: {"support": likes, "oppose": dislikes}} of followers, for the pages ("from the fediverse")."""
    if not ids:
        return {}
    rows = db.session.execute(select(FediverseVote.target_id, FediverseVote.kind, func.count(FediverseVote.id))
                              .where(FediverseVote.target_type == target_type, FediverseVote.target_id.in_(ids))
                              .group_by(FediverseVote.target_id, FediverseVote.kind)).all()
    found: dict[int, dict[str, int]] = {}
    for target_id, kind, count in rows:
        found.setdefault(target_id, {"support": 0, "oppose": 0})["support" if kind == "Like" else "oppose"] = count
    return found
