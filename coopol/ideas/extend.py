"""How other packages add to ideas without ideas importing them (as groups/space.py does for a group):
a sort of the list, a field of every idea's view (API and pages), a section of the idea page.

- `add_sort(app, "bridging", [(Table.score, "float")], prepare)`: `?sort=bridging`; `prepare(stmt)` joins
  the table holding the keys (an inner join: the sort lists only the ideas it ranks); the keys are ordered
  descending, then by the idea's id, with keyset cursors like the built-in sorts; `note()` may say under the
  web list's sorts what the sort leaves out.
- `add_idea_field(app, "bridging", load)`: `load(ideas, viewer) -> {idea_id: value}` for a page of ideas (one
  batch); every view carries `name`, None for the ideas `load` leaves out. Its API schema field is declared
  in schemas.py (the contract, API.md).
- `add_idea_section(app, template, context)`: `context(idea, view, viewer)` returns what the template reads
  as `data`, or None to show nothing; sections appear below the votes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app

_SORTS, _FIELDS, _SECTIONS = "coopol.ideas.sorts", "coopol.ideas.fields", "coopol.ideas.sections"


@dataclass(frozen=True)
class ExtraSort:
    keys: list[tuple[Any, str]]  # (column, kind: int | float | datetime), before the idea's id
    prepare: Callable[[Any], Any]
    note: Callable[[], str] | None = None  # a sentence under the list's sorts, e.g. which ideas it leaves out


def add_sort(app: Flask, name: str, keys: list[tuple[Any, str]], prepare: Callable[[Any], Any],
             note: Callable[[], str] | None = None) -> None:
    app.extensions.setdefault(_SORTS, {})[name] = ExtraSort(keys, prepare, note)


def extra_sorts() -> dict[str, ExtraSort]:
    return current_app.extensions.get(_SORTS, {})


def add_idea_field(app: Flask, name: str, load: Callable[[list, Any], dict[int, Any]]) -> None:
    app.extensions.setdefault(_FIELDS, {})[name] = load


def idea_fields() -> dict[str, Callable[[list, Any], dict[int, Any]]]:
    return current_app.extensions.get(_FIELDS, {})


def add_idea_section(app: Flask, template: str, context: Callable[[Any, dict, Any], Any]) -> None:
    app.extensions.setdefault(_SECTIONS, []).append((template, context))


def idea_sections(idea: Any, view: dict, viewer: Any) -> list[dict[str, Any]]:
    shown = []
    for template, context in current_app.extensions.get(_SECTIONS, ()):
        data = context(idea, view, viewer)
        if data is not None:
            shown.append({"template": template, "data": data})
    return shown
