"""Load schemas check shapes only (allowed values are checked by the services, with clear messages);
dump schemas list what each audience may see."""

from marshmallow import fields, validate

from coopol.core.schemas import CursorQuerySchema, DumpSchema, LoadSchema
from coopol.moderation.models import ActionKind, ReportReason, TargetType

TARGET_TYPES = [t.value for t in TargetType]
REASONS = [r.value for r in ReportReason]
ACTIONS = [a.value for a in ActionKind] + ["feature", "unfeature"]


class ReportCreateSchema(LoadSchema):
    target_type = fields.String(required=True, validate=validate.OneOf(TARGET_TYPES))
    target_id = fields.Integer(required=True, strict=True)
    reason = fields.String(required=True, validate=validate.OneOf(REASONS))
    text = fields.String(load_default="", validate=validate.Length(max=2000))


class ReportSchema(DumpSchema):
    id = fields.Integer()
    target_type = fields.String()
    target_id = fields.Integer()
    reason = fields.String()
    text = fields.String()
    status = fields.String()
    created_at = fields.DateTime()


class ReporterSchema(DumpSchema):
    handle = fields.String()
    name = fields.String()


class ModeratorReportSchema(ReportSchema):
    reporter = fields.Nested(ReporterSchema, metadata={"description": "shown to moderators only"})


class ActionCreateSchema(LoadSchema):
    action = fields.String(required=True, validate=validate.OneOf(ACTIONS),
                           metadata={"description": "`feature` is an alias of `pin`"})
    target_type = fields.String(required=True, validate=validate.OneOf(TARGET_TYPES))
    target_id = fields.Integer(required=True, strict=True)
    reason = fields.String(required=True, metadata={"description": "required; a ban needs 15 characters"})
    until = fields.String(load_default=None, allow_none=True,
                          metadata={"description": "end of a suspension: 2030-01-31 or an ISO datetime"})
    state = fields.String(load_default=None, allow_none=True,
                          metadata={"description": "`answer` only: evaluating, accepted or rejected"})
    answer = fields.String(load_default=None, allow_none=True,
                           metadata={"description": "`answer` only: the official answer (default: reason)"})


class ActionSchema(DumpSchema):
    id = fields.Integer()
    action = fields.String()
    target_type = fields.String()
    target_id = fields.Integer()
    reason = fields.String()
    until = fields.DateTime(allow_none=True)
    moderator = fields.String(allow_none=True, metadata={"description": "null when automatic"})
    automatic = fields.Boolean()
    created_at = fields.DateTime()
    reversed_at = fields.DateTime(allow_none=True)
    appealable = fields.Boolean()
    appeal_status = fields.String(allow_none=True)


class AppealCreateSchema(LoadSchema):
    text = fields.String(required=True)
    login = fields.String(load_default=None, metadata={
        "description": "for suspended or banned members, who cannot use a token: handle or e-mail"})
    password = fields.String(load_default=None, load_only=True)


class AppealDecisionSchema(LoadSchema):
    decision = fields.String(required=True, validate=validate.OneOf(["uphold", "reverse"]))
    reason = fields.String(required=True)


class AppealSchema(DumpSchema):
    id = fields.Integer()
    action_id = fields.Integer()
    text = fields.String()
    status = fields.String()
    created_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)


class ModeratorAppealSchema(AppealSchema):
    appellant = fields.String()
    action = fields.Nested(ActionSchema)


class AppealListSchema(DumpSchema):
    items = fields.List(fields.Nested(ModeratorAppealSchema))
    next_cursor = fields.String(allow_none=True)


class QueueTargetSchema(DumpSchema):
    type = fields.String()
    id = fields.Integer()
    url = fields.String(allow_none=True)
    label = fields.String()
    author = fields.String(allow_none=True)
    hidden = fields.Boolean()
    hidden_reason = fields.String(allow_none=True)
    removed = fields.Boolean()
    excerpt = fields.String()
    state = fields.String()
    locked = fields.Boolean()
    pinned = fields.Boolean()
    status = fields.String()
    votes = fields.Integer()
    new_account_votes = fields.Integer(allow_none=True, metadata={
        "description": "ideas: votes from accounts created in the last 24 hours"})
    context = fields.Dict(allow_none=True)


class QueueItemSchema(DumpSchema):
    target_type = fields.String()
    target_id = fields.Integer()
    target = fields.Nested(QueueTargetSchema)
    report_count = fields.Integer()
    first_reported_at = fields.DateTime(allow_none=True)
    reports = fields.List(fields.Nested(ModeratorReportSchema))


class QueueSchema(DumpSchema):
    items = fields.List(fields.Nested(QueueItemSchema))
    next_cursor = fields.String(allow_none=True)


class ModlogTargetSchema(DumpSchema):
    type = fields.String()
    id = fields.Integer()
    url = fields.String(allow_none=True)
    label = fields.String(allow_none=True)
    notice = fields.String(allow_none=True, metadata={"description": "set instead of a link when removed"})


class ModlogEntrySchema(DumpSchema):
    id = fields.Integer()
    created_at = fields.DateTime()
    action = fields.String(metadata={"description": "an action, or appeal_upheld / appeal_reversed"})
    moderator = fields.String(allow_none=True, metadata={"description": "null for automatic actions"})
    automatic = fields.Boolean()
    target = fields.Nested(ModlogTargetSchema)
    reason = fields.String()
    until = fields.DateTime(allow_none=True)
    action_id = fields.Integer(allow_none=True)


class ModlogSchema(DumpSchema):
    items = fields.List(fields.Nested(ModlogEntrySchema))
    next_cursor = fields.String(allow_none=True)


class NotificationSchema(DumpSchema):
    id = fields.Integer()
    kind = fields.String()
    message = fields.String()
    link = fields.String(allow_none=True)
    created_at = fields.DateTime()
    read_at = fields.DateTime(allow_none=True)


class NotificationListSchema(DumpSchema):
    items = fields.List(fields.Nested(NotificationSchema))
    next_cursor = fields.String(allow_none=True)
    unread = fields.Integer()


class MarkReadSchema(LoadSchema):
    id = fields.Integer(load_default=None, allow_none=True, strict=True,
                        metadata={"description": "one notification; all of them when omitted"})


class MarkedSchema(DumpSchema):
    marked = fields.Integer()


class IdeaSignalsSchema(DumpSchema):
    idea_id = fields.Integer()
    votes = fields.Integer()
    new_account_votes = fields.Integer()
    open_reports = fields.Integer()


class PageQuerySchema(CursorQuerySchema):
    pass
