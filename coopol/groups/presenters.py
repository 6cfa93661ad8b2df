"""Groups as the API and the pages show them (plain dicts, dumped by schemas.py)."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.accounts.services import member_view
from coopol.core.scopes import scope_tree
from coopol.extensions import db
from coopol.groups.models import Group, Membership
from coopol.groups.space import counters_for


def group_url(group: Group) -> str:
    return f"{current_app.config['URL'].rstrip('/')}/groups/{group.slug}"


def _memberships(groups: list[Group], viewer: Member | None) -> dict[int, Membership]:
    if viewer is None or not getattr(viewer, "is_authenticated", False) or not groups:
        return {}
    rows = db.session.scalars(select(Membership).where(Membership.member_id == viewer.id,
                                                       Membership.group_id.in_([g.id for g in groups])))
    return {m.group_id: m for m in rows}


def group_views(groups: list[Group], viewer: Member | None) -> list[dict[str, Any]]:
    mine = _memberships(groups, viewer)
    counters = counters_for(g.id for g in groups)
    host, name = current_app.config["SERVER_HOST"], current_app.config["NAME"]
    views = []
    for group in groups:
        membership = mine.get(group.id)
        url = group_url(group)
        view = {
            "slug": group.slug, "name": group.name, "description": group.description,
            "description_html": group.description_html, "kind": group.kind, "scope": group.scope,
            "scope_name": scope_tree().name(group.scope) if group.scope else None,
            "joining": group.joining, "logo_url": group.logo_url, "state": group.state,
            "member_count": group.member_count, "url": url, "ap_id": group.ap_id or url,
            "origin": {"host": group.origin_host or host, "name": group.origin_name or name},
            "created_at": group.created_at,
            "my_membership": {"role": membership.role, "state": membership.state} if membership else None,
        }
        for key, values in counters.items():
            view[key] = values.get(group.id, 0)
        views.append(view)
    return views


def one_group_view(group: Group, viewer: Member | None) -> dict[str, Any]:
    return group_views([group], viewer)[0]


def membership_view(membership: Membership) -> dict[str, Any]:
    return {"member": member_view(membership.member), "role": membership.role, "state": membership.state,
            "created_at": membership.created_at}
