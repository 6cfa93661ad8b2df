"""Inbox handlers for ideas, debate, votes and moderation: each checks who may say what, then calls
the same domain services as a local action, with the remote person as the acting member.

Two ways in (FEP-1b12):
- *direct*: a person of an ally acts on one of OUR ideas (Create Note, Like, Dislike, Undo, Update,
  Delete, Flag sent to our Group). We apply it and our Group `Announce`s it to every ally.
- *announced*: an ally's Group relays what happened on ITS ideas (its members' and its allies'
  actions). We apply it to our copy. Our own members' actions coming back are already applied.
Moderation decisions on an ally's content (Delete with a summary, Lock, Undo of them) come from that
ally's Group or from a moderator it lists (Lemmy's moderators act in their own name; the same check as
for the bans it relays, see bans.py); a Delete of a Person from that person or their instance's Group.
An author deletes their own post and restores it (`Undo(Delete)`), not a moderator's removal of it.
An ally's Group may relay a post written by a person of a third instance (a Lemmy community has members
everywhere): it is taken when it is in that Group and its author is fetched and verified on their host.
Lemmy's quirks: its Undo of a Dislike embeds a `Like` (the actor's vote goes, whatever the inner kind);
an Update of a comment we never saw is its Create.

Whatever cannot apply (a banned person, a closed idea, a repeat, a kind we do not support) is
acknowledged, changes nothing and is recorded `ignored` with its reason (`outcomes.NotApplied`);
a target we cannot find yet is retried by the worker (`Retry`), since deliveries may cross. A direct
comment, comment edit or vote on one of our ideas that our rules refuse is also answered with a `Reject`
to the sender's instance, which takes it back on its copy (see rejections.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.errors import DomainError, PermissionDenied
from coopol.extensions import db
from coopol.federation.activities import InboxContext, register_handler
from coopol.federation.content import clocks, objects
from coopol.federation.content.people import member_for_actor
from coopol.federation.content.rejections import send_reject
from coopol.federation.content.resolve import fetchable, find_comment, find_idea, names_local_idea
from coopol.federation.content.vote_proofs import VOTE_KINDS, keep_proof, verify_vote_proof
from coopol.federation.fetch import FetchError, fetch_actor, fetch_document, remember_actor
from coopol.federation.outcomes import NotApplied
from coopol.federation.protocol import ProtocolError, id_of, type_of
from coopol.federation.urls import UnsafeURL, host_of
from coopol.ideas.models import Comment, CommentVote, Idea, IdeaVote

log = logging.getLogger("coopol.federation.content")
MAX_FETCH_DEPTH = 8
AUTHOR_DELETED = "deleted by its author"


class Ignored(Exception):
    """The activity is acknowledged but changes nothing (not ours to apply, or already applied)."""


class Unchanged(Ignored):
    """Ignored too, but what it taught us is kept: the time of a vote that was already the person's (or
    of an Undo with no vote left to take back) moves their vote clock (clocks.py)."""


class Retry(Exception):
    """What the activity refers to has not reached us yet: the worker retries the item later."""


class Refused(Exception):
    """Our rules refused a person's direct action on one of our ideas (banned here, thread locked, idea
    closed...): nothing is applied, and the sender's instance is told (`Reject`)."""

    def __init__(self, error: DomainError) -> None:
        super().__init__(error.message)
        self.error = error


@dataclass
class Sender:
    actor: str  # who acted (the inner activity's actor when announced)
    ctx: InboxContext  # who delivered it: the ally
    announced: bool

    @property
    def host(self) -> str:
        return self.ctx.host

    @property
    def ally_group(self) -> str | None:
        return self.ctx.ally.group_id if self.ctx.ally is not None else None

    @property
    def origin_name(self) -> str:
        return (self.ctx.ally.name if self.ctx.ally is not None else "") or self.host


def _host(url: str | None) -> str | None:
    try:
        return host_of(url or "")
    except UnsafeURL:
        return None


def _member(actor: str) -> Member:
    return member_for_actor(actor)


def _announce(activity: dict[str, Any]) -> None:
    from coopol.federation.content.publish import announce

    announce(activity)


def _missing(url: str | None) -> Exception:
    """A target we lack: ours means it does not exist (nothing to do); an ally's may still be on its way."""
    if not url or objects.is_local_id(url) or not fetchable(url):
        return Ignored(f"no such idea or comment here: {url}")
    return Retry(f"{url} has not reached us")


