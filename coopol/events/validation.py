"""Content rules for gatherings, shared by the API, the web forms and (for copies) federation."""

from __future__ import annotations

import math
import zoneinfo
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _

from coopol.core.schemas import EARLIEST_MOMENT, LATEST_MOMENT
from coopol.core.scopes import scope_tree
from coopol.core.validation import Errors, clean_text
from coopol.events.models import (
    ADDRESS_MAX,
    CAPACITY_MAX,
    DESCRIPTION_MAX,
    MINUTES_MAX,
    PLACE_NAME_MAX,
    REASON_MAX,
    TIMEZONE_MAX,
    TITLE_MAX,
    TITLE_MIN,
    TURNOUT_MAX,
    URL_MAX,
    EventMode,
)

__all__ = ["Errors", "clean_capacity", "clean_dates", "clean_description", "clean_language", "clean_mode",
           "clean_online_url", "clean_place", "clean_reason", "clean_report", "clean_scope", "clean_timezone",
           "clean_title", "https_required"]


def clean_title(value: str | None, errors: Errors) -> str:
    title = " ".join(clean_text(value).split())
    if len(title) < TITLE_MIN:
        errors.add("title", _("Use at least %(n)d characters.", n=TITLE_MIN))
    elif len(title) > TITLE_MAX:
        errors.add("title", _("Use at most %(n)d characters.", n=TITLE_MAX))
    return title


def clean_description(value: str | None, errors: Errors) -> str:
    description = clean_text(value).strip()
    if len(description) > DESCRIPTION_MAX:
        errors.add("description", _("Use at most %(n)d characters.", n=DESCRIPTION_MAX))
    return description


@lru_cache(maxsize=1)
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def clean_timezone(value: str | None, errors: Errors) -> ZoneInfo | None:
    """An IANA zone that exists (`Europe/Paris`); None (and an error) otherwise."""
    name = (value or "").strip()
    if not name or len(name) > TIMEZONE_MAX or name not in _zone_names():
        errors.add("timezone", _("Use an IANA time zone such as “Europe/Paris”."))
        return None
    return ZoneInfo(name)


def _to_utc(value: Any, zone: ZoneInfo | None, field: str, errors: Errors) -> datetime | None:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00")) if len(value) < 40 else None
        except ValueError:
            value = None
    if not isinstance(value, datetime):
        errors.add(field, _("Give a date and time such as 2026-05-01T18:30."))
        return None
    if not EARLIEST_MOMENT.year < value.year < LATEST_MOMENT.year:
        errors.add(field, _("Choose a date between %(earliest)s and %(latest)s.",
                            earliest=f"{EARLIEST_MOMENT:%Y-%m-%d}", latest=f"{LATEST_MOMENT:%Y-%m-%d}"))
        return None
    if value.tzinfo is None:  # a wall-clock time in the gathering's zone
        if zone is None:
            return None
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def clean_dates(starts_at: Any, ends_at: Any, zone: ZoneInfo | None, errors: Errors
                ) -> tuple[datetime | None, datetime | None]:
    """Start and end in UTC. A time without an offset is read in the gathering's zone."""
    start = _to_utc(starts_at, zone, "starts_at", errors)
    end = _to_utc(ends_at, zone, "ends_at", errors)
    if start is not None and end is not None and end <= start:
        errors.add("ends_at", _("The end must come after the start."))
    return start, end


def clean_mode(value: str | None, errors: Errors) -> str:
    allowed = [m.value for m in EventMode]
    if value not in allowed:
        errors.add("mode", _("Use one of: %(choices)s.", choices=", ".join(allowed)))
    return value or ""


