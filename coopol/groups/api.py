"""Groups API (`/api/v1`): thin handlers over services.py and memberships.py, documented by flask-smorest."""

from __future__ import annotations

from flask_login import login_required
from marshmallow import fields, validate

from coopol.accounts.auth import viewer as _viewer
from coopol.accounts.services import get_member_by_reference
from coopol.core.schemas import Blueprint, LoadSchema
from coopol.groups import memberships, presenters, schemas, services
from coopol.groups.models import REASON_MAX

blp = Blueprint("groups_api", __name__, url_prefix="/api/v1", description="Local groups and their members")


def _group(slug: str):
    return services.get_group(slug, _viewer())


def _membership(membership) -> dict:
    return {"role": membership.role, "state": membership.state}


class ReasonSchema(LoadSchema):
    reason = fields.String(required=True, validate=validate.Length(max=REASON_MAX * 2),
                           metadata={"description": "shown to the member and in the public moderation log"})


class HandOverSchema(LoadSchema):
    handle = fields.String(required=True, validate=validate.Length(max=300),
                           metadata={"description": "the active member who becomes organiser"})


@blp.post("/groups")
@login_required
@blp.arguments(schemas.GroupCreateSchema)
@blp.response(201, schemas.GroupSchema)
@blp.errors(401, 403, 422)
def create_group(data):
    """Start a group; its creator is its first organiser."""
    return presenters.one_group_view(services.create_group(_viewer(), **data), _viewer())


@blp.get("/groups")
@blp.arguments(schemas.GroupListQuerySchema, location="query")
@blp.response(200, schemas.GroupListSchema)
@blp.errors(422)
def list_groups(args):
    """Groups, newest first; `scope` includes the scopes below it."""
    page = services.list_groups(_viewer(), **args)
    return {"items": presenters.group_views(page.groups, _viewer()), "next_cursor": page.next_cursor}


@blp.get("/groups/<slug>")
@blp.response(200, schemas.GroupSchema)
@blp.errors(404)
def get_group(slug: str):
    return presenters.one_group_view(_group(slug), _viewer())


@blp.patch("/groups/<slug>")
@login_required
@blp.arguments(schemas.GroupUpdateSchema)
@blp.response(200, schemas.GroupSchema)
@blp.errors(401, 403, 404, 409, 422)
def update_group(data, slug: str):
    """Organisers edit their group (its slug stays)."""
    return presenters.one_group_view(services.update_group(_viewer(), _group(slug), **data), _viewer())


@blp.post("/groups/<slug>/join")
@login_required
@blp.response(200, schemas.GroupMembershipSchema)
@blp.errors(401, 403, 404, 409)
def join_group(slug: str):
    """Join (open group) or ask to join (approval group); joining again changes nothing."""
    return _membership(memberships.join_group(_viewer(), _group(slug)))


@blp.delete("/groups/<slug>/membership")
@login_required
@blp.response(200, schemas.LeftSchema)
@blp.errors(401, 403, 404, 409)
def leave_group(slug: str):
    """Leave, or withdraw a request; the last organiser must hand over first (409)."""
    memberships.leave_group(_viewer(), _group(slug))
    return {"role": None, "state": None}


@blp.get("/groups/<slug>/members")
@blp.arguments(schemas.MemberListQuerySchema, location="query")
@blp.response(200, schemas.MemberListSchema)
@blp.errors(404, 422)
def list_members(args, slug: str):
    """Members by arrival; organisers and moderators also see pending requests."""
    page = memberships.list_members(_group(slug), _viewer(), **args)
    return {"items": [presenters.membership_view(m) for m in page.memberships], "next_cursor": page.next_cursor}


@blp.post("/groups/<slug>/members/<handle>/approve")
@login_required
@blp.response(200, schemas.GroupMembershipSchema)
@blp.errors(401, 403, 404, 409)
def approve_membership(slug: str, handle: str):
    """Organisers approve a pending request."""
    return _membership(memberships.approve_membership(_viewer(), _group(slug), get_member_by_reference(handle)))


@blp.post("/groups/<slug>/members/<handle>/reject")
@login_required
@blp.response(200, schemas.LeftSchema)
@blp.errors(401, 403, 404, 409)
def reject_membership(slug: str, handle: str):
    memberships.reject_membership(_viewer(), _group(slug), get_member_by_reference(handle))
    return {"role": None, "state": None}


@blp.post("/groups/<slug>/members/<handle>/organiser")
@login_required
@blp.response(200, schemas.GroupMembershipSchema)
@blp.errors(401, 403, 404, 409)
def name_organiser(slug: str, handle: str):
    """Organisers name another active member organiser."""
    return _membership(memberships.name_organiser(_viewer(), _group(slug), get_member_by_reference(handle)))


@blp.delete("/groups/<slug>/members/<handle>")
@login_required
@blp.arguments(ReasonSchema)
@blp.response(200, schemas.LeftSchema)
@blp.errors(401, 403, 404, 409, 422)
def remove_member(data, slug: str, handle: str):
    """Organisers (or moderators) remove a member, with a reason."""
    memberships.remove_member(_viewer(), _group(slug), get_member_by_reference(handle), data["reason"])
    return {"role": None, "state": None}


@blp.post("/groups/<slug>/hand-over")
@login_required
@blp.arguments(HandOverSchema)
@blp.response(200, schemas.GroupMembershipSchema)
@blp.errors(401, 403, 404, 409, 422)
def hand_over_group(data, slug: str):
    """An organiser makes another member organiser and steps down to member."""
    return _membership(memberships.hand_over_group(_viewer(), _group(slug), get_member_by_reference(data["handle"])))
