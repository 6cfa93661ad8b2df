"""Mail pages: forgot password, choose a new one, confirm the address, unsubscribe, e-mail settings.

The unsubscribe URL is the one in `List-Unsubscribe`: a GET shows a button (mail software and link checkers
fetch links, RFC 8058 §1, so a GET changes nothing); a POST, one-click from the mail client, works without
cookies or CSRF token: the signed token in the URL is the authority, and it can only switch mail off.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from coopol.core.errors import DomainError
from coopol.extensions import csrf, limiter
from coopol.mail import services, tokens

bp = Blueprint("mail", __name__, template_folder="templates")


def _reset_limit() -> str:
    return current_app.config["RATELIMIT_PASSWORD_RESET"]


@bp.route("/password-reset", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def password_reset():
    if request.method == "POST":
        services.request_password_reset(request.form.get("email", ""))
        return render_template("mail/pages/reset_request.html", sent=True, email="", errors={}), 200
    return render_template("mail/pages/reset_request.html", sent=False, email="", errors={})


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
@limiter.limit(_reset_limit, methods=["POST"])
def password_reset_confirm(token: str):
    errors: dict[str, list[str]] = {}
    try:
        if request.method == "POST":
            services.reset_password(token, request.form.get("password", ""))
            flash(_("Your password was changed. Log in with the new one."), "success")
            return redirect(url_for("accounts.login"))
        services.check_reset_token(token)
    except DomainError as error:
        errors = error.errors
        if "token" not in errors:
            flash(error.message, "error")
        return render_template("mail/pages/reset_confirm.html", errors=errors), error.status_code
    return render_template("mail/pages/reset_confirm.html", errors=errors)


@bp.get("/mail/confirm/<token>")
def confirm(token: str):
    try:
        services.confirm_email(token)
    except DomainError as error:
        return render_template("mail/pages/confirmed.html", error=error.message), error.status_code
    return render_template("mail/pages/confirmed.html", error=None)


@bp.route("/mail/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    member = tokens.member_for_unsubscribe(token)
    if member is None:
        error = _("This unsubscribe link is not valid.")
        return render_template("mail/pages/unsubscribe.html", error=error, done=False), 404
    if request.method == "POST":
        services.unsubscribe(member)
        return render_template("mail/pages/unsubscribe.html", error=None, done=True)
    return render_template("mail/pages/unsubscribe.html", error=None, done=False)


@bp.get("/settings/email")
@login_required
def email_settings():
    settings = services.settings_of(current_user)
    return render_template("mail/pages/email_settings.html",
                           unsubscribed=bool(settings and settings.unsubscribed_at))


@bp.post("/settings/email/confirmation")
@login_required
@limiter.limit(_reset_limit)
def request_confirmation():
    try:
        services.request_confirmation(current_user)
    except DomainError as error:
        flash(error.message, "info")
    else:
        flash(_("We sent a confirmation link to %(email)s.", email=current_user.email), "success")
    return redirect(url_for("mail.email_settings"))


@bp.post("/settings/email/resubscribe")
@login_required
def resubscribe():
    services.resubscribe(current_user)
    flash(_("Notifications and digests come by e-mail again, as your preferences say."), "success")
    return redirect(url_for("mail.email_settings"))
