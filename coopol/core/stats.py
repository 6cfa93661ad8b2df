"""The participation statistics' frame (`/stats`): sibling modules add their figures without the page's
owner (ideas) importing them. `register_participation(app, "gatherings", figures)`: `figures()` returns
`{name: {"total": n, "by_instance": {host: n}}}`, shown under its key next to ideas' own counts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app

Figures = Callable[[], dict[str, dict[str, Any]]]
_KEY = "coopol.participation"


def register_participation(app: Flask, key: str, figures: Figures) -> None:
    registry = app.extensions.setdefault(_KEY, {})
    if key in registry:
        raise ValueError(f"Participation figures '{key}' are already registered.")
    registry[key] = figures


def extra_participation() -> dict[str, dict[str, dict[str, Any]]]:
    return {key: figures() for key, figures in current_app.extensions.get(_KEY, {}).items()}


def hosts_of(extra: dict[str, dict[str, dict[str, Any]]]) -> set[str]:
    return {host for figures in extra.values() for counts in figures.values() for host in counts["by_instance"]}
