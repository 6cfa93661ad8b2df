"""Template helpers shared by every module: navigation entries, locale, dates."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, g
from flask_babel import format_date as babel_format_date
from flask_babel import format_datetime as babel_format_datetime
from flask_babel import format_number as babel_format_number
from flask_babel import get_locale, get_translations
from flask_babel import lazy_gettext as _l

from coopol.core.labels import label

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


def _template_gettext(string: str) -> str:
    """Flask-Babel's template `_()`, remembering each translation for the rest of the request: a page
    of 50 comments asks for the same dozen strings some 600 times. Keyed by the locale object in force,
    so `force_locale` blocks get their own."""
    babel_state = g.get("_flask_babel") if g else None
    locale = getattr(babel_state, "babel_locale", None)
    if locale is None:
        return get_translations().ugettext(string)
    memo = g.setdefault("_coopol_gettext", {})
    key = (id(locale), string)
    found = memo.get(key)
    if found is None or found[0] is not locale:
        found = memo[key] = (locale, get_translations().ugettext(string))
    return found[1]


def _template_ngettext(singular: str, plural: str, n: int) -> str:
    return get_translations().ungettext(singular, plural, n)


def init_templating(app: Flask) -> None:
    app.jinja_env.install_gettext_callables(_template_gettext, _template_ngettext, newstyle=True)
    app.add_template_global(label, "label_of")  # {{ label_of("idea_state", idea.state) }}: coopol/core/labels.py
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
    app.add_template_filter(babel_format_number, "format_number")  # 10,000 / 10 000 / 10.000


__all__ = ["add_nav", "init_templating", "_l"]
