"""The moderators' page of co-voting clusters (thin handlers over clusters.py)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required

from coopol.accounts.auth import viewer as _viewer
from coopol.bridging import clusters
from coopol.core.errors import DomainError
from coopol.extensions import db

bp = Blueprint("bridging", __name__, template_folder="templates")


@bp.get("/clusters")
@login_required
def cluster_list():
    return render_template("bridging/clusters.html", clusters=clusters.list_clusters(_viewer()))


@bp.post("/clusters/<int:cluster_id>/review")
@login_required
def review(cluster_id: int):
    try:
        clusters.review_cluster(_viewer(), cluster_id)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("bridging.cluster_list"))
    flash(_("The cluster is marked as reviewed."), "success")
    return redirect(url_for("bridging.cluster_list"))
