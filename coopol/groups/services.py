"""Groups: create, edit, find and list. Memberships are in memberships.py.

Services take the acting member, flush and never commit (STYLE.md); they publish `group_created` and
`group_updated` (with `group, actor`) through coopol/core/events.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from coopol.accounts.models import Member
from coopol.core.errors import ValidationFailed
from coopol.core.events import publish
from coopol.core.schemas import parse_id
from coopol.core.scopes import scope_tree
from coopol.core.text import render_markdown
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.groups import guards, validation
from coopol.groups.models import Group, Membership, MembershipState, Role

SLUG_ATTEMPTS = 5
EDITABLE = ("name", "description", "kind", "scope", "joining", "logo_url")


def _slug_taken(slug: str) -> bool:
    return db.session.scalar(select(Group.id).where(Group.slug == slug)) is not None


def _free_slug(base: str) -> str:
    slug, n = base, 1
    while _slug_taken(slug):
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_group(actor: Member, *, name: str, description: str = "", kind: str, scope: str | None = None,
                 joining: str = "open", slug: str | None = None, logo_url: str | None = None) -> Group:
    """Any active member may start a group and is its first organiser."""
    guards.ensure_can_act(actor)
    errors = validation.Errors()
    name = validation.clean_name(name, errors)
    description = validation.clean_description(description, errors)
    kind, scope = validation.clean_kind_and_scope(kind, scope, errors)
    joining = validation.clean_joining(joining, errors)
    logo_url = validation.clean_logo_url(logo_url, errors)
    if slug is not None and slug != "":
        slug = validation.clean_slug(slug, errors)
        if "slug" not in errors and _slug_taken(slug):
            errors.add("slug", _("Another group already uses this address."))
    errors.raise_if_any()
    chosen = bool(slug)
    now = utcnow()
    group = Group(name=name, description=description, description_html=render_markdown(description),
                  kind=kind, scope=scope, joining=joining, logo_url=logo_url,
                  member_count=1, created_by_id=actor.id, created_at=now, updated_at=now)
    for _attempt in range(SLUG_ATTEMPTS):
        group.slug = slug if chosen else _free_slug(validation.slugify(name))
        try:
            # Another group may take the address between our check and our insert (two creations at
            # once): a chosen slug is then a 422 like any taken one, a made-up one moves to the next number.
            with db.session.begin_nested():
                db.session.add(group)
            break
        except IntegrityError:
            if chosen or not _slug_taken(group.slug):
                raise ValidationFailed.field("slug", _("Another group already uses this address.")) from None
    else:
        raise ValidationFailed.field("slug", _("Another group already uses this address."))
    db.session.add(Membership(group_id=group.id, member_id=actor.id, role=Role.ORGANISER.value,
                              state=MembershipState.ACTIVE.value, created_at=now))
    db.session.flush()
    publish("group_created", group=group, actor=actor)
    return group


def update_group(actor: Member, group: Group, **changes: Any) -> Group:
    """Organisers edit their group (not its address: links to it must keep working)."""
    guards.ensure_can_act(actor)
    guards.ensure_organiser(group, actor)
    guards.ensure_open(group)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValidationFailed.fields({name: [_("This field cannot be changed.")] for name in unknown})
    errors = validation.Errors()
    values: dict[str, Any] = {}
    if "name" in changes:
        values["name"] = validation.clean_name(changes["name"], errors)
    if "description" in changes:
        values["description"] = validation.clean_description(changes["description"], errors)
    if "kind" in changes or "scope" in changes:
        kind, scope = validation.clean_kind_and_scope(changes.get("kind", group.kind),
                                                      changes.get("scope", group.scope), errors)
        values.update(kind=kind, scope=scope)
    if "joining" in changes:
        values["joining"] = validation.clean_joining(changes["joining"], errors)
    if "logo_url" in changes:
        values["logo_url"] = validation.clean_logo_url(changes["logo_url"], errors)
    errors.raise_if_any()
    for field, value in values.items():
        setattr(group, field, value)
    if "description" in values:
        group.description_html = render_markdown(values["description"])
    group.updated_at = utcnow()
    db.session.flush()
    publish("group_updated", group=group, actor=actor)
    return group


def find_group(slug: str | None) -> Group | None:
    if not validation.is_slug(slug):
        return None
    return db.session.scalar(select(Group).where(Group.slug == slug))


def get_group(slug: str, viewer: Member | None) -> Group:
    """The group, if the viewer may see it; a 404 otherwise (also for a malformed slug)."""
    return guards.ensure_viewable(find_group(slug), viewer, slug or "")


@dataclass
class GroupPage:
    groups: list[Group]
    next_cursor: str | None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_groups(viewer: Member | None = None, *, scope: str | None = None, q: str | None = None,
                kind: str | None = None, cursor: str | None = None, limit: int = 20) -> GroupPage:
    """Listed groups, newest first, keyset-paged by id; `scope` includes every scope below it."""
    stmt = select(Group).where(*Group.listed())
    if scope:
        if scope not in scope_tree():
            raise ValidationFailed.field("scope", _("Unknown scope '%(code)s'.", code=scope[:64]))
        stmt = stmt.where(Group.scope.in_(scope_tree().descendants(scope)))
    if kind:
        stmt = stmt.where(Group.kind == kind)
    if q and q.strip():
        pattern = f"%{_escape_like(q.strip().lower())}%"
        stmt = stmt.where(or_(func.lower(Group.name).like(pattern, escape="\\"),
                              func.lower(Group.description).like(pattern, escape="\\")))
    if cursor:
        last_id = parse_id(cursor)
        if last_id is None:
            raise ValidationFailed.field("cursor", _("This cursor is not valid."))
        stmt = stmt.where(Group.id < last_id)
    rows = list(db.session.scalars(stmt.order_by(Group.id.desc()).limit(limit + 1)))
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return GroupPage(rows[:limit], next_cursor)


def count_groups() -> int:
    return db.session.scalar(select(func.count()).select_from(Group).where(
        *Group.listed())) or 0


DIRECTORY_MAX = 500


def directory(*, scope: str | None = None, q: str | None = None) -> dict[str, list[Group]]:
    """Listed groups for the directory page, by name: `territorial` ones (in the scope tree's order, the
    page groups them by scope) and `thematic` ones; at most DIRECTORY_MAX of each."""
    out: dict[str, list[Group]] = {}
    for kind in ("territorial", "thematic"):
        stmt = select(Group).where(*Group.listed(), Group.kind == kind)
        if scope and kind == "territorial":
            stmt = stmt.where(Group.scope.in_(scope_tree().descendants(scope)))
        if q and q.strip():
            pattern = f"%{_escape_like(q.strip().lower())}%"
            stmt = stmt.where(or_(func.lower(Group.name).like(pattern, escape="\\"),
                                  func.lower(Group.description).like(pattern, escape="\\")))
        out[kind] = list(db.session.scalars(stmt.order_by(Group.name, Group.id).limit(DIRECTORY_MAX)))
    return out
