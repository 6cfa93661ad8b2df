"""Copies of allies' groups: what the origin instance says about its group is taken as it is (its
organisers decided it), and the origin decides who joins it.

A copy's `member_count` is the origin's count (it counts the members of every party), not this
instance's rows: the invariant of memberships.py holds for our own groups only. Our members' rows in a
copy say where their request stands: `pending` until the origin accepts it (`settle_join`), then
`active`; a refusal removes the row. No events: the origin already told everyone what changed.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from coopol.accounts.models import Member
from coopol.core.errors import PermissionDenied
from coopol.core.scopes import scope_tree
from coopol.core.text import render_markdown
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.groups import validation
from coopol.groups.models import (
    DESCRIPTION_MAX,
    NAME_MAX,
    SLUG_MAX,
    Group,
    GroupKind,
    Joining,
    Membership,
    MembershipState,
)

HOST_CHARS = re.compile(r"[^a-z0-9]+")


def find_copy(ap_id: str | None) -> Group | None:
    if not ap_id:
        return None
    return db.session.scalar(select(Group).where(Group.ap_id == ap_id))


def _copy_slug(slug: str, host: str) -> str:
    """`<slug>-<host>` (a valid, unused slug): an ally's group never takes the address of one of ours."""
    tail = HOST_CHARS.sub("-", host.lower()).strip("-")
    base = f"{slug}-{tail}"[:SLUG_MAX].strip("-")
    base = re.sub("-{2,}", "-", base)
    if not validation.is_slug(base):
        base = f"group-{tail}"[:SLUG_MAX].strip("-")
    candidate, n = base, 1
    while db.session.scalar(select(Group.id).where(Group.slug == candidate)) is not None:
        n += 1
        candidate = f"{base[:SLUG_MAX - 1 - len(str(n))]}-{n}"
    return candidate


def store_group_copy(*, ap_id: str, origin_host: str, origin_name: str, slug: str, name: str,
                     description: str, kind: str | None, scope: str | None, joining: str | None,
                     member_count: int | None, url: str | None = None) -> Group:
    """Create or bring up to date our copy of an ally's group (idempotent). A scope our hierarchy does
    not know makes the copy thematic (the ally's territories are not ours)."""
    group = find_copy(ap_id)
    if group is not None and group.is_local:
        raise PermissionDenied(_("Only copies of allies' groups follow their origin."))
    name = " ".join((name or "").split())[:NAME_MAX] or slug
    description = (description or "").strip()[:DESCRIPTION_MAX]
    if kind not in {k.value for k in GroupKind}:
        kind = GroupKind.THEMATIC.value
    if scope not in scope_tree():
        scope = None
    if kind == GroupKind.TERRITORIAL and scope is None:
        kind = GroupKind.THEMATIC.value
    if joining not in {j.value for j in Joining}:
        joining = Joining.APPROVAL.value
    now = utcnow()
    if group is None:
        group = Group(slug=_copy_slug(slug, origin_host), ap_id=ap_id, origin_host=origin_host,
                      created_at=now, member_count=0, name=name, kind=kind, joining=joining)
        try:
            # Two deliveries about one group at once (its Update and a gathering that fetched it): the
            # unique ap_id decides, the second brings the first's row up to date.
            with db.session.begin_nested():
                db.session.add(group)
        except IntegrityError:
            group = find_copy(ap_id)
            if group is None:
                raise
    group.origin_name = (origin_name or origin_host)[:200]
    group.name, group.kind, group.scope, group.joining = name, kind, scope, joining
    if description != group.description:
        group.description = description
        group.description_html = render_markdown(description)
    if member_count is not None and member_count >= 0:
        group.member_count = min(member_count, 2**31 - 1)
    group.removed_at = None
    group.updated_at = now
    db.session.flush()
    return group


def set_copy_member_count(group: Group, count: int) -> None:
    if group.is_local or count < 0:
        return
    db.session.execute(update(Group).where(Group.id == group.id).values(member_count=min(count, 2**31 - 1))
                       .execution_options(synchronize_session=False))
    db.session.expire(group, ["member_count"])


def remove_group_copy(group: Group) -> None:
    """The origin removed its group (or its moderators did): the copy goes from every list."""
    if group.is_local:
        raise PermissionDenied(_("Only copies of allies' groups follow their origin."))
    if group.removed_at is None:
        group.removed_at = utcnow()
        db.session.flush()


def settle_join(group: Group, member: Member, accepted: bool) -> Membership | None:
    """The origin answered our member's request to join its group: active, or no row at all."""
    if group.is_local:
        raise PermissionDenied(_("Only copies of allies' groups follow their origin."))
    membership = db.session.scalar(select(Membership).where(Membership.group_id == group.id,
                                                            Membership.member_id == member.id))
    if not accepted:
        if membership is not None:
            db.session.delete(membership)
            db.session.flush()
        return None
    if membership is None:
        membership = Membership(group_id=group.id, member_id=member.id, state=MembershipState.ACTIVE.value,
                                created_at=utcnow())
        db.session.add(membership)
    membership.state = MembershipState.ACTIVE.value
    db.session.flush()
    return membership
