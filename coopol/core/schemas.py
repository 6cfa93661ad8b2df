"""Base marshmallow schemas. Load schemas reject unknown fields; dump schemas list explicit fields."""

from marshmallow import RAISE, Schema, fields, validate


class LoadSchema(Schema):
    class Meta:
        unknown = RAISE


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
