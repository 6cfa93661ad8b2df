"""The allies panel of the admin dashboard (`/admin#allies`, alone at `/admin/allies`): each ally's
health and backfill job, requests to accept or reject, and a form to ask a new instance to ally.

The forms call the services the CLI calls (`coopol allies request|accept|reject|revoke`). Answering
only writes outbox rows, the worker delivers them; asking needs discovery over the network (WebFinger,
then the Group's actor document, each within `FEDERATION_TIMEOUT`), done before any write.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from coopol.admin import register_panel
from coopol.admin.routes import panel_url, render_admin, require_admin
from coopol.core.errors import DomainError, ValidationFailed
from coopol.extensions import db
from coopol.federation import alliances
from coopol.federation import labels as _labels  # noqa: F401  (the allies page reads its words through label())
from coopol.federation.actors import group_id

bp = Blueprint("federation_admin", __name__, template_folder="templates")

PANEL = "allies"
MAX_URL = 2048


def allies_panel() -> dict[str, Any]:
    """What `coopol allies list --json` shows: every ally's health and its backfill job; and its vote proofs'
    health (votes refused for a failing proof, the last `coopol audit` of its votes); and our members' votes
    that wait for the worker or that it could not sign and send."""
    from sqlalchemy import select

    from coopol.federation.cli import backfill_jobs
    from coopol.federation.content.vote_queue import vote_queue_health
    from coopol.federation.models import ProofHealth

    proofs = {row.host: row for row in db.session.scalars(select(ProofHealth))}
    return {"allies": alliances.list_allies(), "backfills": backfill_jobs(), "group_id": group_id(),
            "url": "", "url_error": None, "proofs": proofs, "votes": vote_queue_health()}


def register_allies_panel(app: Flask) -> None:
    register_panel(app, PANEL, _l("Allied instances"), "federation/allies.html", allies_panel, order=10)


def _back() -> str | None:
    return request.form.get("back")


@bp.get("/admin/allies")
@login_required
def allies():
    """The allies panel alone (the address admins and other modules knew before the dashboard)."""
    return render_admin(PANEL)


@bp.post("/admin/allies/request")
@login_required
def ask():
    require_admin()
    url = (request.form.get("url") or "").strip()
    db.session.commit()  # no transaction stays open while the peer is asked (up to two timeouts)
    try:
        if len(url) > MAX_URL:
            raise ValidationFailed.field("url", _("An instance's address has at most %(n)s characters.", n=MAX_URL))
        change = alliances.request_alliance(url)
    except DomainError as error:
        db.session.rollback()  # nothing of a refused request is kept (not even the Group's actor)
        message = _("The alliance request was not sent: %(reason)s", reason=error.message)
        flash(message, "error")
        key = None if _back() == "dashboard" else PANEL
        return render_admin(key, status=error.status_code,
                            overrides={PANEL: {"url": url[:MAX_URL], "url_error": error.message}})
    if change.ally.incoming == "accepted":  # they had asked first: asking back accepted their request
        flash(_("%(host)s had asked to ally: the alliance is accepted on both sides once the delivery worker "
                "sends our answer.", host=change.ally.host), "success")
    else:
        flash(_("Asked %(host)s to ally; the request waits for the delivery worker, then for their "
                "administrators.", host=change.ally.host), "success")
    return redirect(panel_url(PANEL, _back()))


ACTIONS = {
    "accept": (alliances.accept_alliance, _l("Alliance with %(host)s accepted; our own request was sent back.")),
    "reject": (alliances.reject_alliance, _l("Request from %(host)s rejected.")),
    "revoke": (alliances.revoke_alliance, _l("Alliance with %(host)s revoked.")),
}


@bp.get("/admin/allies/<host>/revoke")
@login_required
def confirm_revoke(host: str):
    require_admin()
    back = request.args.get("back")
    try:
        ally = alliances.get_ally(host)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(panel_url(PANEL, back))
    return render_template("federation/revoke.html", host=ally.host, back=back)


@bp.post("/admin/allies/<host>/<action>")
@login_required
def change(host: str, action: str):
    require_admin()
    back = _back()
    if action not in ACTIONS:
        flash(_("Unknown action."), "error")
        return redirect(panel_url(PANEL, back))
    if action == "revoke" and request.form.get("confirm") != "yes":
        return render_template("federation/revoke.html", host=host, back=back)
    service, message = ACTIONS[action]
    try:
        done = service(host)
    except DomainError as error:
        db.session.rollback()  # the redirect below would otherwise commit a half-done change
        flash(error.message, "error")
        return redirect(panel_url(PANEL, back))
    flash(str(message) % {"host": done.ally.host}, "success")
    return redirect(panel_url(PANEL, back))


# ------------------------------------------------------------------------------- followers

FOLLOWERS_PANEL = "followers"


def followers_panel() -> dict[str, Any]:
    """What `coopol followers list` shows: pending requests first, then the others."""
    from flask import current_app

    from coopol.federation.followers import list_followers

    rows = list_followers()
    rows.sort(key=lambda row: (row.state != "pending", row.state != "accepted", -row.id))
    return {"followers": rows[:200], "total": len(rows), "mode": current_app.config.get("FEDIVERSE_FOLLOWERS"),
            "replies": current_app.config.get("FEDIVERSE_REPLIES")}


def register_followers_panel(app: Flask) -> None:
    register_panel(app, FOLLOWERS_PANEL, _l("Fediverse followers"), "federation/followers.html", followers_panel,
                   order=11)


def _follower_actions() -> dict[str, Any]:
    from coopol.federation import followers as f

    return {"approve": (f.approve_follower, _l("%(actor)s now follows us.")),
            "reject": (f.reject_follower, _l("%(actor)s's request was rejected.")),
            "revoke": (f.revoke_follower, _l("%(actor)s no longer follows us."))}


@bp.post("/admin/followers/<int:follower_id>/<action>")
@login_required
def follower_change(follower_id: int, action: str):
    require_admin()
    back = _back()
    actions = _follower_actions()
    if action not in actions:
        flash(_("Unknown action."), "error")
        return redirect(panel_url(FOLLOWERS_PANEL, back))
    service, message = actions[action]
    try:
        done = service(str(follower_id))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(panel_url(FOLLOWERS_PANEL, back))
    flash(str(message) % {"actor": done.follower.name or done.follower.actor_id}, "success")
    return redirect(panel_url(FOLLOWERS_PANEL, back))
