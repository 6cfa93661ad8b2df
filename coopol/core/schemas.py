"""Base marshmallow schemas. Load schemas reject unknown fields; dump schemas list explicit fields.

Every number and date the API takes goes through the field types here (`BoundedInteger`, `Id`,
`QueryInteger`, `Moment`), and every JSON body through `Parser`: one place that decides
what a number or a date may be, so no route can forget to bound one (an unbounded integer overflows
the database driver, a fullwidth digit is silently read as an ASCII one).
"""

import json
import re
from datetime import UTC, date, datetime
from http import HTTPStatus
from typing import Any

import flask_smorest
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate
from marshmallow import missing as marshmallow_missing
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, abort

from coopol.core.web import MAX_DATABASE_ID, UNSTORABLE_TEXT

# An id is what an id column holds on every database: a 32-bit integer on PostgreSQL (SQLAlchemy
# binds the parameter as ::INTEGER, so even a lookup of 2^31 overflows there), a 64-bit one on SQLite.
MAX_ID = MAX_DATABASE_ID
# The longest integer literal a JSON body may carry as a number: longer ones are kept as text (and then
# refused by the field that expected a number), so that Python's int() and its 4,300-digit limit never
# see them.
MAX_INTEGER_DIGITS = 20
ASCII_INTEGER = re.compile(rf"-?[0-9]{{1,{MAX_INTEGER_DIGITS}}}")
# Dates the API accepts: far enough for any suspension or event, near enough that adding a day, a time
# zone or a duration never leaves the calendar (datetime.max is 9999-12-31).
EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(9000, 1, 1, tzinfo=UTC)
ISO_MOMENT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9]{2}:?[0-9]{2})?)?", re.ASCII)


class OversizedNumber:
    """A JSON number too long to be any field's value (every field refuses it as the wrong type)."""

    __slots__ = ("digits",)

    def __init__(self, text: str) -> None:
        self.digits = len(text)

    def __repr__(self) -> str:
        return f"<a {self.digits}-digit number>"


def _parse_json_int(text: str) -> int | OversizedNumber:
    return int(text) if len(text.lstrip("-")) <= MAX_INTEGER_DIGITS else OversizedNumber(text)


def load_json(data: str | bytes) -> Any:
    """`json.loads` that cannot fail on a huge integer (it becomes an `OversizedNumber`)."""
    return json.loads(data, parse_int=_parse_json_int)


class Parser(FlaskParser):
    """webargs' parser with our JSON loader: an invalid body is a 400 with the error shape, never a
    ValueError (a 4,301-digit integer) or a RecursionError (deep nesting) escaping as a 500."""

    def _raw_load_json(self, req):
        if not webargs_core.is_json(req.mimetype):
            return marshmallow_missing
        try:
            return load_json(req.get_data(cache=True))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise
        except (ValueError, RecursionError):
            raise json.JSONDecodeError("Invalid JSON body.", doc="(body)", pos=0) from None

    def _handle_invalid_json_error(self, error, req, *args, **kwargs):
        abort(400, exc=error, messages={"json": [_("Invalid JSON body.")]})


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's Blueprint parsing arguments with `Parser`."""

    ARGUMENTS_PARSER = Parser()

    def errors(self, *codes: int):
        """Document the error answers of a route: flask-smorest's shared responses, whose schema is our one
        error shape {code, status, message, errors}."""
        def decorate(fn):
            for code in codes:
                fn = self.alt_response(code, response=HTTPStatus(code).name)(fn)
            return fn
        return decorate


class BoundedInteger(fields.Integer):
    """An integer between `minimum` and `maximum`: a JSON integer (not a boolean, not a float, not
    text), or, with `strings=True` (query parameters, which are text), ASCII digits only. Fullwidth or
    Arabic-Indic digits are not read as numbers."""

    default_error_messages = {"invalid": _l("Not a valid integer.")}

    def __init__(self, *, minimum: int = 0, maximum: int = MAX_ID, strings: bool = False, **kwargs: Any) -> None:
        kwargs.setdefault("validate", [])
        if not isinstance(kwargs["validate"], list):
            kwargs["validate"] = [kwargs["validate"]]
        kwargs["validate"] = [validate.Range(min=minimum, max=maximum), *kwargs["validate"]]
        super().__init__(strict=True, **kwargs)
        self.strings = strings

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> int:
        if isinstance(value, str) and self.strings:
            if not ASCII_INTEGER.fullmatch(value):
                raise self.make_error("invalid")
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class Id(BoundedInteger):
    """A row's id: 1 to MAX_ID."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(minimum=1, maximum=MAX_ID, **kwargs)


class QueryInteger(BoundedInteger):
    """An integer query parameter (ASCII digits)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strings=True, **kwargs)


def parse_id(text: str | None) -> int | None:
    """An id written as text (a form field, a numeric cursor): ASCII digits from 1 to MAX_ID, else None."""
    if not text or not ASCII_INTEGER.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


def _date_format_message() -> str:
    return _("Use a date like %(date)s or %(datetime)s.", date="2030-01-31", datetime="2030-01-31T18:00:00Z")