def clean_place(value: dict[str, Any] | None, mode: str, errors: Errors) -> dict[str, Any]:
    """{name, address, lat, lon}: an in-person or hybrid gathering needs a name or an address."""
    place = dict(value or {})
    name = " ".join(clean_text(place.get("name")).split()) or None
    address = clean_text(place.get("address")).strip() or None
    lat, lon = place.get("lat"), place.get("lon")
    if name and len(name) > PLACE_NAME_MAX:
        errors.add("place", _("Use at most %(n)d characters for the place's name.", n=PLACE_NAME_MAX))
    if address and len(address) > ADDRESS_MAX:
        errors.add("place", _("Use at most %(n)d characters for the address.", n=ADDRESS_MAX))
    if mode in (EventMode.IN_PERSON, EventMode.HYBRID) and not (name or address):
        errors.add("place", _("Say where it takes place: a place name or an address."))
    if (lat is None) != (lon is None):
        errors.add("place", _("Give both latitude and longitude, or neither."))
    elif lat is not None:
        if isinstance(lat, bool) or isinstance(lon, bool) or not isinstance(lat, int | float) \
                or not isinstance(lon, int | float) or not (math.isfinite(lat) and math.isfinite(lon)) \
                or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            errors.add("place", _("Latitude is between -90 and 90, longitude between -180 and 180."))
            lat = lon = None
    if mode == EventMode.ONLINE:
        name = address = lat = lon = None
    return {"name": name, "address": address, "lat": float(lat) if lat is not None else None,
            "lon": float(lon) if lon is not None else None}


def https_required() -> bool:
    """Production mode: an instance served over https links only to https meeting rooms."""
    return str(current_app.config.get("URL", "")).startswith("https://")


def clean_online_url(value: str | None, mode: str, errors: Errors) -> str | None:
    url = (value or "").strip()
    if mode == EventMode.IN_PERSON:
        return url or None
    if not url:
        errors.add("online_url", _("An online gathering needs the address where people meet."))
        return None
    parts = urlsplit(url)
    allowed = ("https",) if https_required() else ("http", "https")
    if len(url) > URL_MAX or parts.scheme not in allowed or not parts.netloc or any(ch.isspace() for ch in url):
        if https_required():
            errors.add("online_url", _("Use an https address of at most %(n)d characters.", n=URL_MAX))
        else:
            errors.add("online_url", _("Use an http or https address of at most %(n)d characters.", n=URL_MAX))
    return url


def clean_capacity(value: Any, errors: Errors) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1 or value > CAPACITY_MAX:
        errors.add("capacity", _("Leave it empty for no limit, or use a number from 1 to %(n)d.", n=CAPACITY_MAX))
        return None
    return value


def clean_scope(value: str | None, errors: Errors) -> str | None:
    code = (value or "").strip() or None
    if code is not None and code not in scope_tree():
        errors.add("scope", _("Unknown scope '%(code)s'.", code=code[:64]))
    return code


def clean_language(value: str | None, errors: Errors) -> str:
    language = (value or "").strip() or current_app.config["LANGUAGE"]
    if language not in current_app.config["LANGUAGES"]:
        errors.add("language", _("Choose one of this instance's languages: %(choices)s.",
                                 choices=", ".join(current_app.config["LANGUAGES"])))
    return language


def clean_reason(value: str | None, errors: Errors) -> str:
    reason = clean_text(value).strip()
    if len(reason) > REASON_MAX:
        errors.add("reason", _("Use at most %(n)d characters.", n=REASON_MAX))
    return reason


def clean_report(minutes: str | None, turnout: Any, errors: Errors) -> tuple[str, int | None]:
    text = clean_text(minutes).strip()
    if not text:
        errors.add("minutes", _("Write a few words about how it went."))
    elif len(text) > MINUTES_MAX:
        errors.add("minutes", _("Use at most %(n)d characters.", n=MINUTES_MAX))
    if turnout is not None and (isinstance(turnout, bool) or not isinstance(turnout, int)
                                or turnout < 0 or turnout > TURNOUT_MAX):
        errors.add("turnout", _("Use a number from 0 to %(n)d.", n=TURNOUT_MAX))
        turnout = None
    return text, turnout
