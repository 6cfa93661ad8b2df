"""Content rules for groups, shared by the web forms and the API (and federation, later)."""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import urlsplit

from flask_babel import gettext as _

from coopol.core.errors import ValidationFailed
from coopol.core.scopes import scope_tree
from coopol.core.validation import Errors, clean_text
from coopol.groups.models import (
    DESCRIPTION_MAX,
    NAME_MAX,
    NAME_MIN,
    REASON_MAX,
    SLUG_MAX,
    SLUG_MIN,
    URL_MAX,
    GroupKind,
    Joining,
)

SLUG_RE = re.compile(rf"[a-z0-9](?:[a-z0-9-]{{{SLUG_MIN - 2},{SLUG_MAX - 2}}})[a-z0-9]", re.ASCII)
# Addresses under /groups/ that are pages, not groups.
RESERVED_SLUGS = frozenset({"new", "api", "edit", "members"})


def clean_name(value: str | None, errors: Errors) -> str:
    name = " ".join(clean_text(value).split())
    if visible_length(name) < NAME_MIN:  # three zero-width spaces are no name
        errors.add("name", _("Use at least %(n)d characters.", n=NAME_MIN))
    elif len(name) > NAME_MAX:
        errors.add("name", _("Use at most %(n)d characters.", n=NAME_MAX))
    return name


def visible_length(text: str) -> int:
    """Characters that show: not spaces, not format characters (zero-width space, joiners, marks of
    direction)."""
    return sum(1 for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")


def is_slug(value: str | None) -> bool:
    return bool(value) and SLUG_RE.fullmatch(value) is not None and "--" not in value


def clean_slug(value: str, errors: Errors) -> str:
    slug = (value or "").strip()
    if not is_slug(slug):
        errors.add("slug", _("Use %(min)d to %(max)d lowercase letters, digits and single hyphens, "
                             "starting and ending with a letter or digit.", min=SLUG_MIN, max=SLUG_MAX))
    elif slug in RESERVED_SLUGS:
        errors.add("slug", _("This address is reserved; choose another."))
    return slug


def slugify(name: str) -> str:
    """`Écologie à Paris` → `ecologie-a-paris`; a name with no Latin letter gives `group`."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name).strip("-")[:SLUG_MAX - 4].strip("-")
    if len(slug) < SLUG_MIN or slug in RESERVED_SLUGS:
        slug = f"group-{slug}".strip("-") if slug else "group"
    return slug


def clean_description(value: str | None, errors: Errors) -> str:
    description = clean_text(value).strip()
    if len(description) > DESCRIPTION_MAX:
        errors.add("description", _("Use at most %(n)d characters.", n=DESCRIPTION_MAX))
    return description


def clean_choice(value: str | None, field: str, choices: type, errors: Errors) -> str:
    allowed = [c.value for c in choices]
    if value not in allowed:
        errors.add(field, _("Use one of: %(choices)s.", choices=", ".join(allowed)))
    return value or ""


def clean_kind_and_scope(kind: str | None, scope: str | None, errors: Errors) -> tuple[str, str | None]:
    kind = clean_choice(kind, "kind", GroupKind, errors)
    code = (scope or "").strip() or None
    if code is not None and code not in scope_tree():
        errors.add("scope", _("Unknown scope '%(code)s'.", code=code[:64]))
    elif kind == GroupKind.TERRITORIAL and code is None:
        errors.add("scope", _("A territorial group needs a scope."))
    return kind, code


def clean_joining(value: str | None, errors: Errors) -> str:
    return clean_choice(value, "joining", Joining, errors)


def clean_logo_url(value: str | None, errors: Errors) -> str | None:
    url = (value or "").strip()
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host, _port = parts.hostname, parts.port  # both raise for a malformed IPv6 literal or port
    except ValueError:
        parts, host = None, None
    if len(url) > URL_MAX or parts is None or parts.scheme not in ("http", "https") or not host or any(
            ch.isspace() for ch in url):
        errors.add("logo_url", _("Use an http or https address of at most %(n)d characters.", n=URL_MAX))
    return url


def clean_reason(value: str | None) -> str:
    reason = clean_text(value).strip()
    if not reason:
        raise ValidationFailed.field("reason", _("Say why."))
    if len(reason) > REASON_MAX:
        raise ValidationFailed.field("reason", _("Use at most %(n)d characters.", n=REASON_MAX))
    return reason
