"""Content rules for ideas and comments, shared by the web forms, the API and federation."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from flask import current_app
from flask_babel import gettext as _

from coopol.core.validation import Errors, clean_text
from coopol.ideas.models import (
    BODY_MAX,
    COMMENT_MAX,
    STANCES,
    TAG_MAX_LENGTH,
    TAGS_MAX,
    TITLE_MAX,
    TITLE_MIN,
)
from coopol.ideas.scopes import scope_tree

TAG_RE = re.compile(r"^[\w-]+$")
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")


def clean_title(value: str | None, errors: Errors) -> str:
    title = " ".join(clean_text(value).split())
    if len(title) < TITLE_MIN:
        errors.add("title", _("Use at least %(n)d characters.", n=TITLE_MIN))
    elif len(title) > TITLE_MAX:
        errors.add("title", _("Use at most %(n)d characters.", n=TITLE_MAX))
    return title


def clean_body(value: str | None, errors: Errors, *, name: str = "body", maximum: int = BODY_MAX,
               required: bool = True) -> str:
    body = clean_text(value).strip()
    if required and not body:
        errors.add(name, _("This field is required."))
    elif len(body) > maximum:
        errors.add(name, _("Use at most %(n)d characters.", n=maximum))
    return body


def clean_comment_body(value: str | None, errors: Errors) -> str:
    return clean_body(value, errors, maximum=COMMENT_MAX)


def clean_tags(values: Iterable[str] | str | None, errors: Errors) -> list[str]:
    if values is None:
        return []
    if isinstance(values, str):
        values = re.split(r"[,\s]+", values)
    tags: list[str] = []
    for raw in values:
        tag = unicodedata.normalize("NFC", str(raw)).strip().lstrip("#").lower()
        if not tag:
            continue
        if len(tag) > TAG_MAX_LENGTH or not TAG_RE.match(tag):
            errors.add("tags", _("'%(tag)s' is not a valid tag: use letters, digits and dashes (at most "
                                 "%(n)d).", tag=tag[:50], n=TAG_MAX_LENGTH))
            continue
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        errors.add("tags", _("Use at most %(n)d tags.", n=TAGS_MAX))
    return tags


def clean_scope(value: str | None, errors: Errors) -> str | None:
    code = (value or "").strip()
    if not code:
        return None
    if code not in scope_tree():
        errors.add("scope", _("Unknown scope '%(code)s'.", code=code[:64]))
    return code


def clean_language(value: str | None, errors: Errors, *, local: bool = True) -> str:
    """A local idea is written in one of the instance's languages (config key `languages`); an ally's
    copy keeps the code its origin gave, if it looks like one."""
    language = (value or "").strip() or current_app.config["LANGUAGE"]
    if local and language not in current_app.config["LANGUAGES"]:
        errors.add("language", _("Choose one of this instance's languages: %(choices)s.",
                                 choices=", ".join(current_app.config["LANGUAGES"])))
    elif not LANGUAGE_RE.match(language):
        errors.add("language", _("Use a language code such as 'en' or 'fr'."))
    return language


def clean_stance(value: str | None, errors: Errors) -> str:
    stance = value or "neutral"
    if stance not in STANCES:
        errors.add("stance", _("Choose one of: %(choices)s.", choices=", ".join(STANCES)))
    return stance
