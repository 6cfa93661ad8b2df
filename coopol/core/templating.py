"""Template helpers shared by every module: navigation entries, locale, dates."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app
from flask_babel import format_date as babel_format_date
from flask_babel import format_datetime as babel_format_datetime
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español", "de": "Deutsch", "it": "Italiano"}


def add_nav(app: Flask, endpoint: str, label, *, members_only: bool = False) -> None:
    """Modules add their entries to the header navigation when they register."""
    app.extensions["coopol.nav"]["members" if members_only else "main"].append((endpoint, label))


def interface_languages(app: Flask) -> list[str]:
    """The configured languages the interface speaks: English (the source) and those with a compiled
    catalog. `LANGUAGES` may list more, for content (an idea's language)."""
    translations = Path(app.root_path) / "translations"
    return [code for code in app.config["LANGUAGES"]
            if code == "en" or (translations / code / "LC_MESSAGES" / "messages.mo").exists()]


def init_templating(app: Flask) -> None:
    app.extensions["coopol.nav"] = {"main": [], "members": []}
    app.config.setdefault("UI_LANGUAGES", interface_languages(app))
    if app.config["LANGUAGE"] not in app.config["UI_LANGUAGES"] and app.config["UI_LANGUAGES"]:
        app.logger.warning("The interface has no '%s' translation yet: pages fall back to English.",
                           app.config["LANGUAGE"])

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
