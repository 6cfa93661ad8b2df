"""Load schemas check shapes only (allowed values are checked by the services, with clear messages);
dump schemas list what each audience may see."""

import re
from typing import Any

from marshmallow import ValidationError, fields, validate

from coopol.core.schemas import MAX_ID, CursorQuerySchema, DumpSchema, Id, LoadSchema, Moment
from coopol.moderation.models import ActionKind, ReportReason, TargetType

TARGET_TYPES = [t.value for t in TargetType]
REASONS = [r.value for r in ReportReason]
ACTIONS = [a.value for a in ActionKind] + ["feature", "unfeature"]
# A member named by handle: `alice` here, `alice@ally.example` for a member of another instance.
MEMBER_REFERENCE = re.compile(r"@?[A-Za-z0-9_]{1,64}(@[A-Za-z0-9.:-]{1,255})?")
# A group named by its slug (coopol/groups/validation.py says which slugs exist).
GROUP_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,62}[a-z0-9]")


class TargetId(fields.Field):
    """What a report or an action is about: an idea's or a comment's id (an `Id`), a member's
    handle (`handle` or `handle@host`; a member's integer id works too) or a group's slug."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("metadata", {}).update(
            description="an idea's or comment's id; a member's handle (`alice`, `alice@ally.example`); "
                        "a group's slug",
            oneOf=[{"type": "integer", "minimum": 1, "maximum": MAX_ID},
                   {"type": "string", "pattern": f"^{MEMBER_REFERENCE.pattern}$", "maxLength": 320},
                   {"type": "string", "pattern": f"^{GROUP_SLUG.pattern}$", "maxLength": 64}])
        super().__init__(**kwargs)
        self._id = Id()

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int | str:
        if isinstance(value, str):
            if len(value) <= 64 and GROUP_SLUG.fullmatch(value) and not MEMBER_REFERENCE.fullmatch(value):
                return value
            if len(value) > 320 or not MEMBER_REFERENCE.fullmatch(value):
                raise ValidationError("Use an id, a member's handle such as alice or alice@ally.example, "
                                      "or a group's slug.")
            return value.lstrip("@").lower()
        return self._id.deserialize(value)


class ReportCreateSchema(LoadSchema):
    target_type = fields.String(required=True, validate=validate.OneOf(TARGET_TYPES))
    target_id = TargetId(required=True)
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
    target_id = TargetId(required=True)
    reason = fields.String(required=True, metadata={"description": "required; a ban needs 15 characters"})
    until = Moment(load_default=None, allow_none=True, metadata={
        "description": "end of a suspension: 2030-01-31 or an ISO datetime (naive means UTC), before 9000"})
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


class MarkedSchema(DumpSchema):
    marked = fields.Integer()


class IdeaSignalsSchema(DumpSchema):
    idea_id = fields.Integer()
    votes = fields.Integer()
    new_account_votes = fields.Integer()
    open_reports = fields.Integer()


class PageQuerySchema(CursorQuerySchema):
    pass
