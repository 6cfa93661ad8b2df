"""What every content rule shares: one collector of field errors (so one answer names every invalid
field) and the cleaning of free text that members type (ideas, comments, groups)."""

from __future__ import annotations

import unicodedata

from coopol.core.errors import ValidationFailed


class Errors(dict):
    """Collects every field's problems, so one response names all of them."""

    def add(self, name: str, message: str) -> None:
        self.setdefault(name, []).append(message)

    def raise_if_any(self) -> None:
        if self:
            raise ValidationFailed.fields(dict(self))


def clean_text(value: str | None) -> str:
    """NFC, without NUL and other control characters (newlines and tabs stay), without carriage returns."""
    text = unicodedata.normalize("NFC", value or "")
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc").replace("\r", "")
