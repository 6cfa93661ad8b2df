"""Words shown to people for stored values (an idea's state, a report's reason, an alliance's status):
one translatable table per kind, declared by the module that owns the values, read through `label()`
(in templates: `label_of("idea_state", idea.state)`).

Each table maps a value to a `lazy_gettext` string, so `pybabel extract` sees every word and the
catalogs' completeness test covers them; templates never call `_()` on a variable (such a msgid is
invisible to extraction). An unknown value shows as itself rather than failing the page.
"""

from __future__ import annotations

from collections.abc import Mapping

# "field": form and API field names as their forms label them, for error summaries; each module adds its own.
_TABLES: dict[str, dict[str, object]] = {"field": {}}


def define_labels(kind: str, table: Mapping[str, object]) -> Mapping[str, object]:
    """Declare the words of one kind of value (module level, with `_l`); a kind declared twice gets both
    tables (e.g. "field"). Returns the table."""
    _TABLES.setdefault(kind, {}).update(table)
    return table


def label(kind: str, value: object) -> str:
    """The word for `value` in the language in force: `label("idea_state", "published")`."""
    if value is None:
        return ""
    key = str(value)
    found = _TABLES[kind].get(key)
    return str(found) if found is not None else key


def label_choices(kind: str) -> Mapping[str, object]:
    return _TABLES[kind]


def field_names(errors: Mapping[str, object]) -> str:
    """The invalid fields of an error summary, by their labels: "Description, Title", not "body, title"."""
    return ", ".join(sorted(label("field", name) for name in errors))
