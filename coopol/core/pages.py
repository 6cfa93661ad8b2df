"""Pages that belong to no feature: the home page and the language switch."""

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_login import current_user

from coopol.core.web import safe_redirect_target
from coopol.extensions import csrf

bp = Blueprint("core", __name__)


@bp.get("/")
def home():
    if "ideas.index" in current_app.view_functions:
        return redirect(url_for("ideas.index"))
    return render_template("home.html")


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
