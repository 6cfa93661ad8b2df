"""Wire shapes of follows, the feed, notifications and preferences (load and dump kept apart)."""

from __future__ import annotations

from marshmallow import fields, validate

from coopol.core.schemas import CursorQuerySchema, DumpSchema, Id, LoadSchema
from coopol.notifications.preferences import CHANNELS, DIGESTS, KINDS


class ActorSchema(DumpSchema):
    handle = fields.String(allow_none=True)
    name = fields.String()
    instance = fields.String()


class TargetSchema(DumpSchema):
    type = fields.String(allow_none=True)
    id = fields.Integer(allow_none=True)
    url = fields.String(allow_none=True)


class NotificationSchema(DumpSchema):
    id = fields.Integer()
    kind = fields.String()
    read = fields.Boolean()
    created_at = fields.DateTime()
    count = fields.Integer()
    actor = fields.Nested(ActorSchema, allow_none=True)
    target = fields.Nested(TargetSchema)
    text = fields.String()
    # The names of the first version (moderation's notices), kept for existing clients.
    message = fields.String()
    link = fields.String(allow_none=True)
    read_at = fields.DateTime(allow_none=True)


class NotificationListSchema(DumpSchema):
    items = fields.List(fields.Nested(NotificationSchema))
    next_cursor = fields.String(allow_none=True)
    unread = fields.Integer()


class NotificationQuerySchema(CursorQuerySchema):
    unread = fields.Boolean(load_default=False, metadata={"description": "only unread notifications"})


class MarkReadSchema(LoadSchema):
    id = Id(load_default=None, allow_none=True, metadata={"description": "one notification"})
    ids = fields.List(Id(), load_default=None, allow_none=True, validate=validate.Length(max=100),
                      metadata={"description": "several notifications"})
    all = fields.Boolean(load_default=None, allow_none=True, metadata={
        "description": "all of them (also what an empty body means)"})


class MarkedSchema(DumpSchema):
    marked = fields.Integer()


class FollowingSchema(DumpSchema):
    following = fields.Boolean()
    state = fields.String(metadata={"description": "active, or pending until a remote member's instance accepts"})


class FollowedMemberSchema(DumpSchema):
    handle = fields.String()
    state = fields.String()


class FollowListSchema(DumpSchema):
    members = fields.List(fields.Nested(FollowedMemberSchema))
    ideas = fields.List(fields.Integer())
    groups = fields.List(fields.String())
    tags = fields.List(fields.String())
    scopes = fields.List(fields.String())


class BlockingSchema(DumpSchema):
    blocked = fields.Boolean()


class BlockedMemberSchema(DumpSchema):
    handle = fields.String()
    name = fields.String()
    instance = fields.String()
    created_at = fields.DateTime(metadata={"description": "when I blocked them"})


class BlockListSchema(DumpSchema):
    items = fields.List(fields.Nested(BlockedMemberSchema))
    next_cursor = fields.String(allow_none=True)


class FeedObjectSchema(DumpSchema):
    type = fields.String()
    id = fields.Integer()
    title = fields.String()
    url = fields.String()
    idea_id = fields.Integer()
    excerpt = fields.String()
    state = fields.String()
    starts_at = fields.DateTime()


class FeedItemSchema(DumpSchema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "idea | comment | answer | event"})
    created_at = fields.DateTime()
    actor = fields.Nested(ActorSchema, allow_none=True)
    object = fields.Nested(FeedObjectSchema)


class FeedSchema(DumpSchema):
    items = fields.List(fields.Nested(FeedItemSchema))
    next_cursor = fields.String(allow_none=True)


class PreferencesSchema(DumpSchema):
    email_digest = fields.String()
    notify = fields.Dict(keys=fields.String(), values=fields.String())
    hide_follows = fields.Boolean()


class PreferencesUpdateSchema(LoadSchema):
    email_digest = fields.String(load_default=None, validate=validate.OneOf(DIGESTS))
    notify = fields.Dict(keys=fields.String(validate=validate.OneOf(KINDS)),
                         values=fields.String(validate=validate.OneOf(CHANNELS)), load_default=None)
    hide_follows = fields.Boolean(load_default=None, metadata={"description": "hide whom I follow and who follows me"})
