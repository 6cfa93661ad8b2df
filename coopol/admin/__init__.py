"""The administrators' dashboard at `/admin`: a space that knows nothing of its panels.

As a Decidim space shows the components that register with it, each domain registers the panel it
shows here from its own `register(app)`: `register_panel(app, "moderation", _l("Moderation"),
"moderation/admin_panel.html", moderation_workload)`. The dashboard renders every panel in order;
`/admin/<key>` shows one alone. A panel's `context()` runs only for an administrator, inside the
request, and returns what its template reads as `data`. This package imports no domain module, and
the domains import only `register_panel` from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

PANELS = "coopol.admin.panels"


@dataclass(frozen=True)
class Panel:
    key: str  # the section's anchor and its address, /admin/<key>
    title: Any  # a lazy string
    template: str
    context: Callable[[], dict[str, Any]]
    order: int = 100


def register_panel(app: Flask, key: str, title: Any, template: str, context: Callable[[], dict[str, Any]],
                   *, order: int = 100) -> None:
    panels = app.extensions.setdefault(PANELS, {})
    if key in panels:
        raise ValueError(f"An admin panel '{key}' is already registered.")
    panels[key] = Panel(key, title, template, context, order)


def list_panels() -> list[Panel]:
    return sorted(current_app.extensions.get(PANELS, {}).values(), key=lambda panel: (panel.order, panel.key))


def find_panel(key: str) -> Panel | None:
    return current_app.extensions.get(PANELS, {}).get(key)


def register(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l
    from flask_login import current_user

    from coopol.admin import routes

    app.extensions.setdefault(PANELS, {})
    app.register_blueprint(routes.bp)
    admin_entry = [("admin.dashboard", _l("Administration"))]

    @app.context_processor
    def admin_navigation():
        # Shown to administrators only; base.html renders it after the member entries.
        def admin_nav():
            return admin_entry if current_user.is_authenticated and current_user.is_admin else []

        return {"admin_nav": admin_nav}


__all__ = ["Panel", "find_panel", "list_panels", "register", "register_panel"]