@contextmanager
def _refusable(idea: Idea, sender: Sender) -> Iterator[None]:
    """A domain refusal of a direct action on our idea becomes `Refused` (answered with a Reject)."""
    try:
        yield
    except DomainError as error:
        if idea.is_local and not sender.announced:
            raise Refused(error) from error
        raise


def _idea_of(target: Idea | Comment) -> Idea:
    return target.idea if isinstance(target, Comment) else target


def _authorised_on(idea: Idea, sender: Sender) -> bool:
    """Our idea: only its debaters act, directly. An ally's idea: only its origin relays."""
    if idea.is_local:
        return not sender.announced and sender.actor == sender.ctx.actor_id
    return idea.origin_host == sender.host


def resolve_target(url: str | None, depth: int = 0) -> Idea | Comment | None:
    """The idea or comment `url` names, fetching (and storing) it from an ally when we lack it. None when
    it cannot be had now (not an ally, network trouble); ProtocolError when it never will (gone, unusable)."""
    if not url:
        return None
    found = find_idea(url) if names_local_idea(url) else (find_comment(url) or find_idea(url))
    if found is not None or depth >= MAX_FETCH_DEPTH:
        return found
    base = current_app.config["URL"]
    if base and url.startswith(base + "/"):
        return None
    if not fetchable(url):
        return None
    try:
        document = fetch_document(url)
    except (FetchError, UnsafeURL) as error:
        if " answered 404" in str(error) or " answered 410" in str(error):
            raise ProtocolError(f"{url} is gone") from error
        log.info("could not fetch %s: %s", url, error)
        return None  # perhaps later: the caller retries
    if type_of(document) == "Page":
        return store_page(document, host_of(url))
    if type_of(document) == "Note":
        return store_note(document, host_of(url), depth=depth + 1)
    raise ProtocolError(f"{url} is a {type_of(document)}, not an idea or a comment")


# ----------------------------------------------------------------------------------- ideas


def _verified_author(author: str) -> None:
    """The author of a post that an ally's Group relays from a third instance: fetched from their own host
    (the fetch rules hold: ActivityPub content type, id equal to the URL, no private address outside test
    mode) and cached, so that their member row is made from what their host says."""
    try:
        remember_actor(fetch_actor(author, allow_host=host_of(author)))
    except UnsafeURL as error:
        raise Ignored(f"{author} cannot be fetched: {error}") from error
    except FetchError as error:
        if error.status_hint in (400, 403):
            raise Ignored(f"{author} cannot be verified: {error}") from error
        raise Retry(f"{author} cannot be verified now: {error}") from error


def store_page(document: dict[str, Any], host: str, *, origin_name: str | None = None,
               actor: Member | None = None, create_only: bool = False, relayed_by: str | None = None) -> Idea:
    """Create or bring up to date our copy of an ally's idea (`host` is the ally it came from).
    `create_only`: a Create arriving after an Update (a peer back from an outage) must not undo it.
    `relayed_by`: the ally's Group announced it, on behalf of `actor`; the post may then be written by a
    person of a third instance (a Lemmy community has members everywhere), when it is in that Group and
    its author, whose post it is (same host), is verified on their own host."""
    from coopol.ideas.copies import sync_copy
    from coopol.ideas.services import EDITABLE_STATES, create_idea, update_idea

    page = objects.parse_page(document)
    if objects.is_local_id(page.id):
        raise Ignored("our own idea")
    from coopol.federation.models import Ally

    ally = db.session.scalar(select(Ally).where(Ally.host == host))
    if ally is not None and page.audience and page.audience != ally.group_id:
        raise Ignored(f"{page.id} is not in {host}'s Group")
    if _host(page.id) != host or _host(page.author) != host:
        third = _host(page.author)
        if relayed_by is None or ally is None or relayed_by != ally.group_id or page.audience != ally.group_id \
                or third is None or _host(page.id) != third or objects.is_local_id(page.author):
            raise Ignored(f"{page.id} is not an idea of {host}")
        if actor is not None and actor.ap_id != page.author:
            raise Ignored("a person of another instance posts only their own ideas")
        if find_idea(page.id) is None:
            _verified_author(page.author)
    author = _member(page.author)
    idea = find_idea(page.id)
    if idea is not None and create_only:
        return idea
    if idea is None:
        idea = create_idea(author, title=page.title, body=page.body, tags=page.tags, scope=page.scope,
                           language=page.language, publish=True, ap_id=page.id, origin_host=host,
                           origin_name=(origin_name or (ally.name if ally else "") or host)[:200],
                           url=page.url, published_at=page.published)
        _notify_tagged(page.mentions, author, idea)
    elif idea.author_id == author.id and idea.state in EDITABLE_STATES and not idea.is_removed:
        update_idea(author, idea, title=page.title, body=page.body, tags=page.tags, language=page.language)
    posted_in = _group_copy(page.group, host)
    if page.state and page.state != idea.state or page.answer != idea.answer or page.scope != idea.scope \
            or getattr(posted_in, "id", None) != idea.group_id:
        sync_copy(idea, state=page.state, answer=page.answer, answered_by=actor if actor is not author else None,
                  withdrawn_reason=page.withdrawn_reason, withdrawn_explanation=page.withdrawn_explanation,
                  scope=page.scope, group=posted_in)
    if page.locked and not idea.is_locked:
        _decide("lock", "idea", idea, "comments closed", host)
    return idea


