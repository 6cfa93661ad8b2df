"""Pages that belong to no feature: the landing page, the language switch, the party's theme, logo and icon."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app, redirect, render_template, request, send_file
from flask_login import current_user

from coopol.config import LOGO_TYPES
from coopol.core.cache import public_cache
from coopol.core.landing import participation, sections
from coopol.core.parties import party_name, party_names
from coopol.core.theme import DEFAULT_COLOR, theme_brand, theme_css
from coopol.core.web import safe_redirect_target
from coopol.extensions import csrf, limiter

bp = Blueprint("core", __name__)
STATIC_MAX_AGE = 3600  # theme, logo and icon: they change only when the config does (and a restart)


@bp.app_context_processor
def party_helpers():
    return {"party_name": party_name, "party_names": party_names}


@bp.get("/")
@public_cache
def home():
    """The landing: who the party is, how many take part, a few top ideas, and the ways in. Visitors
    share one cached answer (coopol/core/cache.py); a member gets it fresh (their home feed comes later)."""
    viewer = current_user._get_current_object() if current_user.is_authenticated else None
    return render_template("home.html", counters=participation(), sections=sections(viewer))


@bp.get("/theme.css")
@limiter.exempt
def theme():
    css = current_app.extensions.get("coopol.theme_css")
    if css is None:
        css = current_app.extensions["coopol.theme_css"] = theme_css(current_app.config.get("COLOR"))
    response = Response(css, mimetype="text/css")
    response.cache_control.public = True
    response.cache_control.max_age = STATIC_MAX_AGE
    return response


@bp.get("/logo")
@limiter.exempt
def logo():
    path = current_app.config.get("LOGO_PATH")
    if not path:
        # Coopol's own mark, in the party's colour.
        svg = (Path(current_app.static_folder) / "coopol-logo.svg").read_text()
        svg = svg.replace(DEFAULT_COLOR, theme_brand(current_app.config.get("COLOR")))
        response = Response(svg, mimetype="image/svg+xml")
        response.cache_control.public = True
        response.cache_control.max_age = STATIC_MAX_AGE
    else:
        response = send_file(path, mimetype=LOGO_TYPES[Path(path).suffix.lower()], max_age=STATIC_MAX_AGE)
    # An SVG opened on its own must not run anything.
    response.headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response


@bp.get("/favicon.ico")
@limiter.exempt
def favicon():
    """Browsers ask for it whatever the page says: the logo (an SVG or any image type serves)."""
    return logo()


@bp.post("/language")
@csrf.exempt
def set_language():
    """A visitor's choice lives in a cookie only, so their pages carry no CSRF token and stay cacheable
    (a forged switch could only change a visitor's language). A member's choice is saved on their
    account: that needs the token."""
    if current_user.is_authenticated and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    lang = request.form.get("lang", "")
    response = redirect(safe_redirect_target(request.form.get("next")))
    if lang in current_app.config["UI_LANGUAGES"]:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
        # A signed-in member's saved language wins over the cookie: the switch updates it too
        # (committed with the request).
        if current_user.is_authenticated and hasattr(current_user, "locale"):
            current_user.locale = lang
    return response
