"""API schemas for gatherings. Load schemas check types (unknown fields refused); the content rules
(dates, time zone, place, URL, capacity) live in validation.py, shared with the forms, so that every
bad value is a 422 naming its field."""

from marshmallow import fields, validate

from coopol.accounts.schemas import MemberPublicSchema
from coopol.core.schemas import BoundedInteger, CursorQuerySchema, DumpSchema, LoadSchema, Moment, QueryInteger
from coopol.events.models import (
    ADDRESS_MAX,
    DESCRIPTION_MAX,
    MINUTES_MAX,
    PLACE_NAME_MAX,
    REASON_MAX,
    TIMEZONE_MAX,
    TITLE_MAX,
    URL_MAX,
    EventMode,
    EventState,
    RsvpStatus,
)

MODES = [m.value for m in EventMode]
STATES = [s.value for s in EventState]
STATUSES = [s.value for s in RsvpStatus]
_DATE = ("ISO 8601, e.g. 2026-05-01T18:30 (read in `timezone`) or with an offset "
         "(2026-05-01T16:30:00Z)")


class EventPlaceSchema(LoadSchema):
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=PLACE_NAME_MAX * 2))
    address = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=ADDRESS_MAX * 2))
    lat = fields.Float(load_default=None, allow_none=True, allow_nan=False)
    lon = fields.Float(load_default=None, allow_none=True, allow_nan=False)


class _EventFields(LoadSchema):
    title = fields.String(validate=validate.Length(max=TITLE_MAX * 4), metadata={"description": "3 to 200 characters"})
    description = fields.String(validate=validate.Length(max=DESCRIPTION_MAX * 2),
                                metadata={"description": "Markdown (sanitised), at most 20,000 characters"})
    starts_at = fields.String(validate=validate.Length(max=64), metadata={"description": _DATE})
    ends_at = fields.String(validate=validate.Length(max=64), metadata={"description": _DATE + "; after the start"})
    timezone = fields.String(validate=validate.Length(max=TIMEZONE_MAX * 2),
                             metadata={"description": "an IANA time zone, e.g. Europe/Paris"})
    mode = fields.String(validate=validate.OneOf(MODES))
    place = fields.Nested(EventPlaceSchema, allow_none=True,
                          metadata={"description": "required (name or address) in person and hybrid"})
    online_url = fields.String(allow_none=True, validate=validate.Length(max=URL_MAX * 2),
                               metadata={"description": "required online and hybrid; https on a production "
                                                        "instance; shown only to those going and organisers"})
    capacity = fields.Raw(allow_none=True, metadata={"description": "places (≥ 1), or null for no limit",
                                                     "type": "integer", "nullable": True})
    waitlist = fields.Boolean(metadata={"description": "when full: waitlist (default) or refuse"})
    requires_approval = fields.Boolean(metadata={"description": "organisers approve each RSVP"})
    scope = fields.String(allow_none=True, validate=validate.Length(max=64 * 4),
                          metadata={"description": "defaults to the group's"})
    language = fields.String(allow_none=True, validate=validate.Length(max=16 * 4),
                             metadata={"description": "one of the instance's languages"})


class EventCreateSchema(_EventFields):
    title = fields.String(required=True, validate=validate.Length(max=TITLE_MAX * 4))
    starts_at = fields.String(required=True, validate=validate.Length(max=64), metadata={"description": _DATE})
    ends_at = fields.String(required=True, validate=validate.Length(max=64), metadata={"description": _DATE})
    timezone = fields.String(required=True, validate=validate.Length(max=TIMEZONE_MAX * 2))
    group = fields.String(allow_none=True, validate=validate.Length(max=64 * 4),
                          metadata={"description": "slug of a group the host organises"})
    publish = fields.Boolean(load_default=True, metadata={"description": "false keeps a draft"})


class EventUpdateSchema(_EventFields):
    state = fields.String(validate=validate.OneOf(["scheduled", "postponed", "draft", "cancelled"]),
                          metadata={"description": "scheduled (publish a draft, reschedule) or postponed; "
                                                   "cancel with POST /events/{id}/cancel"})


class EventListQuerySchema(CursorQuerySchema):
    from_ = Moment(data_key="from", load_default=None, metadata={"description": "gatherings not ended by then"})
    to = Moment(load_default=None, metadata={"description": "gatherings starting before then"})
    scope = fields.String(load_default=None, validate=validate.Length(max=64),
                          metadata={"description": "includes the scopes below it"})
    group = fields.String(load_default=None, validate=validate.Length(max=64), metadata={"description": "slug"})
    origin = fields.String(load_default=None, validate=validate.Length(max=255),
                           metadata={"description": "`local` or an ally's host"})
    past = fields.Boolean(load_default=False, metadata={"description": "past ones, latest first, with reports"})