def _group_copy(group_ap_id: str | None, host: str):
    """Our copy of the ally's group an idea was posted in, if we have one (never one of ours, nor a third
    party's: an ally posts only in its own groups)."""
    from coopol.groups.copies import find_copy

    group = find_copy(group_ap_id)
    return group if group is not None and not group.is_local and group.origin_host == host else None


def _on_page(activity: dict[str, Any], sender: Sender) -> None:
    if objects.is_local_id(sender.actor):
        raise Ignored("our own member")
    if _host(sender.actor) != sender.host:  # a third instance's person, relayed: their member comes verified
        if not sender.announced:
            raise Ignored("a person acts through their own instance")
        if objects.parse_page(activity["object"]).author != sender.actor:
            raise Ignored("a person of another instance posts only their own ideas")
        actor = None
    else:
        actor = _member(sender.actor)
    store_page(activity["object"], sender.host, origin_name=sender.origin_name, actor=actor,
               create_only=type_of(activity) == "Create", relayed_by=sender.ally_group if sender.announced else None)


# -------------------------------------------------------------------------------- comments


def store_note(document: dict[str, Any], host: str, *, depth: int = 0) -> Comment:
    """Our copy of a comment fetched from its author's instance (a parent we missed)."""
    note = objects.parse_note(document)
    if _host(note.id) != host or _host(note.author) != host:
        raise Ignored(f"{note.id} is not a comment of {host}")
    existing = find_comment(note.id)
    if existing is not None:
        return existing
    parent = resolve_target(note.in_reply_to, depth)
    if parent is None:
        raise _missing(note.in_reply_to)
    return add_comment(note, parent)


def add_comment(note: objects.NoteData, parent: Idea | Comment) -> Comment:
    """Our copy of a remote person's comment below `parent`, through the domain service (relayed,
    fetched or backfilled)."""
    from coopol.ideas.services import post_comment

    comment = post_comment(_member(note.author), _idea_of(parent), body=note.body, stance=note.stance,
                           parent_id=parent.id if isinstance(parent, Comment) else None, ap_id=note.id,
                           origin_host=_host(note.id), created_at=note.published)
    _notify_tagged(note.mentions, comment.author, comment.idea, comment)
    return comment


def _notify_tagged(actor_ids: list[str], author: Member, idea: Idea, comment: Comment | None = None) -> None:
    """Our members named by an incoming object's `Mention` tags are told (once, with those its text names)."""
    from coopol.federation.actors import local_member_for_actor
    from coopol.notifications.listeners import notify_mentions

    members = [m for m in (local_member_for_actor(a) for a in dict.fromkeys(actor_ids)) if m is not None]
    if members:
        notify_mentions(members, author, idea, comment)


def _on_create_note(activity: dict[str, Any], sender: Sender) -> None:
    note = objects.parse_note(activity["object"])
    if note.author != sender.actor:
        raise Ignored("a comment must be created by its author")
    if objects.is_local_id(note.id) or find_comment(note.id) is not None:
        raise Ignored("already here")
    parent = resolve_target(note.in_reply_to)
    if parent is None:
        raise _missing(note.in_reply_to)
    idea = _idea_of(parent)
    if not _authorised_on(idea, sender):
        raise Ignored(f"{sender.host} may not comment on {objects.idea_ap_id(idea)} this way")
    with _refusable(idea, sender):
        add_comment(note, parent)
    if idea.is_local:
        _announce(activity)


