"""Data export (the groups a member started, their memberships) and erasure (memberships go, groups stay).

An erased member's groups keep their other organisers; a group left with none gets its oldest active
member as organiser, so that no group is orphaned while it has members.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.accounts.services import register_exporter
from coopol.core.events import subscribe
from coopol.extensions import db
from coopol.groups.memberships import change_member_count, count_organisers
from coopol.groups.models import Group, Membership, MembershipState, Role


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def export_groups(member: Member) -> dict[str, list[dict[str, Any]]]:
    created = db.session.scalars(select(Group).where(Group.created_by_id == member.id).order_by(Group.id))
    joined = db.session.execute(select(Membership, Group).join(Group, Group.id == Membership.group_id)
                                .where(Membership.member_id == member.id).order_by(Membership.id))
    return {
        "created": [{"slug": g.slug, "name": g.name, "description": g.description, "kind": g.kind,
                     "scope": g.scope, "joining": g.joining, "logo_url": g.logo_url, "state": g.state,
                     "created_at": _iso(g.created_at)} for g in created],
        "memberships": [{"group": g.slug, "name": g.name, "role": m.role, "state": m.state,
                         "created_at": _iso(m.created_at)} for m, g in joined],
    }


def erase_memberships(member: Member, **_: Any) -> None:
    rows = list(db.session.scalars(select(Membership).where(Membership.member_id == member.id)))
    for membership in rows:
        group = membership.group
        was_organiser = membership.is_organiser
        was_active = membership.state == MembershipState.ACTIVE
        db.session.delete(membership)
        db.session.flush()
        if was_active:
            change_member_count(group, -1)
        if was_organiser and count_organisers(group) == 0:
            oldest = db.session.scalar(select(Membership).where(
                Membership.group_id == group.id, Membership.state == MembershipState.ACTIVE)
                .order_by(Membership.created_at, Membership.id).limit(1))
            if oldest is not None:
                oldest.role = Role.ORGANISER.value
    db.session.flush()


def init_privacy(app: Flask) -> None:
    register_exporter("groups", export_groups)
    subscribe(app, "member_erasing", erase_memberships)
