"""`/admin` (every panel) and `/admin/<key>` (one panel), for administrators only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required

from coopol.accounts.auth import require_member
from coopol.accounts.models import Member
from coopol.admin import find_panel, list_panels
from coopol.core.errors import PermissionDenied

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


def require_admin() -> Member:
    member = require_member()
    if not member.is_admin:
        raise PermissionDenied(_("Only administrators can use the administration pages."))
    return member


def panel_url(key: str, back: str | None = None) -> str:
    """Where a panel's form returns: the dashboard at that panel if it was sent from there, else the
    panel's own page."""
    if back == "dashboard":
        return url_for("admin.dashboard", _anchor=key)
    return url_for("admin.section", key=key)


def render_admin(key: str | None = None, *, status: int = 200,
                 overrides: dict[str, dict[str, Any]] | None = None):
    """The dashboard (`key` None) or one panel's page; `overrides` adds to a panel's data (a form's
    values and errors after a refused request)."""
    require_admin()
    if key is None:
        panels = list_panels()
    else:
        panel = find_panel(key)
        if panel is None:
            abort(404)
        panels = [panel]
    sections = [(panel, {**panel.context(), **(overrides or {}).get(panel.key, {})}) for panel in panels]
    page = render_template("admin/dashboard.html", sections=sections, single=key is not None,
                           back="panel" if key is not None else "dashboard")
    return page, status


@bp.get("")
@login_required
def dashboard():
    return render_admin()


@bp.get("/<key>")
@login_required
def section(key: str):
    return render_admin(key)
