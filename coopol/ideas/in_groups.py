"""Ideas posted in a local group: who may post there, how an idea shows its group, and the group page's
"Ideas posted here" section (registered with coopol/groups/space.py; groups never imports ideas).

Any active member of one of our own groups may post in it while the moderators leave it open (not hidden,
removed or locked); an ally's copy of a group takes no ideas of ours (its origin owns it).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.validation import Errors
from coopol.extensions import db
from coopol.groups.models import Group, GroupState, Membership, MembershipState
from coopol.groups.services import find_group

SECTION_IDEAS = 5


def clean_group(value: Any, author: Member, errors: Errors) -> Group | None:
    """The group named by its slug, if the author may post in it; None for no group."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    slug = str(value).strip()
    group = find_group(slug)
    if group is None or not group.is_listed:
        errors.add("group", _("No group '%(slug)s'.", slug=slug[:64]))
        return None
    if not group.is_local:
        errors.add("group", _("Ideas can be posted only in this instance's own groups."))
        return None
    if group.state != GroupState.VISIBLE:
        errors.add("group", _("This group is locked by the moderators."))
        return None
    if not is_active_member(group, author):
        errors.add("group", _("Only the members of this group may post in it."))
        return None
    return group


def is_active_member(group: Group, member: Member) -> bool:
    return db.session.scalar(select(Membership.id).where(
        Membership.group_id == group.id, Membership.member_id == member.id,
        Membership.state == MembershipState.ACTIVE)) is not None


def groups_to_post_in(member: Member | None) -> list[Group]:
    """The member's groups that take ideas, by name (the web form's choices)."""
    if member is None or not getattr(member, "is_authenticated", False):
        return []
    return list(db.session.scalars(
        select(Group).join(Membership, Membership.group_id == Group.id)
        .where(Membership.member_id == member.id, Membership.state == MembershipState.ACTIVE,
               Group.origin_host.is_(None), *Group.listed(), Group.locked_at.is_(None))
        .order_by(Group.name, Group.id)))


def load_groups(ideas: list) -> None:
    """Load the groups of a page of ideas in one query (the identity map then answers `idea.group`)."""
    ids = {idea.group_id for idea in ideas if idea.group_id is not None}
    if ids:
        list(db.session.scalars(select(Group).where(Group.id.in_(ids))))


def group_of(idea) -> dict[str, Any] | None:
    """{slug, name, url} of the idea's group, None when it has none or the group is hidden or removed."""
    group = idea.group if idea.group_id is not None else None
    if group is None or not group.is_listed:
        return None
    return {"slug": group.slug, "name": group.name,
            "url": current_app.config["URL"].rstrip("/") + url_for("groups.show", slug=group.slug)}


def group_section(group: Group, viewer: Member | None) -> dict[str, Any]:
    from coopol.ideas import presenters, queries

    page = queries.list_ideas(viewer, sort="new", page=1, limit=SECTION_IDEAS, pinned_first=False,
                              group=group.slug)
    return {"ideas": presenters.idea_views(page.ideas, viewer), "total": page.total,
            "list_url": url_for("ideas.index", group=group.slug, sort="new")}


def register_with_groups(app: Flask) -> None:
    from coopol.groups.space import register_section

    register_section(app, "ideas", _l("Ideas posted here"), "ideas/_group_section.html", group_section, order=20)
