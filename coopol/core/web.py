"""Web hardening applied to every request and response: security headers, a strict CSP (no inline
script), request guards (a body limit that also holds for chunked bodies, JSON-only API bodies, no NUL
characters, ids that fit a database integer) and safe redirect targets."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.routing import IntegerConverter

from coopol.core.errors import NotFound, ValidationFailed

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# NUL and lone surrogates cannot be stored (PostgreSQL refuses them) and never belong in text.
UNSTORABLE_TEXT = re.compile("[\x00\ud800-\udfff]")
# Ids are 32-bit integer columns on PostgreSQL (SQLAlchemy binds them as ::INTEGER): the largest id.
MAX_DATABASE_ID = 2**31 - 1


def security_headers(secure: bool) -> tuple[tuple[str, str], ...]:
    headers = (
        ("Content-Security-Policy", CSP),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "same-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    )
    if secure:
        headers += (("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),)
    return headers


def init_security_headers(app: Flask) -> None:
    # Built once: every response gets them, unless its view set its own (a logo's CSP).
    defaults = security_headers(app.config["URL"].startswith("https://"))
    api_defaults = (*defaults, ("Cache-Control", "no-store"))

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        present = {name.lower() for name in headers.keys()}
        wanted = api_defaults if request.path.startswith("/api/") else defaults
        headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
        return response


def integers_up_to(limit: int) -> str:
    """A regular expression matching exactly the ASCII integers 1..limit, without leading zeros."""
    digits = str(limit)
    options = [f"[1-9][0-9]{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for i, digit in enumerate(digits):
        lowest = 1 if i == 0 else 0
        if int(digit) > lowest:
            rest = len(digits) - i - 1
            options.append(f"{digits[:i]}[{lowest}-{int(digit) - 1}]" + (f"[0-9]{{{rest}}}" if rest else ""))
    options.append(digits)
    return "(?:" + "|".join(options) + ")"


class IdConverter(IntegerConverter):
    """`<int:id>` matching only ids a database integer holds, in ASCII digits. The regular expression
    itself says so: `/ideas/１` (a fullwidth digit, which Werkzeug's `\\d+` matches and `int()` reads as
    1) and `/ideas/2147483648` are no match, so a 404 for every method (a converter refusing a value
    that its regular expression matched makes Werkzeug answer 405 to the other methods of the path)."""

    regex = integers_up_to(MAX_DATABASE_ID)

    def __init__(self, map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(map, *args, **kwargs)


def init_request_guards(app: Flask) -> None:
    """Call before any blueprint is registered (the `int` converter applies to rules added later)."""
    app.url_map.converters["int"] = IdConverter
    api = app.extensions.get("coopol.api")
    if api is not None:
        from flask_smorest.spec.plugins import integerconverter2paramschema

        api.register_converter(IdConverter, integerconverter2paramschema)

    def limit_chunked_bodies():
        # A body sent with Transfer-Encoding: chunked has no Content-Length for werkzeug to check
        # against MAX_CONTENT_LENGTH up front: the limit only bites while the body is read, and the
        # JSON parser (webargs) turned that into "Invalid JSON body" (400). Read it here, first, so an
        # oversized body is a 413 whoever reads it next (the cached bytes serve them).
        if request.method in BODY_METHODS and request.content_length is None and _is_chunked():
            limit = request.max_content_length
            data = request.get_data(cache=True, parse_form_data=False)  # werkzeug stops at the limit...
            if limit is not None and len(data) >= limit and request.environ["wsgi.input"].read(1):
                raise RequestEntityTooLarge()  # ...so one byte more, read from the server, is too many

    # First of all the before_request functions: the CSRF check and the text guard read the form.
    app.before_request_funcs.setdefault(None, []).insert(0, limit_chunked_bodies)

    @app.before_request
    def require_json_api_bodies():
        if (request.method in BODY_METHODS and request.path.startswith("/api/") and _has_body()
                and not request.is_json):
            raise UnsupportedMediaType()

    @app.before_request
    def refuse_unstorable_text():
        if UNSTORABLE_TEXT.search(request.path):
            raise NotFound(_("Nothing exists at this address."))
        locations = [request.args] if request.query_string else []  # no query string: no arguments
        if request.method in BODY_METHODS:
            locations.append(request.form)
        for location in locations:
            for key, values in location.lists():
                if UNSTORABLE_TEXT.search(key) or any(UNSTORABLE_TEXT.search(v) for v in values):
                    raise ValidationFailed.field(
                        UNSTORABLE_TEXT.sub("", key), _("This text contains characters that are not allowed."))


def _is_chunked() -> bool:
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _has_body() -> bool:
    return bool(request.content_length) or _is_chunked()


def safe_redirect_target(target: str | None, fallback_endpoint: str = "core.home") -> str:
    """A local path to redirect to, or the fallback: never another site (`//evil`, `/\\evil`,
    `https://evil`), which browsers would happily follow."""
    if target and target.startswith("/") and "\\" not in target and not any(ord(c) < 32 for c in target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and not target.startswith("//"):
            return target
    return url_for(fallback_endpoint)