def _on_update_note(activity: dict[str, Any], sender: Sender) -> None:
    from coopol.ideas.services import edit_comment

    note = objects.parse_note(activity["object"])
    comment = find_comment(note.id)
    if comment is None:  # an edit of a comment we never saw: the comment as it is now (as Lemmy does)
        _on_create_note(activity, sender)
        return
    if note.author != sender.actor or comment.author.ap_id != note.author:
        raise Ignored("only the author edits a comment")
    if not _authorised_on(comment.idea, sender):
        raise Ignored("not the comment's origin")
    with _refusable(comment.idea, sender):
        edit_comment(comment.author, comment, body=note.body, stance=note.stance)
    if comment.idea.is_local:
        _announce(activity)


# ----------------------------------------------------------------------------------- votes


def apply_vote(member: Member, target: Idea | Comment, like: bool, ap_id: str | None = None,
               when: datetime | None = None) -> bool:
    """`member`'s Like (or Dislike) of an idea or a comment, through the domain services (relayed or
    backfilled). False when it already is their vote (a comment vote cast again would withdraw it).
    `when`: the activity's `published`; older than the vote activity last applied, it is `Ignored`."""
    from coopol.ideas.services import cast_comment_vote, cast_vote

    clocks.lock_target(target)
    if not clocks.advance(member, target, when, ap_id, undone=False):
        raise Ignored("older than the vote already applied here (delivered out of order)")
    if isinstance(target, Comment):
        value = "up" if like else "down"
        current = db.session.scalar(select(CommentVote.value).where(CommentVote.comment_id == target.id,
                                                                    CommentVote.member_id == member.id))
        if current == value:
            return False
        cast_comment_vote(member, target, value)
    else:
        value = "support" if like else "oppose"
        current = db.session.scalar(select(IdeaVote.value).where(IdeaVote.idea_id == target.id,
                                                                 IdeaVote.member_id == member.id))
        if current == value:
            return False
        cast_vote(member, target, value, ap_id=ap_id)
    return True


def _on_vote(activity: dict[str, Any], sender: Sender) -> None:
    if id_of(activity.get("actor")) != sender.actor:
        raise Ignored("a vote is cast by its actor")
    target = resolve_target(id_of(activity.get("object")))
    if target is None:
        raise _missing(id_of(activity.get("object")))
    if not _authorised_on(_idea_of(target), sender):
        raise Ignored("not the idea's origin")
    member = _member(sender.actor)
    with _refusable(_idea_of(target), sender):
        if not apply_vote(member, target, type_of(activity) == "Like", activity.get("id"),
                          clocks.activity_time(activity)):
            raise Unchanged("the same vote again")
    keep_proof(member, target, activity)  # verified by the inbox (vote_proofs.verify_vote_proof)
    if _idea_of(target).is_local:
        _announce(activity)


def _on_undo_vote(activity: dict[str, Any], sender: Sender) -> None:
    from coopol.ideas.services import withdraw_comment_vote, withdraw_vote

    vote = activity.get("object")
    member = _member(sender.actor)
    if isinstance(vote, dict):
        if id_of(vote.get("actor")) not in (None, sender.actor):
            raise Ignored("an Undo names the actor's own vote")
        target = resolve_target(id_of(vote.get("object")))
    else:  # only the Like's id: find the vote it cast
        row = db.session.scalar(select(IdeaVote).where(IdeaVote.ap_id == id_of(vote),
                                                       IdeaVote.member_id == member.id))
        target = db.session.get(Idea, row.idea_id) if row is not None else None
    if target is None:
        raise Ignored("nothing to undo")
    if not _authorised_on(_idea_of(target), sender):
        raise Ignored("not the idea's origin")
    clocks.lock_target(target)
    if not clocks.advance(member, target, clocks.activity_time(activity), activity.get("id"), undone=True):
        raise Ignored("older than the vote already applied here (delivered out of order)")
    # The actor's vote on that object goes, whatever the inner kind says: Lemmy's Undo of a Dislike
    # embeds a `Like` (it removes the vote, whichever it is).
    if isinstance(target, Comment):
        current = db.session.scalar(select(CommentVote.value).where(CommentVote.comment_id == target.id,
                                                                    CommentVote.member_id == member.id))
        if current is None:
            keep_proof(member, target, activity)  # delivered before the vote it takes back: still the latest
            raise Unchanged("no vote to undo")
        with _refusable(target.idea, sender):
            withdraw_comment_vote(member, target)
    else:
        current = db.session.scalar(select(IdeaVote.value).where(IdeaVote.idea_id == target.id,
                                                                 IdeaVote.member_id == member.id))
        if current is None:
            keep_proof(member, target, activity)  # delivered before the vote it takes back: still the latest
            raise Unchanged("no vote to undo")
        with _refusable(target, sender):
            withdraw_vote(member, target)
    keep_proof(member, target, activity)
    if _idea_of(target).is_local:
        _announce(activity)


