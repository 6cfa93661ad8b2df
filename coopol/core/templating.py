"""Template helpers shared by every module: navigation entries, locale, dates."""

from __future__ import annotations

from flask import Flask, current_app
from flask_babel import format_date as babel_format_date
from flask_babel import format_datetime as babel_format_datetime
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español", "de": "Deutsch", "it": "Italiano"}


def add_nav(app: Flask, endpoint: str, label, *, members_only: bool = False) -> None:
    """Modules add their entries to the header navigation when they register."""
    app.extensions["coopol.nav"]["members" if members_only else "main"].append((endpoint, label))


def init_templating(app: Flask) -> None:
    app.extensions["coopol.nav"] = {"main": [], "members": []}

    @app.context_processor
    def helpers():
        return {
            "current_locale": lambda: str(get_locale() or current_app.config["LANGUAGE"]),
            "language_name": lambda code: LANGUAGE_NAMES.get(code, code),
            "main_nav": lambda: current_app.extensions["coopol.nav"]["main"],
            "member_nav": lambda: current_app.extensions["coopol.nav"]["members"],
        }

    app.add_template_filter(lambda value: babel_format_date(value) if value else "", "format_date")
    app.add_template_filter(
        lambda value: babel_format_datetime(value, "short") if value else "", "format_datetime")


__all__ = ["add_nav", "init_templating", "_l"]
