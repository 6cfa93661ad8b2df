"""Flask-Login wiring: signed-cookie sessions for pages, `Authorization: Bearer` tokens for the API.

API calls authenticated by the browser session must carry the CSRF token; token calls need not,
since a bearer token is never sent by the browser on its own.
"""

from __future__ import annotations

from flask import Flask, current_app, flash, redirect, request, url_for
from flask_login import current_user

from coopol.accounts.models import Member
from coopol.accounts.services import load_member_for_session, member_for_token
from coopol.core.errors import AuthenticationFailed, PermissionDenied, wants_json
from coopol.extensions import csrf, login_manager

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(session_id: str) -> Member | None:
        if bearer_token() is not None:
            return None  # an explicit token wins over an ambient cookie
        return load_member_for_session(session_id)

    @login_manager.request_loader
    def load_user_from_token(req) -> Member | None:
        raw = bearer_token()
        return member_for_token(raw) if raw else None

    @login_manager.unauthorized_handler
    def unauthorized():
        if wants_json():
            if bearer_token() is not None:
                raise AuthenticationFailed("The API token is invalid, revoked, or its account cannot act.")
            raise AuthenticationFailed("Authentication required: send 'Authorization: Bearer TOKEN' or log in.")
        flash("Please log in to continue.", "info")
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))

    @app.before_request
    def protect_api_session_calls():
        if request.path.startswith("/api/") and request.method not in SAFE_METHODS and bearer_token() is None:
            if current_app.config.get("WTF_CSRF_ENABLED", True):
                csrf.protect()


def require_member() -> Member:
    """The signed-in member, or an error. For routes that need one but are not behind login_required."""
    if not current_user.is_authenticated:
        raise AuthenticationFailed("Authentication required.")
    return current_user._get_current_object()


def require_moderator() -> Member:
    member = require_member()
    if not member.is_moderator:
        raise PermissionDenied("Only moderators can do this.")
    return member