# ------------------------------------------------------------------------------ moderation


def _decide(kind: str, target_type: str, target: Idea | Comment, reason: str, host: str) -> None:
    from coopol.moderation.remote import apply_remote_decision

    apply_remote_decision(kind, target_type, target, reason, host)


def _from_ally_group(sender: Sender) -> bool:
    return sender.actor == sender.ally_group


def _from_ally_moderation(sender: Sender) -> bool:
    """The ally's Group, or one of the moderators it lists (Lemmy's moderators lock and remove in their
    own name): the same check as for bans (`bans.moderators_of`)."""
    from coopol.federation.content import bans

    if _from_ally_group(sender):
        return True
    if sender.ctx.ally is None or sender.actor == sender.ctx.ally.group_id:
        return False
    try:
        return sender.actor in bans.moderators_of(sender.ctx.ally)
    except bans.ModeratorsUnavailable as error:
        raise Retry(error.message) from error


def _on_delete(activity: dict[str, Any], sender: Sender) -> None:
    from coopol.accounts.services import erase_member
    from coopol.ideas.services import delete_comment

    obj = activity.get("object")
    target_id = id_of(obj)
    if not target_id:
        raise ProtocolError("Delete of nothing")
    person = db.session.scalar(select(Member).where(Member.ap_id == target_id, Member.host.is_not(None)))
    if person is not None or type_of(obj) in ("Person", "Service"):
        if person is None:
            raise Ignored("a person we never met")
        if not (target_id == sender.actor or (_from_ally_group(sender) and person.host == sender.host)):
            raise Ignored("only a person or their own instance erases them")
        erase_member(person)
        return
    comment = find_comment(target_id)
    idea = find_idea(target_id) if comment is None else None
    if comment is None and idea is None:
        raise Ignored("nothing to delete")
    origin_idea = comment.idea if comment is not None else idea
    if origin_idea.is_local:  # an author deletes their comment on our idea
        if comment is None or sender.announced or comment.author.ap_id != sender.actor:
            raise Ignored("only its author deletes a comment on our ideas")
        delete_comment(comment.author, comment)
        _announce(activity)
        return
    if origin_idea.origin_host != sender.host:
        raise Ignored("not the origin of this content")
    if comment is not None and comment.author.ap_id == sender.actor and not activity.get("summary"):
        delete_comment(comment.author, comment)
        return
    summary = activity.get("summary") if isinstance(activity.get("summary"), str) and activity["summary"] else None
    if idea is not None and idea.author.ap_id == sender.actor and summary is None:
        _decide("remove", "idea", idea, AUTHOR_DELETED, sender.host)
        return
    if not _from_ally_moderation(sender):
        raise Ignored("removals come from the origin's Group or its moderators")
    reason = summary or "removed"
    _decide("remove", "comment" if comment is not None else "idea", comment or idea, reason, sender.host)


def _on_lock(activity: dict[str, Any], sender: Sender, kind: str = "lock") -> None:
    idea = find_idea(id_of(activity.get("object")))
    if idea is None or idea.is_local or idea.origin_host != sender.host or not _from_ally_moderation(sender):
        raise Ignored("locks come from the idea's origin Group or its moderators")
    reason = activity.get("summary") if isinstance(activity.get("summary"), str) else "locked"
    _decide(kind, "idea", idea, reason, sender.host)


