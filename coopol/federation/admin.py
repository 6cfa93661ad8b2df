"""The admin page of alliances: pending requests to accept or reject, allies, their health and the state
of their backfill.

Nothing here waits on a peer: answering a request only writes outbox rows; the worker delivers them.
Asking a new instance to ally needs discovery over the network, so it is a CLI command
(`coopol allies request URL`).
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from coopol.accounts.auth import require_member
from coopol.core.errors import DomainError, PermissionDenied
from coopol.extensions import db
from coopol.federation import alliances
from coopol.federation import labels as _labels  # noqa: F401  (the allies page reads its words through label())
from coopol.federation.actors import group_id

bp = Blueprint("federation_admin", __name__, template_folder="templates")


def _require_admin() -> None:
    if not require_member().is_admin:
        raise PermissionDenied(_("Only administrators can manage alliances."))


@bp.get("/admin/allies")
@login_required
def allies():
    _require_admin()
    from coopol.federation.cli import backfill_jobs

    return render_template("federation/allies.html", allies=alliances.list_allies(), group_id=group_id(),
                           backfills=backfill_jobs())


ACTIONS = {
    "accept": (alliances.accept_alliance, _l("Alliance with %(host)s accepted; our own request was sent back.")),
    "reject": (alliances.reject_alliance, _l("Request from %(host)s rejected.")),
    "revoke": (alliances.revoke_alliance, _l("Alliance with %(host)s revoked.")),
}


@bp.post("/admin/allies/<host>/<action>")
@login_required
def change(host: str, action: str):
    _require_admin()
    if action not in ACTIONS:
        flash(_("Unknown action."), "error")
        return redirect(url_for("federation_admin.allies"))
    service, message = ACTIONS[action]
    try:
        change = service(host)
    except DomainError as error:
        db.session.rollback()  # the redirect below would otherwise commit a half-done change
        flash(error.message, "error")
        return redirect(url_for("federation_admin.allies"))
    flash(str(message) % {"host": change.ally.host}, "success")
    return redirect(url_for("federation_admin.allies"))
