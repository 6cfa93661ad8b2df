"""API schemas for groups. Load schemas check types and choices (unknown fields refused); the content
rules (slug format, scope, lengths) live in validation.py, shared with the forms."""

from marshmallow import fields, validate

from coopol.accounts.schemas import MemberPublicSchema
from coopol.core.schemas import CursorQuerySchema, DumpSchema, LoadSchema, QueryInteger
from coopol.groups.models import DESCRIPTION_MAX, NAME_MAX, SLUG_MAX, URL_MAX, GroupKind, Joining

KINDS = [k.value for k in GroupKind]
JOININGS = [j.value for j in Joining]


class GroupCreateSchema(LoadSchema):
    name = fields.String(required=True, validate=validate.Length(max=NAME_MAX * 4),
                         metadata={"description": "3 to 100 characters"})
    slug = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=SLUG_MAX * 4),
                         metadata={"description": "the address, /groups/{slug}: 3 to 64 of a-z, 0-9 and '-'; "
                                                  "made from the name when left out"})
    description = fields.String(load_default="", validate=validate.Length(max=DESCRIPTION_MAX * 2),
                                metadata={"description": "Markdown, at most 10,000 characters"})
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))
    scope = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64 * 4),
                          metadata={"description": "a code of the instance's territorial hierarchy; "
                                                   "required for a territorial group"})
    joining = fields.String(load_default="open", validate=validate.OneOf(JOININGS))
    logo_url = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=URL_MAX * 2))


class GroupUpdateSchema(LoadSchema):
    name = fields.String(validate=validate.Length(max=NAME_MAX * 4))
    description = fields.String(validate=validate.Length(max=DESCRIPTION_MAX * 2))
    kind = fields.String(validate=validate.OneOf(KINDS))
    scope = fields.String(allow_none=True, validate=validate.Length(max=64 * 4))
    joining = fields.String(validate=validate.OneOf(JOININGS))
    logo_url = fields.String(allow_none=True, validate=validate.Length(max=URL_MAX * 2))


class GroupListQuerySchema(CursorQuerySchema):
    scope = fields.String(load_default=None, validate=validate.Length(max=64),
                          metadata={"description": "includes the scopes below it"})
    q = fields.String(load_default=None, validate=validate.Length(max=200),
                      metadata={"description": "words in the name or description"})
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))


class MemberListQuerySchema(CursorQuerySchema):
    limit = QueryInteger(load_default=50, minimum=1, maximum=100)


class GroupOriginSchema(DumpSchema):
    host = fields.String()
    name = fields.String()


class MyMembershipSchema(DumpSchema):
    role = fields.String(metadata={"description": "member or organiser"})
    state = fields.String(metadata={"description": "active or pending"})


class GroupSchema(DumpSchema):
    slug = fields.String()
    name = fields.String()
    description = fields.String()
    description_html = fields.String()
    kind = fields.String(metadata={"description": "territorial or thematic"})
    scope = fields.String(allow_none=True)
    scope_name = fields.String(allow_none=True)
    joining = fields.String(metadata={"description": "open or approval"})
    logo_url = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "visible, hidden, removed or locked (by moderators)"})
    member_count = fields.Integer(metadata={"description": "active members (pending requests not counted)"})
    upcoming_event_count = fields.Integer()
    url = fields.String()
    ap_id = fields.String()
    origin = fields.Nested(GroupOriginSchema)
    created_at = fields.DateTime()
    my_membership = fields.Nested(MyMembershipSchema, allow_none=True,
                                  metadata={"description": "null when the viewer is not a member"})


class GroupListSchema(DumpSchema):
    items = fields.List(fields.Nested(GroupSchema))
    next_cursor = fields.String(allow_none=True)


class GroupMembershipSchema(DumpSchema):
    role = fields.String(metadata={"description": "member or organiser"})
    state = fields.String(metadata={"description": "active or pending"})


class MemberEntrySchema(DumpSchema):
    member = fields.Nested(MemberPublicSchema)
    role = fields.String()
    state = fields.String()
    created_at = fields.DateTime()


class MemberListSchema(DumpSchema):
    items = fields.List(fields.Nested(MemberEntrySchema))
    next_cursor = fields.String(allow_none=True)


class LeftSchema(DumpSchema):
    role = fields.String(allow_none=True)
    state = fields.String(allow_none=True, metadata={"description": "null: not a member any more"})
