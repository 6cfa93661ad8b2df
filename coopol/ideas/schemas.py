"""API schemas. Load schemas check types and choices (unknown fields are refused); content rules live in
validation.py so the web forms and federation share them. Dump schemas list every field explicitly."""

from marshmallow import ValidationError, fields, validate

from coopol.accounts.schemas import MemberPublicSchema
from coopol.core.schemas import CursorQuerySchema, DumpSchema, Id, LoadSchema, QueryInteger
from coopol.ideas.models import (
    ANSWER_STATES,
    COMMENT_VOTE_VALUES,
    IDEA_VOTE_VALUES,
    STANCES,
    WITHDRAW_REASONS,
    IdeaState,
)
from coopol.ideas.queries import sort_names


class KnownSort(validate.Validator):
    """One of the sorts of the app in force: other packages add theirs when they register (extend.py)."""

    error = "Must be one of: {choices}."

    def __call__(self, value: str) -> str:
        if value not in sort_names():
            raise ValidationError(str(self.error).format(choices=", ".join(sort_names())))
        return value


class IdeaCreateSchema(LoadSchema):
    title = fields.String(required=True, metadata={"description": "3 to 200 characters"})
    body = fields.String(required=True, metadata={"description": "Markdown, at most 50,000 characters"})
    tags = fields.List(fields.String(), load_default=list)
    scope = fields.String(load_default=None, allow_none=True,
                          metadata={"description": "a code of the instance's territorial hierarchy"})
    language = fields.String(load_default=None, allow_none=True,
                             metadata={"description": "one of the instance's languages (default: its own)"})
    group = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                          metadata={"description": "the slug of a group of this instance the author is an "
                                                   "active member of, to post the idea in it"})
    publish = fields.Boolean(load_default=True, metadata={"description": "false keeps it as a private draft"})


class IdeaUpdateSchema(LoadSchema):
    title = fields.String()
    body = fields.String()
    tags = fields.List(fields.String())
    scope = fields.String(allow_none=True)
    language = fields.String()
    group = fields.String(allow_none=True, validate=validate.Length(max=64),
                          metadata={"description": "a group's slug; null or empty to take it out of its group"})


class WithdrawSchema(LoadSchema):
    reason = fields.String(required=True, validate=validate.OneOf(WITHDRAW_REASONS))
    explanation = fields.String(load_default=None, allow_none=True,
                                metadata={"description": "required when the reason is 'other'"})


class AnswerSchema(LoadSchema):
    state = fields.String(required=True, validate=validate.OneOf([str(s) for s in ANSWER_STATES]))
    answer = fields.String(load_default=None, allow_none=True,
                           metadata={"description": "Markdown; required for accepted and rejected"})


class VoteSchema(LoadSchema):
    value = fields.String(required=True, validate=validate.OneOf(IDEA_VOTE_VALUES))


class CommentVoteSchema(LoadSchema):
    value = fields.String(required=True, validate=validate.OneOf(COMMENT_VOTE_VALUES),
                          metadata={"description": "the same value again withdraws the vote"})


class CommentCreateSchema(LoadSchema):
    body = fields.String(required=True, metadata={"description": "Markdown, at most 10,000 characters"})
    stance = fields.String(load_default="neutral", validate=validate.OneOf(STANCES))
    parent_id = Id(load_default=None, allow_none=True, metadata={"description": "the comment answered"})


class CommentUpdateSchema(LoadSchema):
    body = fields.String(required=True)
    stance = fields.String(validate=validate.OneOf(STANCES))


class IdeaListQuerySchema(CursorQuerySchema):
    sort = fields.String(load_default=None, validate=KnownSort(),
                         metadata={"description": "hot, top, new, comments, controversial, bridging, relevance;"
                                                  " default: relevance with q, hot otherwise"})
    q = fields.String(load_default=None, validate=validate.Length(max=200))
    tag = fields.String(load_default=None)
    scope = fields.String(load_default=None, metadata={"description": "includes the scopes below it"})
    state = fields.String(load_default=None, validate=validate.OneOf([s.value for s in IdeaState]))
    language = fields.String(load_default=None, validate=validate.Length(max=35))
    origin = fields.String(load_default=None, metadata={"description": "an instance's host, or 'local'"})
    author = fields.String(load_default=None, metadata={"description": "an author's handle"})
    group = fields.String(load_default=None, validate=validate.Length(max=64),
                          metadata={"description": "the slug of the group the ideas were posted in"})


class CommentListQuerySchema(CursorQuerySchema):
    limit = QueryInteger(load_default=50, minimum=1, maximum=100,
                         metadata={"description": "top-level comments per page (with all their replies)"})


class PersonSchema(DumpSchema):
    handle = fields.String(allow_none=True, metadata={"description": "null for an erased member"})
    name = fields.String()
    instance = fields.String()


class OriginSchema(DumpSchema):
    host = fields.String()
    name = fields.String()


class CountsSchema(DumpSchema):
    support = fields.Integer()
    oppose = fields.Integer()


class TallySchema(DumpSchema):
    support = fields.Integer(allow_none=True, metadata={"description": "null while the instance hides counts"})
    oppose = fields.Integer(allow_none=True)
    by_instance = fields.Dict(keys=fields.String(), values=fields.Nested(CountsSchema))
    parties = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "the party's name at each host of by_instance"})
    hidden = fields.Boolean()
    my_vote = fields.String(allow_none=True)
    reached_threshold = fields.Boolean(allow_none=True)
    threshold = fields.Integer(allow_none=True)


