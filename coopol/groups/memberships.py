"""Joining, leaving and organising a group: the one writer of memberships and of `member_count`.

The invariant, kept here and nowhere else: a group's `member_count` equals its active membership rows.
Every change of a row's state goes with an atomic `UPDATE ... SET member_count = member_count ± 1`.
A group keeps at least one organiser while it has members: the last organiser hands over before leaving.
Events (all with `group`, `actor` and `membership` or `member`): `group_joined`, `group_join_requested`,
`group_left`, `membership_approved`, `membership_rejected`, `organiser_named`, `group_handed_over`,
`group_member_removed` (also with `reason`, for the public moderation log).
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from coopol.accounts.models import Member
from coopol.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coopol.core.events import publish
from coopol.core.schemas import parse_id
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.groups import guards, validation
from coopol.groups.models import Group, Joining, Membership, MembershipState, Role


def change_member_count(group: Group, delta: int) -> None:
    db.session.execute(update(Group).where(Group.id == group.id)
                       .values(member_count=Group.member_count + delta).execution_options(synchronize_session=False))
    db.session.expire(group, ["member_count"])


def count_organisers(group: Group) -> int:
    return db.session.scalar(select(func.count()).select_from(Membership).where(
        Membership.group_id == group.id, Membership.role == Role.ORGANISER,
        Membership.state == MembershipState.ACTIVE)) or 0


def _membership_or_404(group: Group, member: Member) -> Membership:
    membership = guards.membership_of(group, member)
    if membership is None:
        raise NotFound(_("@%(handle)s is not a member of this group.", handle=member.handle))
    return membership


def _ensure_organiser_or_moderator(group: Group, actor: Member) -> None:
    if not (guards.is_organiser(group, actor) or guards.is_moderator(actor)):
        raise PermissionDenied(_("Only the group's organisers may do this."))


def join_group(actor: Member, group: Group) -> Membership:
    """An open group takes the member at once; an approval group records a pending request. Joining
    again changes nothing and answers the membership there is."""
    guards.ensure_can_act(actor)
    existing = guards.membership_of(group, actor)
    if existing is not None:
        return existing
    guards.ensure_open(group)
    # An ally's group: its origin decides (coopol/groups/copies.py), so the request waits for its answer.
    state = MembershipState.ACTIVE if group.joining == Joining.OPEN and group.is_local else MembershipState.PENDING
    membership = Membership(group_id=group.id, member_id=actor.id, role=Role.MEMBER.value, state=state.value,
                            created_at=utcnow())
    try:
        # Two joins at once (a double click): the unique (group, member) row decides, the second answers
        # the first's membership instead of failing.
        with db.session.begin_nested():
            db.session.add(membership)
    except IntegrityError:
        existing = guards.membership_of(group, actor)
        if existing is None:
            raise
        return existing
    if state == MembershipState.ACTIVE:
        change_member_count(group, +1)
        publish("group_joined", group=group, actor=actor, membership=membership)
    else:
        publish("group_join_requested", group=group, actor=actor, membership=membership)
    return membership


def _ensure_not_last_organiser(group: Group, membership: Membership) -> None:
    if membership.is_organiser and count_organisers(group) <= 1:
        raise Conflict(_("You are this group's last organiser: name another organiser or hand the group over "
                         "before leaving."))


def leave_group(actor: Member, group: Group) -> None:
    """Leave (or withdraw a pending request). Not being a member changes nothing."""
    guards.ensure_can_act(actor)
    membership = guards.membership_of(group, actor)
    if membership is None:
        return
    _ensure_not_last_organiser(group, membership)
    _delete(group, membership)
    publish("group_left", group=group, actor=actor, member=actor)


def _delete(group: Group, membership: Membership) -> None:
    was_active = membership.state == MembershipState.ACTIVE
    db.session.delete(membership)
    db.session.flush()
    if was_active:
        change_member_count(group, -1)


def _pending(group: Group, member: Member) -> Membership:
    membership = _membership_or_404(group, member)
    if membership.state != MembershipState.PENDING:
        raise Conflict(_("@%(handle)s is already a member.", handle=member.handle))
    return membership


def approve_membership(actor: Member, group: Group, member: Member) -> Membership:
    guards.ensure_can_act(actor)
    guards.ensure_organiser(group, actor)
    guards.ensure_open(group)  # a locked group takes no new members
    membership = _pending(group, member)
    membership.state = MembershipState.ACTIVE.value
    db.session.flush()
    change_member_count(group, +1)
    publish("membership_approved", group=group, actor=actor, membership=membership)
    return membership


def reject_membership(actor: Member, group: Group, member: Member) -> None:
    guards.ensure_can_act(actor)
    guards.ensure_organiser(group, actor)
    membership = _pending(group, member)
    _delete(group, membership)
    publish("membership_rejected", group=group, actor=actor, member=member)


def _active(group: Group, member: Member) -> Membership:
    membership = _membership_or_404(group, member)
    if membership.state != MembershipState.ACTIVE:
        raise Conflict(_("@%(handle)s has not been approved yet.", handle=member.handle))
    return membership


def name_organiser(actor: Member, group: Group, member: Member) -> Membership:
    """An organiser names another active member organiser (naming one twice changes nothing)."""
    guards.ensure_can_act(actor)
    guards.ensure_organiser(group, actor)
    membership = _active(group, member)
    if membership.role != Role.ORGANISER:
        membership.role = Role.ORGANISER.value
        db.session.flush()
        publish("organiser_named", group=group, actor=actor, membership=membership)
    return membership


def hand_over_group(actor: Member, group: Group, member: Member) -> Membership:
    """The organiser names `member` organiser and becomes a plain member."""
    guards.ensure_can_act(actor)
    guards.ensure_organiser(group, actor)
    if member.id == actor.id:
        raise ValidationFailed.field("member", _("Hand the group over to someone else."))
    successor = _active(group, member)
    successor.role = Role.ORGANISER.value
    guards.membership_of(group, actor).role = Role.MEMBER.value
    db.session.flush()
    publish("group_handed_over", group=group, actor=actor, membership=successor)
    return successor


def remove_member(actor: Member, group: Group, member: Member, reason: str) -> None:
    """Organisers (or the instance's moderators) remove a member, saying why; the reason is published
    with `group_member_removed` so that the public moderation log can record it."""
    guards.ensure_can_act(actor)
    _ensure_organiser_or_moderator(group, actor)
    reason = validation.clean_reason(reason)
    if member.id == actor.id:
        raise ValidationFailed.field("member", _("To leave the group, use Leave."))
    membership = _membership_or_404(group, member)
    _ensure_not_last_organiser(group, membership)
    _delete(group, membership)
    publish("group_member_removed", group=group, actor=actor, member=member, reason=reason)


@dataclass
class MemberPage:
    memberships: list[Membership]
    next_cursor: str | None


def list_members(group: Group, viewer: Member | None, *, cursor: str | None = None, limit: int = 50,
                 ) -> MemberPage:
    """Members by arrival (keyset-paged by membership id); pending requests only for organisers and moderators."""
    stmt = select(Membership).where(Membership.group_id == group.id)
    if not (guards.is_organiser(group, viewer) or guards.is_moderator(viewer)):
        stmt = stmt.where(Membership.state == MembershipState.ACTIVE)
    if cursor:
        last_id = parse_id(cursor)
        if last_id is None:
            raise ValidationFailed.field("cursor", _("This cursor is not valid."))
        stmt = stmt.where(Membership.id > last_id)
    rows = list(db.session.scalars(stmt.order_by(Membership.id).limit(limit + 1)))
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return MemberPage(rows[:limit], next_cursor)


def organisers(group: Group) -> list[Membership]:
    return list(db.session.scalars(select(Membership).where(
        Membership.group_id == group.id, Membership.role == Role.ORGANISER,
        Membership.state == MembershipState.ACTIVE).order_by(Membership.id)))