def _on_undo(activity: dict[str, Any], sender: Sender) -> None:
    inner = activity.get("object")
    kind = type_of(inner)
    if kind in ("Like", "Dislike") or (kind is None and isinstance(inner, str)):
        _on_undo_vote(activity, sender)
    elif kind == "Delete" and isinstance(inner, dict):
        _on_undo_delete(inner, sender)
    elif kind == "Lock" and isinstance(inner, dict):
        _on_lock(inner, sender, "unlock")
    elif kind == "Block":
        _on_block(activity, sender)
    else:
        raise Ignored(f"Undo of {kind}")


def _author_deleted(idea: Idea) -> bool:
    """The idea's latest removal is its author's own deletion (not a moderator's decision)."""
    from coopol.moderation.models import ModerationAction

    reason = db.session.scalar(select(ModerationAction.reason)
                               .where(ModerationAction.action == "remove", ModerationAction.target_type == "idea",
                                      ModerationAction.target_id == idea.id)
                               .order_by(ModerationAction.id.desc()).limit(1))
    return bool(reason) and reason.startswith(AUTHOR_DELETED + " (")


def _on_undo_delete(inner: dict[str, Any], sender: Sender) -> None:
    """A restoration on an ally's content: of a removal, by its Group or a moderator it lists; of an idea
    its author deleted, by that author (Lemmy's `Undo(Delete)`). An erased comment has no text to restore."""
    if id_of(inner.get("actor")) not in (None, sender.actor):
        raise Ignored("an Undo names the actor's own Delete")
    target = find_comment(id_of(inner.get("object"))) or find_idea(id_of(inner.get("object")))
    if target is None or _idea_of(target).is_local or _idea_of(target).origin_host != sender.host:
        raise Ignored("restorations come from the content's origin")
    if isinstance(target, Idea) and target.author.ap_id == sender.actor and _author_deleted(target):
        _decide("restore", "idea", target, "restored by its author", sender.host)
        return
    if isinstance(target, Comment) and target.is_deleted:
        raise Ignored("a deleted comment's text is gone: nothing to restore")
    if not _from_ally_moderation(sender):
        raise Ignored("restorations come from the origin's Group or its moderators")
    _decide("restore", "comment" if isinstance(target, Comment) else "idea", target, "restored", sender.host)


def _on_block(activity: dict[str, Any], sender: Sender) -> None:
    """A ban (or its lifting) relayed by an ally's Group, decided by the Group or one of its moderators
    (Lemmy); a direct one has its own handler (bans.py)."""
    from coopol.federation.content import bans

    if not sender.announced:
        raise Ignored("a direct ban has its own handler")
    ctx = InboxContext(sender.actor, sender.host, None, sender.ctx.ally, sender.ctx.inbox_path)
    try:
        bans.receive_announced(activity, ctx)
    except bans.ModeratorsUnavailable as error:
        raise Retry(error.message) from error


def _on_flag(activity: dict[str, Any], sender: Sender) -> None:
    from coopol.moderation.models import ReportReason
    from coopol.moderation.services import file_report

    if sender.announced:
        raise Ignored("reports are not relayed")
    objects_ = activity.get("object")
    candidates = [id_of(o) for o in (objects_ if isinstance(objects_, list) else [objects_]) if id_of(o)]
    target_type = target_id = None
    for url in candidates:  # the content first, then the person (Mastodon lists the account first)
        comment = find_comment(url)
        idea = find_idea(url) if comment is None else None
        if comment is not None and comment.idea.is_local:
            target_type, target_id = "comment", comment.id
            break
        if idea is not None and idea.is_local:
            target_type, target_id = "idea", idea.id
            break
    if target_type is None:
        from coopol.federation.actors import local_member_for_actor

        person = next((m for m in (local_member_for_actor(u) for u in candidates) if m is not None), None)
        if person is None:
            raise Ignored("a report about nothing of ours")
        target_type, target_id = "member", person.id
    reason = activity.get("reportReason")
    reason = reason if reason in {r.value for r in ReportReason} else "other"
    text = activity.get("content") if isinstance(activity.get("content"), str) else ""
    text = objects._text_from_html(text)[:2000]
    file_report(_member(sender.actor), target_type, target_id, reason, text)


# -------------------------------------------------------------------------------- dispatch


# Other kinds of objects (groups, gatherings): each hook applies the activity and returns True, or
# returns False when it is not about its objects. Raised `Ignored`/`Retry` mean what they mean here.
DISPATCH_HOOKS: list[Callable[[dict[str, Any], Sender], bool]] = []


