"""Base marshmallow schemas. Load schemas reject unknown fields; dump schemas list explicit fields."""

from typing import Any

import flask_smorest
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from coopol.core.web import UNSTORABLE_TEXT


def _contains_unstorable_text(value: Any) -> bool:
    if isinstance(value, str):
        return UNSTORABLE_TEXT.search(value) is not None
    if isinstance(value, dict):
        return any(_contains_unstorable_text(k) or _contains_unstorable_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_contains_unstorable_text(item) for item in value)
    return False


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
    pass


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
