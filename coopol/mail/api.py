"""Mail API: password reset (request, confirm) and e-mail address confirmation."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user, login_required

from coopol.core.schemas import Blueprint
from coopol.extensions import limiter
from coopol.mail import schemas, services

blp = Blueprint("mail_api", __name__, url_prefix="/api/v1", description="Password reset and e-mail confirmation")


def _limit() -> str:
    return current_app.config["RATELIMIT_PASSWORD_RESET"]


@blp.post("/password-reset")
@limiter.limit(_limit)
@blp.arguments(schemas.PasswordResetSchema)
@blp.response(202)
def password_reset(data):
    """Send a reset link to this address if an account uses it. Always 202: the answer does not tell."""
    services.request_password_reset(data["email"])


@blp.post("/password-reset/confirm")
@limiter.limit(_limit)
@blp.arguments(schemas.PasswordResetConfirmSchema)
@blp.response(204)
def password_reset_confirm(data):
    """Set a new password with the token of a reset link; a token works once, until it expires."""
    services.reset_password(data["token"], data["password"])


@blp.post("/email-confirmation")
@blp.arguments(schemas.EmailConfirmSchema)
@blp.response(204)
def confirm_email(data):
    """Confirm an address with the token of a confirmation link."""
    services.confirm_email(data["token"])


@blp.post("/me/email-confirmation")
@login_required
@limiter.limit(_limit)
@blp.response(202)
def request_confirmation():
    """Send me a new confirmation link (409 when my address is already confirmed)."""
    services.request_confirmation(current_user)
