"""The group page's frame: what other modules show in a group, registered, never imported.

As a Decidim space shows the components that plug into it, `ideas` and `events` register with a group
from their own `register(app)`:

- `register_section(app, "gatherings", _l("Upcoming gatherings"), "events/_group_section.html", context)`:
  `context(group, viewer)` returns what the template reads as `data`, or None to hide the section;
- `register_counter(app, "upcoming_event_count", count)`: `count(group_ids)` returns `{group_id: n}`
  for one page of groups at once (missing ids count 0); the API shows it on every group.

This package imports no domain module that registers here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

_SECTIONS = "coopol.groups.sections"
_COUNTERS = "coopol.groups.counters"
# Counters the API promises on every group (API.md), 0 until a module registers them.
PROMISED_COUNTERS = ("upcoming_event_count",)


@dataclass(frozen=True)
class Section:
    key: str
    title: Any  # a lazy string
    template: str
    context: Callable[[Any, Any], dict[str, Any] | None]
    order: int = 100


def register_section(app: Flask, key: str, title: Any, template: str,
                     context: Callable[[Any, Any], dict[str, Any] | None], *, order: int = 100) -> None:
    sections = app.extensions.setdefault(_SECTIONS, {})
    if key in sections:
        raise ValueError(f"A group section '{key}' is already registered.")
    sections[key] = Section(key, title, template, context, order)


def register_counter(app: Flask, key: str, count: Callable[[list[int]], dict[int, int]]) -> None:
    counters = app.extensions.setdefault(_COUNTERS, {})
    if key in counters:
        raise ValueError(f"A group counter '{key}' is already registered.")
    counters[key] = count


def sections_for(group: Any, viewer: Any) -> list[dict[str, Any]]:
    shown = []
    for section in sorted(current_app.extensions.get(_SECTIONS, {}).values(), key=lambda s: (s.order, s.key)):
        data = section.context(group, viewer)
        if data is not None:
            shown.append({"key": section.key, "title": section.title, "template": section.template, "data": data})
    return shown


def counters_for(group_ids: Iterable[int]) -> dict[str, dict[int, int]]:
    """Every registered counter (and every promised one) for these groups: {key: {group_id: n}}."""
    ids = list(group_ids)
    registered = current_app.extensions.get(_COUNTERS, {})
    out: dict[str, dict[int, int]] = {key: {} for key in PROMISED_COUNTERS}
    for key, count in registered.items():
        out[key] = dict(count(ids)) if ids else {}
    return out


__all__ = ["Section", "counters_for", "register_counter", "register_section", "sections_for"]
