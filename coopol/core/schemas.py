"""Base marshmallow schemas. Load schemas reject unknown fields; dump schemas list explicit fields."""

from datetime import datetime
from typing import Any

import flask_smorest
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate
from marshmallow import missing as marshmallow_missing

from coopol.core.web import UNSTORABLE_TEXT


def _contains_unstorable_text(value: Any) -> bool:
    if isinstance(value, str):
        return UNSTORABLE_TEXT.search(value) is not None
    if isinstance(value, dict):
        return any(_contains_unstorable_text(k) or _contains_unstorable_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_unstorable_text(item) for item in value)
    return False


datetime_isoformat = datetime.isoformat


class LoadSchema(Schema):
    class Meta:
        unknown = RAISE

    @pre_load
    def refuse_unstorable_text(self, data: Any, **kwargs: Any) -> Any:
        """NUL characters and lone surrogates cannot be stored (PostgreSQL refuses them): a 422 naming
        the field rather than a database error."""
        if isinstance(data, dict):
            bad = sorted(str(key) for key, value in data.items()
                         if _contains_unstorable_text(key) or _contains_unstorable_text(value))
            if bad:
                raise ValidationError({UNSTORABLE_TEXT.sub("", name) or "_schema": [
                    "This text contains characters that are not allowed (NUL or invalid Unicode)."] for name in bad})
        return data


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
    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ErrorSchema(Schema):
    code = fields.Integer()
    status = fields.String()
    message = fields.String()
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class Api(flask_smorest.Api):
    """flask-smorest's Api documenting our one error shape as the `Error` component (its own
    `ErrorSchema` would otherwise collide with ours under that name)."""

    ERROR_SCHEMA = ErrorSchema