def _dispatch(activity: dict[str, Any], sender: Sender) -> None:
    for hook in DISPATCH_HOOKS:
        if hook(activity, sender):
            return
    kind = type_of(activity)
    inner = type_of(activity.get("object"))
    if kind in ("Create", "Update") and inner in ("Page", "Article", "Question"):
        _on_page(activity, sender)
    elif kind == "Create" and inner == "Note":
        if sender.announced and objects.is_local_id(sender.actor):
            raise Ignored("our own member's comment")
        _on_create_note(activity, sender)
    elif kind == "Update" and inner == "Note":
        _on_update_note(activity, sender)
    elif kind in ("Like", "Dislike"):
        if sender.announced and objects.is_local_id(sender.actor):
            raise Ignored("our own member's vote")
        _on_vote(activity, sender)
    elif kind == "Undo":
        if sender.announced and objects.is_local_id(sender.actor):
            raise Ignored("our own member's undo")
        _on_undo(activity, sender)
    elif kind == "Delete":
        _on_delete(activity, sender)
    elif kind == "Lock":
        _on_lock(activity, sender)
    elif kind == "Block":
        _on_block(activity, sender)
    elif kind == "Flag":
        _on_flag(activity, sender)
    else:
        raise Ignored(f"{kind} of {inner} is not for us")


def _guarded(fn: Callable[[dict[str, Any], InboxContext], None]) -> Callable[[dict[str, Any], InboxContext], None]:
    """What cannot apply is acknowledged (the item is processed) and writes nothing."""

    def run(activity: dict[str, Any], ctx: InboxContext) -> None:
        try:
            kept: Unchanged | None = None
            with db.session.begin_nested():
                try:
                    fn(activity, ctx)
                except Unchanged as unchanged:  # commit the savepoint (the vote clock), then report it
                    kept = unchanged
            if kept is not None:
                raise kept
        except Refused as refused:
            log.info("%s %s refused: %s", type_of(activity), activity.get("id"), refused)
            send_reject(activity, ctx, refused.error.message)
        except (Ignored, DomainError, ProtocolError) as error:
            log.info("%s %s changes nothing: %s", type_of(activity), activity.get("id"), error)
            raise NotApplied(str(error) or type(error).__name__, keep=isinstance(error, Unchanged)) from error

    return run


def receive_direct(activity: dict[str, Any], ctx: InboxContext) -> None:
    if ctx.ally is None or not ctx.ally.is_allied:  # a fediverse follower (the inbox let only those through)
        from coopol.federation.content.fediverse import receive_from_follower

        receive_from_follower(activity, ctx)
        return
    _dispatch(activity, Sender(ctx.actor_id, ctx, announced=False))


def receive_announce(activity: dict[str, Any], ctx: InboxContext) -> None:
    inner = activity.get("object")
    if not isinstance(inner, dict) or type_of(inner) == "Announce":
        raise Ignored("an Announce must embed the activity it relays")
    actor = id_of(inner.get("actor"))
    if not actor or not isinstance(inner.get("id"), str):
        raise ProtocolError("the announced activity has no id or actor")
    _dispatch(inner, Sender(actor, ctx, announced=True))


def verify_announce(activity: dict[str, Any], ctx: InboxContext) -> None:
    """Only an ally's own Group relays (a Person or another actor of that host cannot); a vote it relays
    with a proof has a proof that verifies."""
    if ctx.ally is None or ctx.actor_id != ctx.ally.group_id:
        raise PermissionDenied("Only the Group of an allied instance can announce to us.")
    verify_vote_proof(activity, ctx)


CONTENT_TYPES = ("Create", "Update", "Delete", "Like", "Dislike", "Flag", "Lock")


def register_handlers() -> None:
    from coopol.federation.content.fediverse import FOLLOWER_KINDS, follower_may_send

    for kind in CONTENT_TYPES + ("Undo",):  # Undo of a Follow keeps its own handler
        register_handler(kind, _guarded(receive_direct), open_to=follower_may_send if kind in FOLLOWER_KINDS else None,
                         verify=verify_vote_proof if kind in VOTE_KINDS + ("Undo",) else None)
    register_handler("Announce", _guarded(receive_announce), verify=verify_announce)
