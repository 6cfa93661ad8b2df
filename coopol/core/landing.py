"""The landing page's frame: who the party is, how many take part, and what each module shows there.

Like a group page (ARCHITECTURE.md), the landing knows none of its contents: modules register
*participation counters* (members, ideas, votes, allies; groups and gatherings later) and *sections*
(a template and the context it needs) when they register. The page itself is `core.home` (pages.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app


@dataclass(frozen=True)
class Counter:
    key: str
    label: Any  # a lazy string: the label, in the viewer's language, of a number ("members")
    count: Callable[[], int]
    order: int = 100
    endpoint: str | None = None  # where the number leads, if anywhere


@dataclass(frozen=True)
class Section:
    key: str
    template: str
    context: Callable[[Any], dict[str, Any] | None]  # (viewer) -> template variables; None hides it
    order: int = 100


def _registry(app: Flask) -> dict[str, list]:
    return app.extensions.setdefault("coopol.landing", {"counters": [], "sections": []})


def register_counter(app: Flask, key: str, label: Any, count: Callable[[], int], *, order: int = 100,
                     endpoint: str | None = None) -> None:
    _registry(app)["counters"].append(Counter(key, label, count, order, endpoint))


def register_section(app: Flask, key: str, template: str, context: Callable[[Any], dict[str, Any] | None], *,
                     order: int = 100) -> None:
    _registry(app)["sections"].append(Section(key, template, context, order))


def participation() -> list[dict[str, Any]]:
    counters = sorted(_registry(current_app)["counters"], key=lambda c: c.order)
    return [{"key": c.key, "label": c.label, "value": c.count(), "endpoint": c.endpoint} for c in counters]


def sections(viewer: Any) -> list[dict[str, Any]]:
    shown = []
    for section in sorted(_registry(current_app)["sections"], key=lambda s: s.order):
        context = section.context(viewer)
        if context is not None:
            shown.append({"key": section.key, "template": section.template, "context": context})
    return shown
