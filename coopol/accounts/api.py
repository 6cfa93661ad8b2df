"""Account API: registration, tokens, `/me`, export and erasure."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user, login_required

from coopol.accounts import schemas, services
from coopol.core.schemas import Blueprint
from coopol.extensions import limiter, request_created

blp = Blueprint("accounts_api", __name__, url_prefix="/api/v1", description="Members, tokens and privacy")


def _me(member) -> dict:
    data = services.member_view(member)
    data.update(email=member.email, display_name=member.display_name, status=member.status,
                suspended_until=member.suspended_until, locale=member.locale,
                email_confirmed_at=member.email_confirmed_at)
    return data


def _new_token(token, raw: str) -> dict:
    """A token just made: its metadata and, this once, its raw value."""
    return {"id": token.id, "name": token.name, "prefix": token.prefix, "created_at": token.created_at,
            "last_used_at": None, "token": raw}


@blp.post("/members")
@limiter.limit(lambda: current_app.config.get("RATELIMIT_REGISTER", "10/hour"), deduct_when=request_created)
@blp.arguments(schemas.RegisterSchema)
@blp.response(201, schemas.MeSchema)
def register(data):
    """Register a local member (open or invite-only, per the instance's setting)."""
    member = services.register_member(
        data["handle"], data["email"], data["password"], display_name=data["display_name"],
        invite_code=data["invite_code"], locale=data["locale"])
    return _me(member)


@blp.post("/tokens")
@limiter.limit(lambda: current_app.config.get("RATELIMIT_LOGIN", "20/minute"))
@blp.arguments(schemas.LoginSchema)
@blp.response(201, schemas.NewTokenSchema)
def login_for_token(data):
    """Exchange a login and password for a new personal API token."""
    member = services.authenticate(data["login"], data["password"])
    token, raw = services.create_token(member, data["name"])
    return _new_token(token, raw)


@blp.get("/me")
@login_required
@blp.response(200, schemas.MeSchema)
def me():
    """The authenticated member, with the private fields only they may see."""
    return _me(current_user)


@blp.patch("/me")
@login_required
@blp.arguments(schemas.ProfileUpdateSchema)
@blp.response(200, schemas.MeSchema)
def update_me(data):
    services.update_profile(current_user, **data)
    return _me(current_user)


@blp.get("/me/tokens")
@login_required
@blp.response(200, schemas.TokenSchema(many=True))
def my_tokens():
    return services.list_tokens(current_user)


@blp.post("/me/tokens")
@login_required
@blp.arguments(schemas.TokenCreateSchema)
@blp.response(201, schemas.NewTokenSchema)
def create_token(data):
    token, raw = services.create_token(current_user, data["name"])
    return _new_token(token, raw)


@blp.delete("/me/tokens/<int:token_id>")
@login_required
@blp.response(204)
def revoke_token(token_id: int):
    services.revoke_token(current_user, token_id)


@blp.get("/me/export")
@login_required
@blp.alt_response(200, schema=schemas.ExportSchema, description="OK", success=True)
def export():
    """Everything this instance stores about me, as JSON."""
    return services.export_member_data(current_user)


@blp.delete("/me")
@login_required
@blp.response(204)
def erase():
    """Erase my personal data; my contributions stay, shown as by a deleted member."""
    services.erase_member(current_user)

