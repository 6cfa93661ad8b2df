from marshmallow import fields, validate

from coopol.core.schemas import LoadSchema


class PasswordResetSchema(LoadSchema):
    email = fields.String(required=True, validate=validate.Length(max=320))


class PasswordResetConfirmSchema(LoadSchema):
    token = fields.String(required=True, validate=validate.Length(max=1000))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=1000))


class EmailConfirmSchema(LoadSchema):
    token = fields.String(required=True, validate=validate.Length(max=1000))