class EventCancelSchema(LoadSchema):
    reason = fields.String(load_default="", validate=validate.Length(max=REASON_MAX * 2))


class EventReportSchema(LoadSchema):
    minutes = fields.String(required=True, validate=validate.Length(max=MINUTES_MAX * 2),
                            metadata={"description": "Markdown"})
    turnout = BoundedInteger(load_default=None, allow_none=True, minimum=0, maximum=10_000_000,
                             metadata={"description": "how many came"})


class EventRsvpSchema(LoadSchema):
    public = fields.Boolean(load_default=None, allow_none=True,
                            metadata={"description": "shown in the public attendee list (default: no)"})


class EventAttendeeQuerySchema(CursorQuerySchema):
    limit = QueryInteger(load_default=50, minimum=1, maximum=100)
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))


class EventPlaceDumpSchema(DumpSchema):
    name = fields.String(allow_none=True)
    address = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)


class EventOriginSchema(DumpSchema):
    host = fields.String()
    name = fields.String()


class EventGroupSchema(DumpSchema):
    slug = fields.String()
    name = fields.String()
    url = fields.String()


class EventOrganiserSchema(MemberPublicSchema):
    deleted = fields.Boolean(metadata={"description": "the organiser erased their account"})


class EventReportDumpSchema(DumpSchema):
    minutes = fields.String()
    minutes_html = fields.String()
    turnout = fields.Integer(allow_none=True)
    reported_at = fields.DateTime()


class EventMyRsvpSchema(DumpSchema):
    status = fields.String(metadata={"description": "going, waitlisted or pending"})
    public = fields.Boolean()


class EventModerationSchema(DumpSchema):
    hidden = fields.Boolean()
    locked = fields.Boolean()
    removed = fields.Boolean()


class EventSchema(DumpSchema):
    id = fields.Integer()
    ap_id = fields.String()
    url = fields.String()
    origin_url = fields.String(metadata={"description": "the page on the origin instance"})
    title = fields.String()
    description = fields.String()
    description_html = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    timezone = fields.String()
    mode = fields.String(metadata={"description": "in_person, online or hybrid"})
    place = fields.Nested(EventPlaceDumpSchema, allow_none=True)
    online_url = fields.String(allow_none=True, metadata={"description": "null unless going or organiser"})
    has_online_url = fields.Boolean()
    capacity = fields.Integer(allow_none=True)
    waitlist = fields.Boolean()
    requires_approval = fields.Boolean()
    going_count = fields.Integer()
    waitlist_count = fields.Integer()
    pending_count = fields.Integer(allow_none=True, metadata={"description": "organisers only"})
    remaining_capacity = fields.Integer(allow_none=True)
    state = fields.String(metadata={"description": "draft, scheduled, postponed or cancelled"})
    cancel_reason = fields.String(allow_none=True)
    scope = fields.String(allow_none=True)
    scope_name = fields.String(allow_none=True)
    language = fields.String()
    organiser = fields.Nested(EventOrganiserSchema, allow_none=True)
    group = fields.Nested(EventGroupSchema, allow_none=True)
    origin = fields.Nested(EventOriginSchema)
    report = fields.Nested(EventReportDumpSchema, allow_none=True)
    sequence = fields.Integer()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    moderation = fields.Nested(EventModerationSchema)
    my_rsvp = fields.Nested(EventMyRsvpSchema, allow_none=True)
    can_edit = fields.Boolean()


class EventListSchema(DumpSchema):
    items = fields.List(fields.Nested(EventSchema))
    next_cursor = fields.String(allow_none=True)


class EventRsvpStatusSchema(DumpSchema):
    status = fields.String(allow_none=True, metadata={"description": "going, waitlisted, pending; null: not going"})
    going_count = fields.Integer()
    waitlist_count = fields.Integer()


class EventAttendeeSchema(DumpSchema):
    member = fields.Nested(MemberPublicSchema)
    status = fields.String()
    public = fields.Boolean()
    created_at = fields.DateTime()


class EventAttendeeListSchema(DumpSchema):
    items = fields.List(fields.Nested(EventAttendeeSchema))
    next_cursor = fields.String(allow_none=True)
    complete = fields.Boolean(metadata={"description": "false: only the people going who opted in are listed"})
