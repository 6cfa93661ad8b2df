"""Whole numbers read from outside input (cursors, form fields, headers).

`str.isdigit()` is true for "²" and "١٢٣", which `int()` then refuses, and a digit string may be far
larger than any database integer: both crashed requests. Only ASCII digits within a bound pass here.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1  # the largest BIGINT; SQLite's INTEGER too


def whole_number(text: str | None, *, maximum: int = MAX_ID) -> int | None:
    """``text`` as a non-negative int, or None when it is not ASCII digits within ``maximum``."""
    if not text or not text.isascii() or not text.isdigit() or len(text) > len(str(maximum)):
        return None
    value = int(text)
    return value if value <= maximum else None


def id_cursor(cursor: str) -> int:
    """The row id an id-ordered list's cursor carries; `ValidationFailed` (422) for anything else."""
    from flask_babel import gettext as _

    from coopol.core.errors import ValidationFailed

    value = whole_number(cursor)
    if value is None:
        raise ValidationFailed.field("cursor", _("This cursor is not valid for this list; start again without it."))
    return value
