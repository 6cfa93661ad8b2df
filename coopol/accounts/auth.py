"""Flask-Login wiring: signed-cookie sessions for pages, `Authorization: Bearer` tokens for the API.

API calls authenticated by the browser session must carry the CSRF token; token calls need not,
since a bearer token is never sent by the browser on its own.
"""

from __future__ import annotations

from flask import Flask, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from coopol.accounts.models import Member
from coopol.accounts.services import load_member_for_session, member_for_token
from coopol.core.database import reading_only
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
        return member_for_token(raw, read_only_unit=reading_only()) if raw else None

    @login_manager.unauthorized_handler
    def unauthorized():
        if wants_json():
            if bearer_token() is not None:
                raise AuthenticationFailed(_("The API token is invalid, revoked, or its account cannot act."))
            raise AuthenticationFailed(_("Authentication required: send 'Authorization: Bearer TOKEN' or log in."))
        flash(_("Please log in to continue."), "info")
        return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))

    # CSRF policy, replacing Flask-WTF's blanket check (which would refuse every token call):
    # pages' forms always need the token; API calls need it (in the X-CSRFToken header) only when
    # they ride on the browser's cookies. A bearer token is never sent by the browser on its own,
    # and a call without our cookies carries no ambient authority.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False

    @app.before_request
    def protect_against_csrf():
        if not current_app.config.get("WTF_CSRF_ENABLED", True) or request.method in SAFE_METHODS:
            return
        if request.path.startswith("/api/") and (bearer_token() is not None or not _carries_our_cookies()):
            return
        csrf.protect(apply_exemptions=True)


def _carries_our_cookies() -> bool:
    names = (current_app.config.get("SESSION_COOKIE_NAME", "session"),
             current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))
    return any(name in request.cookies for name in names)


def viewer() -> Member | None:
    """The signed-in member (the real object, not Flask-Login's proxy), or None for a visitor."""
    return current_user._get_current_object() if current_user.is_authenticated else None


def require_member() -> Member:
    """The signed-in member, or an error. For routes that need one but are not behind login_required."""
    if not current_user.is_authenticated:
        raise AuthenticationFailed(_("Authentication required."))
    return current_user._get_current_object()


def require_moderator() -> Member:
    member = require_member()
    if not member.is_moderator:
        raise PermissionDenied(_("Only moderators can do this."))
    return member