def parse_moment(value: Any) -> datetime:
    """`2030-01-31`, `2030-01-31T12:00` or an ISO datetime with offset, naive meaning UTC, between
    EARLIEST_MOMENT and LATEST_MOMENT; a ValueError with the reason otherwise."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime(value.year, value.month, value.day)
    elif isinstance(value, str) and ISO_MOMENT.fullmatch(value.strip()):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise ValueError(_date_format_message()) from None
    else:
        raise ValueError(_date_format_message())
    out_of_range = ValueError(_("Choose a date between %(earliest)s and %(latest)s.",
                                earliest=f"{EARLIEST_MOMENT:%Y-%m-%d}", latest=f"{LATEST_MOMENT:%Y-%m-%d}"))
    # The year first: converting 9999-12-31T23:59-05:00 (or 0001-01-01T00:00+01:00) to UTC overflows.
    if not EARLIEST_MOMENT.year <= parsed.year < LATEST_MOMENT.year:
        raise out_of_range
    moment = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    if not EARLIEST_MOMENT <= moment < LATEST_MOMENT:
        raise out_of_range
    return moment


class Moment(fields.DateTime):
    """A date or datetime in the API's bounds (see `parse_moment`), as an aware UTC datetime."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> datetime:
        if not isinstance(value, str):
            raise ValidationError(_date_format_message())
        try:
            return parse_moment(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def _contains_unstorable_text(value: Any) -> bool:
    if isinstance(value, str):
        return UNSTORABLE_TEXT.search(value) is not None
    if isinstance(value, dict):
        return any(_contains_unstorable_text(k) or _contains_unstorable_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_unstorable_text(item) for item in value)
    return False


datetime_isoformat = datetime.isoformat


# marshmallow's own messages, in the reader's language: the English text each field, validator or schema
# says by default, and its translation (formatted when the error is raised, placeholders and all).
# A message a schema chose itself (`error=`, `error_messages=`) is left as it is.
MARSHMALLOW_MESSAGES = {
    "Missing data for required field.": _l("Missing data for required field."),
    "Field may not be null.": _l("Field may not be null."),
    "Invalid value.": _l("Invalid value."),
    "Not a valid string.": _l("Not a valid string."),
    "Not a valid utf-8 string.": _l("Not a valid utf-8 string."),
    "Not a valid integer.": _l("Not a valid integer."),
    "Not a valid number.": _l("Not a valid number."),
    "Number too large.": _l("Number too large."),
    "Special numeric values (nan or infinity) are not permitted.":
        _l("Special numeric values (nan or infinity) are not permitted."),
    "Not a valid boolean.": _l("Not a valid boolean."),
    "Not a valid list.": _l("Not a valid list."),
    "Not a valid mapping type.": _l("Not a valid mapping type."),
    "Invalid type.": _l("Invalid type."),
    "Not a valid email address.": _l("Not a valid email address."),
    "Not a valid URL.": _l("Not a valid URL."),
    "String does not match expected pattern.": _l("String does not match expected pattern."),
    "Invalid input.": _l("Invalid input."),
    "Shorter than minimum length {min}.": _l("Shorter than minimum length {min}."),
    "Longer than maximum length {max}.": _l("Longer than maximum length {max}."),
    "Length must be between {min} and {max}.": _l("Length must be between {min} and {max}."),
    "Length must be {equal}.": _l("Length must be {equal}."),
    "Must be one of: {choices}.": _l("Must be one of: {choices}."),
    "Must be greater than or equal to {min}.": _l("Must be greater than or equal to {min}."),
    "Must be less than or equal to {max}.": _l("Must be less than or equal to {max}."),
    "Must be greater than or equal to {min} and less than or equal to {max}.":
        _l("Must be greater than or equal to {min} and less than or equal to {max}."),
    "Must be greater than {min}.": _l("Must be greater than {min}."),
    "Must be less than {max}.": _l("Must be less than {max}."),
    "Invalid input type.": _l("Invalid input type."),
    "Unknown field.": _l("Unknown field."),
}
_VALIDATOR_MESSAGES = ("error", "message_min", "message_max", "message_all", "message_equal")


def _translate_field(field: fields.Field) -> None:
    """Give a field (and its inner fields and validators) the translatable form of marshmallow's
    default messages. Fields and validators are shared by every instance of their schema: doing it
    again changes nothing."""
    for key, message in list(field.error_messages.items()):
        # A field formats its own message only when it is a str: one with placeholders stays English.
        if isinstance(message, str) and "{" not in message:
            field.error_messages[key] = MARSHMALLOW_MESSAGES.get(message, message)
    for validator in field.validators:
        for attribute in _VALIDATOR_MESSAGES:
            message = getattr(validator, attribute, None)
            if isinstance(message, str) and message in MARSHMALLOW_MESSAGES:
                setattr(validator, attribute, MARSHMALLOW_MESSAGES[message])
    for inner in (getattr(field, "inner", None), getattr(field, "key_field", None),
                  getattr(field, "value_field", None), *(getattr(field, "tuple_fields", None) or ())):
        if isinstance(inner, fields.Field):
            _translate_field(inner)


class LoadSchema(Schema):
    """Input schemas: unknown fields are refused, and every message is in the reader's language."""

    error_messages = {"type": _l("Invalid input type."), "unknown": _l("Unknown field.")}

    class Meta:
        unknown = RAISE

    def on_bind_field(self, field_name: str, field_obj: fields.Field) -> None:
        _translate_field(field_obj)

    def load(self, data: Any, **kwargs: Any) -> Any:
        try:
            return super().load(data, **kwargs)
        except ValidationError as error:
            # marshmallow lists a message only when it is a str: give the lazy ones their list and
            # their text now, so that every reader of `messages` sees {field: [str, ...]}.
            raise ValidationError(_plain_messages(error.messages), data=error.data,
                                  valid_data=error.valid_data) from None

    @pre_load
    def refuse_unstorable_text(self, data: Any, **kwargs: Any) -> Any:
        """NUL characters and lone surrogates cannot be stored (PostgreSQL refuses them): a 422 naming
        the field rather than a database error."""
        if isinstance(data, dict):
            bad = sorted(str(key) for key, value in data.items()
                         if _contains_unstorable_text(key) or _contains_unstorable_text(value))
            if bad:
                message = _("This text contains characters that are not allowed (NUL or invalid Unicode).")
                raise ValidationError({UNSTORABLE_TEXT.sub("", name) or "_schema": [message] for name in bad})
        return data


def _plain_messages(value: Any, *, listed: bool = False) -> Any:
    if isinstance(value, dict):
        return {key: _plain_messages(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain_messages(item, listed=True) for item in value]
    if isinstance(value, (str, bytes)):
        return value if listed else [value]
    return str(value) if listed else [str(value)]


class DumpSchema(Schema):
    """Output schemas. `dump` runs a plan compiled once per schema from its fields: the same output as
    marshmallow's field-by-field dump for the field kinds our schemas use (checked by
    tests/core/test_schemas.py), about ten times faster on the hot lists. A schema using anything else
    (hooks, other field kinds, `only` paths, defaults) keeps marshmallow's own dump."""

    def dump(self, obj: Any, *, many: bool | None = None) -> Any:
        plan = _plan_for(self)
        if plan is None:
            return super().dump(obj, many=many)
        many = self.many if many is None else many
        return [plan(item) for item in obj] if many else plan(obj)


_MISSING = object()


def _plan_for(schema: Schema):
    plan = schema.__dict__.get("_coopol_dump_plan", _MISSING)
    if plan is _MISSING:
        plan = schema.__dict__["_coopol_dump_plan"] = _compile_schema(schema)
    return plan


def _compile_schema(schema: Schema):
    if any(schema._hooks.get(hook) for hook in ("pre_dump", "post_dump")) or schema.dump_fields is None:
        return None
    steps = []
    for name, field in schema.dump_fields.items():
        convert = _compile_field(field)
        if convert is None or field.dump_default is not marshmallow_missing:
            return None
        source = field.attribute or name
        if "." in source:
            return None
        steps.append((field.data_key or name, source, convert))

    def dump_one(obj: Any) -> dict[str, Any]:
        out = {}
        if isinstance(obj, dict):
            for target, source, convert in steps:
                value = obj.get(source, _MISSING)
                if value is not _MISSING:
                    out[target] = None if value is None else convert(value)
        else:
            for target, source, convert in steps:
                value = getattr(obj, source, _MISSING)
                if value is not _MISSING:
                    out[target] = None if value is None else convert(value)
        return out

    return dump_one


def _same(value: Any) -> Any:
    return value


def _compile_field(field: fields.Field):
    kind = type(field)
    if kind in (fields.String, fields.Email, fields.Url):
        return str
    if kind is fields.Integer and not field.as_string:
        return int
    if kind is fields.Float and not field.as_string:
        return float
    if kind in (fields.Boolean, fields.Raw):
        return _same
    if kind is fields.DateTime and (field.format or field.DEFAULT_FORMAT) in ("iso", "iso8601"):
        return datetime_isoformat
    if kind is fields.List:
        inner = _compile_field(field.inner)
        return None if inner is None else (lambda value: [None if v is None else inner(v) for v in value])
    if kind is fields.Dict:
        keys = _compile_field(field.key_field) if field.key_field is not None else _same
        values = _compile_field(field.value_field) if field.value_field is not None else _same
        if keys is None or values is None:
            return None
        return lambda value: {keys(k): None if v is None else values(v) for k, v in value.items()}
    if kind is fields.Nested and not field.only and not field.exclude:
        nested = field.schema
        plan = _plan_for(nested)
        if plan is None:
            return None
        if field.many:
            return lambda value: [plan(v) for v in value]
        return plan
    return None


class CursorQuerySchema(LoadSchema):
    cursor = fields.String(load_default=None, validate=validate.Length(max=1000))
    limit = QueryInteger(load_default=20, minimum=1, maximum=100)


class ErrorSchema(Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class Api(flask_smorest.Api):
    """flask-smorest's Api documenting our one error shape as the `Error` component (its own
    `ErrorSchema` would otherwise collide with ours under that name)."""

    ERROR_SCHEMA = ErrorSchema
