"""Supported across parties ("bridging"): a ranking of ideas (`sort=bridging`) that rewards support from
people who usually disagree and from members of several parties, instead of the most votes. The model is
in model.py (Community Notes' matrix factorisation and Pol.is' group-aware consensus, combined); the worker
refits it on a schedule and after enough new votes. It also finds co-voting clusters (covoting.py) for
moderators (`/clusters`). Depends on core, accounts and ideas; ideas knows
nothing of it (it registers its sort, its field and its page section through coopol/ideas/extend.py)."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from coopol.core.labels import define_labels

SETTINGS = {
    "BRIDGING_MIN_VOTES": 5,  # ideas with fewer votes are not ranked
    "BRIDGING_FIT_SECONDS": 3600,  # refit at least this often (when the worker runs)
    "BRIDGING_REFIT_VOTES": 100,  # ... and as soon as this many new votes arrived (0: on schedule only)
    "BRIDGING_CHECK_SECONDS": 60,  # how often the worker looks whether a fit is due
}
define_labels("sort", {"bridging": _l("across parties")})


def register(app: Flask) -> None:
    from coopol.bridging import models, routes  # noqa: F401 - the tables, for the metadata
    from coopol.bridging.admin_panel import register_bridging_panel
    from coopol.bridging.cli import bridging
    from coopol.bridging.models import IdeaBridging
    from coopol.bridging.presenters import bridging_field, section, sort_note
    from coopol.bridging.services import bridging_task
    from coopol.core.worker import add_worker_task
    from coopol.ideas.extend import add_idea_field, add_idea_section, add_sort
    from coopol.ideas.models import Idea

    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    app.register_blueprint(routes.bp)
    add_sort(app, "bridging", [(IdeaBridging.score, "float")],
             lambda stmt: stmt.join(IdeaBridging, IdeaBridging.idea_id == Idea.id), sort_note)
    add_idea_field(app, "bridging", bridging_field)
    add_idea_section(app, "bridging/_idea_section.html", section)
    add_worker_task(app, bridging_task)
    app.cli.add_command(bridging)
    register_bridging_panel(app)

