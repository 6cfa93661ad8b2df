"""Following: members (here and on allied instances), ideas, groups, tags and scopes.

One writer of `Follow` rows. Following a member of an ally sends an ActivityPub `Follow` of their Person
(coopol/federation/follows.py listens to `follow_created` and `follow_removed`): the follow is `pending`
until their instance answers, `accept_remote_follow` makes it `active`, `refuse_remote_follow` drops it.
An ally's member following one of ours arrives the other way (federation calls `follow_target` with the
remote member as follower): it is active at once. A block (blocks.py) refuses a follow either way.
Whether a host is allied is federation's knowledge: it registers the check with `set_ally_check`; without
it no remote member can be followed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import func, select

from coopol.accounts.models import Member
from coopol.accounts.services import find_member_by_reference
from coopol.core.errors import NotFound, ValidationFailed
from coopol.core.events import publish
from coopol.core.scopes import scope_tree
from coopol.core.validation import Errors
from coopol.extensions import db
from coopol.groups.services import get_group
from coopol.ideas.services import get_idea
from coopol.ideas.validation import clean_tags
from coopol.notifications.models import Follow, FollowKind, FollowState
from coopol.notifications.store import notify

_ALLY_CHECK = "coopol.notifications.ally_check"


def set_ally_check(app: Flask, check: Callable[[str], bool]) -> None:
    app.extensions[_ALLY_CHECK] = check


def _is_allied(host: str) -> bool:
    check = current_app.extensions.get(_ALLY_CHECK)
    return bool(check and check(host))


def resolve_target(viewer: Member, kind: str, reference: Any) -> tuple[str, Any]:
    """The stored target of a follow (id or name) and the followed object; bad input names its field."""
    if kind == FollowKind.MEMBER:
        reference = str(reference or "").strip().lstrip("@")
        handle, _sep, host = reference.lower().partition("@")
        if host and host != current_app.config["SERVER_HOST"].lower() and not _is_allied(host):
            raise ValidationFailed.field("handle", _("'%(host)s' is not an allied instance: its members cannot "
                                                     "be followed from here.", host=host[:100]))
        member = find_member_by_reference(reference)
        if member is None:
            message = _("No member '%(handle)s'.", handle=reference[:120])
            raise NotFound(message, {"handle": [message]})
        if member.id == viewer.id:
            raise ValidationFailed.field("handle", _("You cannot follow yourself."))
        return str(member.id), member
    if kind == FollowKind.IDEA:
        idea = get_idea(reference, viewer)
        return str(idea.id), idea
    if kind == FollowKind.GROUP:
        group = get_group(reference, viewer)
        return str(group.id), group
    if kind == FollowKind.TAG:
        errors = Errors()
        tags = clean_tags([str(reference or "")], errors)
        if errors or not tags:
            raise ValidationFailed.field("tag", _("'%(tag)s' is not a valid tag.", tag=str(reference)[:50]))
        return tags[0], tags[0]
    if kind == FollowKind.SCOPE:
        code = str(reference or "").strip()
        if code not in scope_tree():
            message = _("Unknown scope '%(code)s'.", code=code[:64])
            raise NotFound(message, {"scope": [message]})
        return code, code
    raise ValidationFailed.field("kind", _("Choose one of: %(choices)s.", choices=", ".join(FollowKind)))


def find_follow(member: Member, kind: str, target: str) -> Follow | None:
    return db.session.scalar(select(Follow).where(Follow.member_id == member.id, Follow.kind == kind,
                                                  Follow.target == target))


def follow(member: Member, kind: str, reference: Any) -> Follow:
    """Follow something; following it again changes nothing."""
    target, followed = resolve_target(member, kind, reference)
    return follow_target(member, kind, target, followed)


def check_not_blocked(member: Member, followed: Member) -> None:
    """A block refuses a follow either way (422 on `handle`); the blocked one is not told why."""
    from coopol.notifications.store import is_blocked

    if is_blocked(member, followed):
        raise ValidationFailed.field("handle", _("You blocked %(name)s: unblock them to follow them.",
                                                 name=followed.name))
    if is_blocked(followed, member):
        raise ValidationFailed.field("handle", _("You cannot follow %(name)s.", name=followed.name))


def follow_target(member: Member, kind: str, target: str, followed: Any = None) -> Follow:
    if kind == FollowKind.MEMBER and isinstance(followed, Member):
        check_not_blocked(member, followed)
    existing = find_follow(member, kind, target)
    if existing is not None:
        return existing
    # Our member following an ally's member: pending until their instance accepts our `Follow`.
    remote = kind == FollowKind.MEMBER and isinstance(followed, Member) and not followed.is_local and member.is_local
    row = Follow(member_id=member.id, kind=kind, target=target,
                 state=(FollowState.PENDING if remote else FollowState.ACTIVE).value)
    db.session.add(row)
    db.session.flush()
    if kind == FollowKind.MEMBER and followed is not None:
        notify(followed, "follower",
               lambda n: _("%(name)s follows you now.", name=member.name) if n == 1 else
               ngettext("%(num)d new follower.", "%(num)d new followers.", n),
               actor=member, target_type="member", target_id=member.id,
               link=f"/members/{member.handle}", group_key="follower")
    publish("follow_created", follow=row, member=member, followed=followed)
    return row


def unfollow(member: Member, kind: str, reference: Any) -> None:
    """Stop following; not following it already is fine (nothing to undo)."""
    target, followed = resolve_target(member, kind, reference)
    unfollow_target(member, kind, target, followed)


def unfollow_target(member: Member, kind: str, target: str, followed: Any = None) -> None:
    row = find_follow(member, kind, target)
    if row is None:
        return
    publish("follow_removed", follow=row, member=member, followed=followed)
    db.session.delete(row)
    db.session.flush()


def find_member_follow(follow_ap_id: str | None) -> Follow | None:
    """The follow of a member whose ActivityPub `Follow` has this id (ours, or the one an ally sent us)."""
    if not follow_ap_id:
        return None
    return db.session.scalars(select(Follow).where(Follow.ap_id == follow_ap_id, Follow.kind == FollowKind.MEMBER)
                              .order_by(Follow.id).limit(1)).first()


def accept_remote_follow(follow_ap_id: str) -> Follow | None:
    """Their instance accepted our `Follow` of one of its members: the follow counts from now on."""
    row = find_member_follow(follow_ap_id)
    if row is not None and row.state == FollowState.PENDING:
        row.state = FollowState.ACTIVE.value
        db.session.flush()
    return row


def refuse_remote_follow(follow_ap_id: str) -> bool:
    """Their instance rejected our `Follow` (or removed an accepted one): the follow goes, quietly (their
    member may have blocked ours, which is theirs to know). Nothing is sent back."""
    row = find_member_follow(follow_ap_id)
    if row is None:
        return False
    db.session.delete(row)
    db.session.flush()
    return True


def remove_follower(followed: Member, follower: Member) -> None:
    """`followed` ends `follower`'s follow of them (a block): a remote follower's instance is told
    (federation sends `Reject` of their `Follow` on `follower_removed`)."""
    row = find_follow(follower, FollowKind.MEMBER, str(followed.id))
    if row is None:
        return
    publish("follower_removed", follow=row, member=follower, followed=followed)
    db.session.delete(row)
    db.session.flush()


def is_following(member: Member | None, kind: str, target: str) -> bool:
    if member is None or not getattr(member, "is_authenticated", False):
        return False
    return find_follow(member, kind, target) is not None


def follower_count(member: Member) -> int:
    return db.session.scalar(select(func.count(Follow.id)).where(
        Follow.kind == FollowKind.MEMBER, Follow.target == str(member.id),
        Follow.state == FollowState.ACTIVE)) or 0


def count_following(kind: str, target: str) -> int:
    """How many follow this (a tag, a scope...): one count on the (kind, target) index."""
    return db.session.scalar(select(func.count(Follow.id)).where(
        Follow.kind == kind, Follow.target == target, Follow.state == FollowState.ACTIVE)) or 0


def following_count(member: Member) -> int:
    return db.session.scalar(select(func.count(Follow.id)).where(
        Follow.member_id == member.id, Follow.kind == FollowKind.MEMBER,
        Follow.state == FollowState.ACTIVE)) or 0


def followers_of(kind: str, target: str) -> list[Member]:
    """Local members who follow this (only they have an inbox here)."""
    return list(db.session.scalars(select(Member).join(Follow, Follow.member_id == Member.id).where(
        Follow.kind == kind, Follow.target == target, Follow.state == FollowState.ACTIVE,
        Member.host.is_(None), Member.erased_at.is_(None))))


def list_following(member: Member) -> dict[str, list[Any]]:
    """What a member follows, by kind: members as handles, ideas and groups as ids and slugs."""
    from coopol.groups.models import Group

    rows = list(db.session.scalars(select(Follow).where(Follow.member_id == member.id).order_by(Follow.id)))
    by_kind: dict[str, list[Follow]] = {kind.value: [] for kind in FollowKind}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    member_ids = [int(r.target) for r in by_kind["member"]]
    handles = {row[0]: row[1] for row in db.session.execute(
        select(Member.id, Member.handle).where(Member.id.in_(member_ids)))} if member_ids else {}
    group_ids = [int(r.target) for r in by_kind["group"]]
    slugs = {row[0]: row[1] for row in db.session.execute(
        select(Group.id, Group.slug).where(Group.id.in_(group_ids)))} if group_ids else {}
    return {
        "members": [{"handle": handles.get(int(r.target)), "state": r.state} for r in by_kind["member"]
                    if int(r.target) in handles],
        "ideas": [int(r.target) for r in by_kind["idea"]],
        "groups": [slugs[int(r.target)] for r in by_kind["group"] if int(r.target) in slugs],
        "tags": [r.target for r in by_kind["tag"]],
        "scopes": [r.target for r in by_kind["scope"]],
    }


def list_followers(member: Member) -> list[Member]:
    return list(db.session.scalars(select(Member).join(Follow, Follow.member_id == Member.id).where(
        Follow.kind == FollowKind.MEMBER, Follow.target == str(member.id), Follow.state == FollowState.ACTIVE,
        Member.erased_at.is_(None)).order_by(Follow.id)))
