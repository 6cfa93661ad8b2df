"""Moderation pages: report, queue and actions, item review, appeals, the public log.

A form that fails re-renders its page with the error status and a flash message; the unit of work rolls
the request back, so nothing it tried is kept.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from coopol.accounts.auth import require_moderator
from coopol.core.errors import Conflict, DomainError
from coopol.core.schemas import parse_id
from coopol.core.web import safe_redirect_target
from coopol.extensions import db
from coopol.moderation import services, targets
from coopol.moderation.labels import label
from coopol.moderation.models import APPEALABLE, ModerationAction, Report
from coopol.moderation.services import APPLIES_TO, REASONS

bp = Blueprint("moderation", __name__, template_folder="templates")



def _form_int(name: str) -> int | None:
    return parse_id(request.form.get(name, ""))


def _failed(error: DomainError) -> None:
    db.session.rollback()
    flash(error.message, "error")


def _safe_next(default_endpoint: str) -> str:
    return safe_redirect_target(request.form.get("next"), default_endpoint)


@bp.route("/report/<target_type>/<int:target_id>", methods=["GET", "POST"])
@login_required
def report(target_type: str, target_id: int):
    target = targets.load_target(target_type, target_id)
    label = targets.target_label(target_type, target)
    errors: dict = {}
    if request.method == "POST":
        try:
            services.file_report(current_user, target_type, target_id, request.form.get("reason", ""),
                                 request.form.get("text", ""))
        except DomainError as error:
            _failed(error)
            errors = error.errors
            return render_template("moderation/report.html", target_type=target_type, target_id=target_id,
                                   label=label, reasons=REASONS, errors=errors,
                                   form=request.form), error.status_code
        flash(_("Thank you: your report was sent to the moderators."), "success")
        # Enough reports hide the item, and the reporter may then no longer see it.
        visible = target_type == "member" or target.hidden_at is None
        return redirect(targets.target_path(target_type, target) if visible else url_for("core.home"))
    return render_template("moderation/report.html", target_type=target_type, target_id=target_id, label=label,
                           reasons=REASONS, errors=errors, form={})


def _queue_page(status: int = 200):
    moderator = require_moderator()
    cursor = request.args.get("cursor")
    groups, next_cursor = services.moderation_queue(moderator, cursor=cursor, limit=20)
    appeals = [services.appeal_view(a, for_moderator=True) | {"target": targets.public_target(
        a.action.target_type, a.action.target_id), "own": a.action.moderator_id == moderator.id}
        for a in services.pending_appeals()]
    return render_template("moderation/queue.html", groups=groups, next_cursor=next_cursor, appeals=appeals,
                           applies_to=APPLIES_TO), status


@bp.get("/moderation")
def queue():
    return _queue_page()


@bp.post("/moderation/actions")
def act():
    moderator = require_moderator()
    target_type = request.form.get("target_type", "")
    target_id = _form_int("target_id")
    try:
        action = services.take_action(
            moderator, request.form.get("action", ""), target_type, target_id if target_id is not None else -1,
            request.form.get("reason", ""), until=request.form.get("until") or None,
            state=request.form.get("state") or None, answer=request.form.get("answer") or None)
    except DomainError as error:
        _failed(error)
        return _queue_page(error.status_code)
    flash(_("Done: %(action)s (%(type)s %(id)s), recorded in the public log.", action=label("action", action.action),
            type=label("target_type", action.target_type), id=action.target_id), "success")
    return redirect(_safe_next("moderation.queue"))


@bp.get("/moderation/items/<target_type>/<int:target_id>")
def item(target_type: str, target_id: int):
    """One item for moderators: the content, every report and every action on it, and the action form."""
    require_moderator()
    target = targets.load_target(target_type, target_id)
    reports = db.session.scalars(select(Report).where(Report.target_type == target_type,
                                                      Report.target_id == target_id).order_by(Report.id))
    actions = db.session.scalars(select(ModerationAction).where(
        ModerationAction.target_type == target_type, ModerationAction.target_id == target_id)
        .order_by(ModerationAction.id))
    return render_template("moderation/item.html", target=targets.moderator_target(target_type, target),
                           reports=[services.report_view(r, for_moderator=True) for r in reports],
                           actions=[services.action_view(a) for a in actions], applies_to=APPLIES_TO)


@bp.route("/moderation/actions/<int:action_id>/appeal", methods=["GET", "POST"])
@login_required
def appeal(action_id: int):
    action = services.get_action(action_id)
    if action.affected_member_id != current_user.id:
        abort(403, description="Only the member affected by this decision can appeal it.")
    context = {"action": services.action_view(action),
               "target": targets.public_target(action.target_type, action.target_id),
               "appeal": services.appeal_view(action.appeal) if action.appeal else None}
    if request.method == "POST":
        try:
            services.appeal_action(current_user, action_id, request.form.get("text", ""))
        except DomainError as error:
            _failed(error)
            return render_template("moderation/appeal.html", errors=error.errors, **context), error.status_code
        flash(_("Your appeal was sent. A different moderator will decide on it."), "success")
        return redirect(url_for("moderation.appeal", action_id=action_id))
    return render_template("moderation/appeal.html", errors={}, **context)


@bp.route("/appeal", methods=["GET", "POST"])
def restricted_appeal():
    """Suspended or banned members cannot sign in; they appeal their latest suspension or ban here."""
    if request.method == "POST":
        try:
            member = services.member_for_appeal(request.form.get("login", ""), request.form.get("password", ""))
            action = db.session.scalar(select(ModerationAction).where(
                ModerationAction.affected_member_id == member.id, ModerationAction.target_type == "member",
                ModerationAction.action.in_([a.value for a in APPEALABLE]),
                ModerationAction.reversed_at.is_(None)).order_by(ModerationAction.id.desc()).limit(1))
            if action is None:
                raise Conflict(_("There is no suspension or ban on this account to appeal."))
            services.appeal_action(member, action.id, request.form.get("text", ""))
        except DomainError as error:
            _failed(error)
            return render_template("moderation/restricted_appeal.html", errors=error.errors,
                                   form=request.form), error.status_code
        flash(_("Your appeal was sent. A different moderator will decide on it."), "success")
        return redirect(url_for("moderation.modlog"))
    return render_template("moderation/restricted_appeal.html", errors={}, form={})


@bp.post("/moderation/appeals/<int:appeal_id>/decision")
def decide(appeal_id: int):
    moderator = require_moderator()
    try:
        services.decide_appeal(moderator, appeal_id, request.form.get("decision", ""),
                               request.form.get("reason", ""))
    except DomainError as error:
        _failed(error)
        return _queue_page(error.status_code)
    flash(_("The appeal was decided and recorded in the public log."), "success")
    return redirect(url_for("moderation.queue"))


@bp.get("/modlog")
def modlog():
    entries, next_cursor = services.list_modlog(cursor=request.args.get("cursor"), limit=50)
    return render_template("moderation/modlog.html", entries=entries, next_cursor=next_cursor)


