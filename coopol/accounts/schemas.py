from marshmallow import INCLUDE, Schema, fields, validate

from coopol.core.schemas import DumpSchema, LoadSchema


class RegisterSchema(LoadSchema):
    handle = fields.String(required=True)
    email = fields.String(required=True)
    password = fields.String(required=True, load_only=True)
    display_name = fields.String(load_default="")
    invite_code = fields.String(load_default=None, allow_none=True)
    locale = fields.String(load_default=None, allow_none=True)


class LoginSchema(LoadSchema):
    login = fields.String(required=True, metadata={"description": "handle or e-mail address"})
    password = fields.String(required=True, load_only=True)
    name = fields.String(load_default="", validate=validate.Length(max=100),
                         metadata={"description": "a label for the new token"})


class ProfileUpdateSchema(LoadSchema):
    display_name = fields.String()
    bio = fields.String()
    locale = fields.String()


class MemberPublicSchema(DumpSchema):
    handle = fields.String(allow_none=True)
    name = fields.String()
    bio = fields.String()
    role = fields.String()
    instance = fields.String()
    created_at = fields.DateTime()


class MeSchema(MemberPublicSchema):
    email = fields.String(allow_none=True)
    display_name = fields.String()
    status = fields.String()
    suspended_until = fields.DateTime(allow_none=True)
    locale = fields.String(allow_none=True)
    email_confirmed_at = fields.DateTime(allow_none=True)


class TokenSchema(DumpSchema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.String(metadata={"description": "shown once; only its hash is stored"})


class TokenCreateSchema(LoadSchema):
    name = fields.String(load_default="", validate=validate.Length(max=100))


class ExportSchema(Schema):
    """The shape of `GET /me/export`, for the document only: the answer is the export as built, with one
    more key per module that stores data about members (reports, appeals, notifications, ...)."""

    class Meta:
        unknown = INCLUDE

    exported_at = fields.String(metadata={"description": "ISO datetime"})
    instance = fields.String(metadata={"description": "this instance's URL"})
    account = fields.Dict(metadata={"description": "handle, display_name, bio, email, role, status, ..."})
    api_tokens = fields.List(fields.Dict())
    invitations = fields.Dict()
