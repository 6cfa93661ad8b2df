"""Who may do what in a group: checks shared by every service of this package."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.errors import AuthenticationFailed, Conflict, NotFound, PermissionDenied
from coopol.extensions import db
from coopol.groups.models import Group, GroupState, Membership, MembershipState


def ensure_can_act(member: Member | None) -> Member:
    if member is None or not getattr(member, "is_authenticated", False):
        raise AuthenticationFailed(_("Please log in first."))
    if member.is_erased:
        raise PermissionDenied(_("This account was erased."))
    if member.is_restricted():
        raise PermissionDenied(_("Your account is suspended or banned: you cannot do this now."))
    return member


def is_moderator(viewer: Member | None) -> bool:
    return bool(viewer is not None and getattr(viewer, "is_authenticated", False) and viewer.is_moderator
                and viewer.is_local)


def membership_of(group: Group, member: Member | None) -> Membership | None:
    if member is None or not getattr(member, "is_authenticated", False):
        return None
    return db.session.scalar(select(Membership).where(Membership.group_id == group.id,
                                                      Membership.member_id == member.id))


def is_organiser(group: Group, member: Member | None) -> bool:
    membership = membership_of(group, member)
    return membership is not None and membership.is_organiser


def can_view(group: Group, viewer: Member | None) -> bool:
    if group.state in (GroupState.VISIBLE, GroupState.LOCKED) or is_moderator(viewer):
        return True
    if group.state == GroupState.HIDDEN:
        membership = membership_of(group, viewer)
        return membership is not None and membership.state == MembershipState.ACTIVE
    return False


def ensure_viewable(group: Group | None, viewer: Member | None, slug: str) -> Group:
    if group is None or not can_view(group, viewer):
        raise NotFound(_("No group '%(slug)s'.", slug=slug[:64]))
    return group


def ensure_organiser(group: Group, actor: Member) -> None:
    if not is_organiser(group, actor):
        raise PermissionDenied(_("Only the group's organisers may do this."))


def ensure_open(group: Group) -> None:
    """A group that moderators locked, hid or removed takes no new members and no edits."""
    if group.state != GroupState.VISIBLE:
        raise Conflict(_("This group is locked by the moderators."))
