"""Account pages: register, log in and out, profile, settings, API tokens, export and erasure."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from coopol.accounts import services
from coopol.accounts.labels import label
from coopol.core.errors import DomainError
from coopol.core.web import safe_redirect_target
from coopol.extensions import limiter, request_created

bp = Blueprint("accounts", __name__, template_folder="templates")


@bp.app_template_global()
def role_label(role: str) -> str:
    return label("role", role)


@bp.app_template_global()
def status_label(status: str) -> str:
    return label("member_status", status)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("RATELIMIT_REGISTER", "10/hour"), methods=["POST"],
               deduct_when=request_created)
def register():
    if current_user.is_authenticated:
        return redirect(url_for("accounts.profile", handle=current_user.handle))
    form, errors, status = request.form, {}, 200
    if request.method == "POST":
        try:
            member = services.register_member(
                form.get("handle", ""), form.get("email", ""), form.get("password", ""),
                display_name=form.get("display_name", ""), invite_code=form.get("invite_code") or None,
                locale=form.get("locale") or None,
            )
        except DomainError as error:
            flash(error.message, "error")
            errors, status = error.errors, error.status_code
        else:
            login_user(member)
            flash(_("Welcome to %(name)s!", name=current_app.config["NAME"]), "success")
            return redirect(url_for("accounts.profile", handle=member.handle))
    return render_template("accounts/register.html", form=form, errors=errors,
                           registration=current_app.config["REGISTRATION"]), status


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config.get("RATELIMIT_LOGIN", "20/minute"), methods=["POST"])
def login():
    if request.method == "POST":
        try:
            member = services.authenticate(request.form.get("login", ""), request.form.get("password", ""))
        except DomainError as error:
            flash(error.message, "error")
            return render_template("accounts/login.html", form=request.form), error.status_code, error.headers
        login_user(member, remember=bool(request.form.get("remember")))
        flash(_("You are logged in."), "success")
        return redirect(safe_redirect_target(request.args.get("next")))
    return render_template("accounts/login.html", form={})


@bp.post("/logout")
def logout():
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("core.home"))


@bp.get("/members/<handle>")
def profile(handle: str):
    member = services.get_member_by_handle(handle)
    is_self = current_user.is_authenticated and current_user.id == member.id
    return render_template("accounts/profile.html", member=member, is_self=is_self)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    errors = {}
    if request.method == "POST":
        try:
            if request.form.get("action") == "password":
                services.change_password(current_user, request.form.get("current_password", ""),
                                         request.form.get("new_password", ""))
                # The session token rotated: log this session in again (with the member itself, not the
                # `current_user` proxy, which Flask-Login would then resolve to itself forever).
                login_user(current_user._get_current_object())
                flash(_("Your password was changed; other sessions were logged out."), "success")
            else:
                services.update_profile(current_user, display_name=request.form.get("display_name", ""),
                                        bio=request.form.get("bio", ""), locale=request.form.get("locale") or None)
                flash(_("Your profile was saved."), "success")
            return redirect(url_for("accounts.settings"))
        except DomainError as error:
            flash(error.message, "error")
            errors = error.errors
    return render_template("accounts/settings.html", errors=errors,
                           tokens=services.list_tokens(current_user)), (422 if errors else 200)


@bp.post("/settings/tokens")
@login_required
def create_token():
    try:
        _token, raw = services.create_token(current_user, request.form.get("name", ""))
    except DomainError as error:
        flash(error.message, "error")
        return redirect(url_for("accounts.settings"))
    return render_template("accounts/token_created.html", raw=raw)


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    services.revoke_token(current_user, token_id)
    flash(_("The token was revoked."), "success")
    return redirect(url_for("accounts.settings"))


@bp.get("/settings/export")
@login_required
def export():
    data = services.export_member_data(current_user)
    body = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    return Response(body, mimetype="application/json", headers={
        "Content-Disposition": f'attachment; filename="coopol-{current_user.handle}.json"'})


@bp.route("/settings/erase", methods=["GET", "POST"])
@login_required
def erase():
    if request.method == "POST":
        if request.form.get("confirm") != current_user.handle:
            flash(_("Type your handle to confirm the erasure."), "error")
            return render_template("accounts/erase.html"), 422
        services.erase_member(current_user)
        logout_user()
        flash(_("Your personal data was erased. Your contributions now show as by a deleted member."), "info")
        return redirect(url_for("core.home"))
    return render_template("accounts/erase.html")
