"""Pages that belong to no feature: the home page and the language switch."""

from flask import Blueprint, current_app, redirect, render_template, request, url_for

bp = Blueprint("core", __name__)


@bp.get("/")
def home():
    if "ideas.index" in current_app.view_functions:
        return redirect(url_for("ideas.index"))
    return render_template("home.html")


@bp.post("/language")
def set_language():
    lang = request.form.get("lang", "")
    target = request.form.get("next") or url_for("core.home")
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("core.home")
    response = redirect(target)
    if lang in current_app.config["LANGUAGES"]:
        response.set_cookie("lang", lang, max_age=365 * 86400, samesite="Lax",
                            secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True)
    return response