class IdeaGroupSchema(DumpSchema):
    slug = fields.String()
    name = fields.String()
    url = fields.String()


class BridgingSchema(DumpSchema):
    score = fields.Float(metadata={"description": "0 to 1: support across the main divide and across parties"})
    parties = fields.Integer(metadata={"description": "parties whose voters mostly support the idea"})


class IdeaSchema(DumpSchema):
    id = fields.Integer()
    ap_id = fields.String()
    url = fields.String()
    title = fields.String(metadata={"description": "empty when removed by the moderators"})
    body = fields.String()
    body_html = fields.String()
    tags = fields.List(fields.String())
    scope = fields.String(allow_none=True)
    scope_name = fields.String()
    group = fields.Nested(IdeaGroupSchema, allow_none=True,
                          metadata={"description": "the local group it was posted in, or null"})
    language = fields.String()
    state = fields.String(metadata={"description": "draft, published, evaluating, accepted, rejected, withdrawn"})
    withdrawn_reason = fields.String(allow_none=True)
    withdrawn_explanation = fields.String(allow_none=True)
    answer = fields.String(allow_none=True)
    answer_html = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    answered_by = fields.Nested(PersonSchema, allow_none=True)
    author = fields.Nested(PersonSchema)
    origin = fields.Nested(OriginSchema)
    created_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)
    updated_at = fields.DateTime()
    edited = fields.Boolean()
    edited_at = fields.DateTime(allow_none=True)
    comment_count = fields.Integer()
    tally = fields.Nested(TallySchema)
    fediverse_votes = fields.Nested(CountsSchema, metadata={
        "description": "likes (support) and dislikes (oppose) from fediverse followers: never in the tally"})
    my_vote = fields.String(allow_none=True)
    reached_threshold = fields.Boolean(allow_none=True)
    hidden = fields.Boolean()
    removed = fields.Boolean()
    locked = fields.Boolean()
    pinned = fields.Boolean()
    bridging = fields.Nested(BridgingSchema, allow_none=True,
                             metadata={"description": "its place in sort=bridging; null until ranked"})


class IdeaListSchema(DumpSchema):
    items = fields.List(fields.Nested(IdeaSchema))
    next_cursor = fields.String(allow_none=True)


class CommentSchema(DumpSchema):
    id = fields.Integer()
    ap_id = fields.String()
    url = fields.String()
    idea_id = fields.Integer()
    parent_id = fields.Integer(allow_none=True)
    depth = fields.Integer()
    stance = fields.String()
    body = fields.String(metadata={"description": "empty when deleted or removed"})
    body_html = fields.String()
    author = fields.Nested(PersonSchema, allow_none=True)
    created_at = fields.DateTime()
    edited = fields.Boolean()
    edited_at = fields.DateTime(allow_none=True)
    deleted = fields.Boolean()
    hidden = fields.Boolean()
    removed = fields.Boolean()
    up = fields.Integer()
    down = fields.Integer()
    my_vote = fields.String(allow_none=True)


class CommentListSchema(DumpSchema):
    items = fields.List(fields.Nested(CommentSchema))
    next_cursor = fields.String(allow_none=True)


class RevisionSchema(DumpSchema):
    number = fields.Integer()
    title = fields.String()
    body = fields.String()
    tags = fields.List(fields.String())
    scope = fields.String(allow_none=True)
    editor = fields.Nested(PersonSchema, allow_none=True)
    created_at = fields.DateTime()


class RevisionListSchema(DumpSchema):
    items = fields.List(fields.Nested(RevisionSchema))
    next_cursor = fields.String(allow_none=True)


class InstanceCountsSchema(DumpSchema):
    total = fields.Integer()
    by_instance = fields.Dict(keys=fields.String(), values=fields.Integer())


class PeriodSchema(DumpSchema):
    month = fields.String(metadata={"description": "YYYY-MM"})
    members = fields.Integer()
    ideas = fields.Integer()
    comments = fields.Integer()
    votes = fields.Integer()


class GatheringStatsSchema(DumpSchema):
    """Filled by the events module (registered through coopol/core/stats.py)."""

    held = fields.Nested(InstanceCountsSchema, metadata={"description": "gatherings that took place, by origin"})
    people_went = fields.Nested(InstanceCountsSchema,
                                metadata={"description": "people going to a gathering that took place, by their "
                                                         "instance"})
    upcoming = fields.Nested(InstanceCountsSchema)


class StatsSchema(DumpSchema):
    instance = fields.String()
    parties = fields.Dict(keys=fields.String(), values=fields.String(),
                          metadata={"description": "the party's name at each host of by_instance"})
    members = fields.Nested(InstanceCountsSchema)
    ideas = fields.Nested(InstanceCountsSchema)
    comments = fields.Nested(InstanceCountsSchema)
    votes = fields.Nested(InstanceCountsSchema)
    gatherings = fields.Nested(GatheringStatsSchema)
    over_time = fields.List(fields.Nested(PeriodSchema))


class MemberProfileSchema(MemberPublicSchema):
    """A member's public profile (never the e-mail address)."""

    follower_count = fields.Integer(metadata={"description": "0 until members can follow each other"})
    following_count = fields.Integer(metadata={"description": "0 until members can follow each other"})
    idea_count = fields.Integer(metadata={"description": "ideas they published that anyone may see"})
