"""One error shape for every failure.

Services raise `DomainError` subclasses. On the API (and every JSON endpoint) they become
`{"code", "status", "message", "errors": {field: [messages]}}`; on pages, an HTML error page
(forms catch `ValidationFailed` themselves to show the errors next to the fields).

A database that cannot serve (gone, restarting, locked) is a 503 with `Retry-After`, answered without
touching the database again: the member is forgotten for the rest of the request (pages render as
for a visitor, the locale comes from the cookie, Accept-Language or the instance's language). No
handler lets an exception out: the last resort is a plain answer in the same shape.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from coopol.core.labels import field_names


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str, errors: dict[str, list[str]] | None = None, *,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.headers = headers or {}


class ValidationFailed(DomainError):
    status_code = 422

    @classmethod
    def field(cls, name: str, message: str) -> ValidationFailed:
        return cls(message, {name: [message]})

    @classmethod
    def fields(cls, errors: dict[str, list[str]]) -> ValidationFailed:
        """Several invalid fields at once; the message names them."""
        return cls(_("Some fields are invalid: %(fields)s", fields=field_names(errors)), errors)


class AuthenticationFailed(DomainError):
    status_code = 401


class PermissionDenied(DomainError):
    status_code = 403


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    status_code = 409


class IllegalTransition(Conflict):
    """A lifecycle change that the declared transitions do not allow."""


class PayloadTooLarge(DomainError):
    status_code = 413


class RateLimited(DomainError):
    status_code = 429


def error_body(status: int, message: str, errors: dict[str, Any] | None = None) -> dict[str, Any]:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {"code": status, "status": phrase, "message": message, "errors": errors or {}}


def wants_json() -> bool:
    """API, federation and JSON-asking clients get JSON errors; browsers get pages."""
    if request.path.startswith(("/api/", "/.well-known/", "/nodeinfo", "/inbox")) or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(
        ["text/html", "application/json", "application/activity+json", "application/ld+json"])
    return best is not None and best != "text/html"


def _flatten_webargs(messages: Any) -> dict[str, list[str]]:
    """webargs nests field errors by location ({"json": {"title": [...]}}); our shape is flat."""
    flat: dict[str, list[str]] = {}
    if not isinstance(messages, dict):
        return {"_schema": [str(messages)]}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            for name, msgs in fields.items():
                flat.setdefault(str(name), []).extend(_as_messages(msgs))
        else:
            flat.setdefault("_schema" if location in ("json", "query", "form") else str(location), []).extend(
                _as_messages(fields))
    return flat


def _as_messages(value: Any) -> list[str]:
    if isinstance(value, list):
        out: list[str] = []
        for item in value:
            out.extend(_as_messages(item))
        return out
    if isinstance(value, dict):
        return [f"{key}: {msg}" for key, msgs in value.items() for msg in _as_messages(msgs)]
    return [str(value)]


# Clearer (and translated) words than werkzeug's stock descriptions, used when an error carries no
# message of its own.
GENERIC_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Authentication required."),
    403: _l("You are not allowed to do this."),
    404: _l("Nothing exists at this address."),
    405: _l("This method is not allowed at this address."),
    413: _l("The request is too large."),
    415: _l("Send the data as JSON (Content-Type: application/json)."),
    422: _l("Some fields are invalid."),
    429: _l("Too many requests. Please slow down and try again later."),
    500: _l("Something went wrong on our side; the error was logged."),
    503: _l("The service is briefly unavailable. Please try again in a few seconds."),
}
# Seconds a client should wait before retrying when the database is unavailable: a PostgreSQL restart
# takes a few seconds, and the pool reconnects on the first request after it.
DATABASE_RETRY_AFTER = 5
_JSON_PACKAGE = os.path.dirname(json.__file__)

# Shown when the error page itself cannot be rendered (a broken template, an unusable database).
_FALLBACK_PAGE = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>{status}</title></head>"
                  "<body><main><h1>{status}</h1><p>{message}</p><p><a href=\"/\">Home</a></p></main></body></html>")


def _respond(status: int, message: str, errors: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None):
    message = str(message)
    if wants_json():
        response = jsonify(error_body(status, message, errors))
    else:
        html = _render_error_page(status, message, errors)
        response = make_response(html)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def _render_error_page(status: int, message: str, errors: dict[str, Any] | None) -> str:
    from coopol.core.database import database_unavailable, mark_database_unavailable

    for _attempt in range(2):
        try:
            return render_template("error.html", status=status, message=message, errors=errors or {})
        except Exception as error:  # noqa: BLE001 - the error page must always answer
            if database_unavailable(error) and not _database_marked():
                # The page shows who is logged in, which loads them: render it again as for a visitor.
                mark_database_unavailable()
                continue
            current_app.logger.exception("The error page for %s could not be rendered", status)
            break
    return _FALLBACK_PAGE.format(status=status, message=escape(message))


def _database_marked() -> bool:
    from coopol.core.database import is_database_marked_unavailable

    return is_database_marked_unavailable()


def _last_resort(handler: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An error handler that raises would let the server answer its own bare HTML 500: answer in our
    shape instead, in English, with nothing that could fail again (no translation, no template)."""

    @functools.wraps(handler)
    def guarded(error):
        try:
            return handler(error)
        except Exception:  # noqa: BLE001
            current_app.logger.exception("The error handler for %r failed", error)
            message = "Something went wrong on our side; the error was logged."
            try:
                as_json = wants_json()
            except Exception:  # noqa: BLE001
                as_json = True
            if as_json:
                response = make_response(json.dumps(error_body(500, message)), 500)
                response.mimetype = "application/json"
            else:
                response = make_response(_FALLBACK_PAGE.format(status=500, message=message), 500)
            return response

    return guarded


def _abandon_transaction() -> None:
    """After an error the session may be unusable (a failed flush, an aborted PostgreSQL transaction);
    roll back before anything queries again (translating a message or the error page may load the
    member)."""
    from coopol.extensions import db

    try:
        db.session.rollback()
    except Exception:
        current_app.logger.exception("Rolling back after an error failed")


def _raised_by_json_decoder(error: BaseException) -> bool:
    traceback = error.__traceback__
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename.startswith(_JSON_PACKAGE):
            return True
        traceback = traceback.tb_next
    return False


def _http_message(error: HTTPException, status: int) -> str:
    data = getattr(error, "data", None) or {}
    if data.get("message"):
        return str(data["message"])
    if isinstance(error, CSRFError):
        return _("The security check of this form failed (%(reason)s) Reload the page and try again.",
                 reason=error.description)
    stock = getattr(type(error), "description", None)
    if (not error.description or error.description == stock) and status in GENERIC_MESSAGES:
        return str(GENERIC_MESSAGES[status])
    return str(error.description or HTTPStatus(status).phrase)


def register_error_handlers(app: Flask) -> None:
    # Every error response rolls the unit of work back (see uow.py); doing it first also keeps the
    # error page working when the failure left the transaction unusable.
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    from coopol.core.database import database_unavailable, mark_database_unavailable

    def handle_database_unavailable(error: Exception):
        # Before anything else: translating the message selects the locale, which would load the
        # member from the database that just failed.
        mark_database_unavailable()
        app.logger.warning("The database is unavailable on %s %s: %s", request.method, request.path,
                           str(error).splitlines()[0] if str(error) else type(error).__name__)
        _abandon_transaction()
        message = _("The service is briefly unavailable (its database cannot be reached). "
                    "Please try again in a few seconds.")
        return _respond(503, message, headers={"Retry-After": str(DATABASE_RETRY_AFTER)})

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    @_last_resort
    def handle_database_error(error: Exception):
        if database_unavailable(error):
            return handle_database_unavailable(error)
        return handle_unexpected(error)

    @app.errorhandler(DomainError)
    @_last_resort
    def handle_domain_error(error: DomainError):
        _abandon_transaction()
        return _respond(error.status_code, error.message, error.errors, error.headers)

    @app.errorhandler(HTTPException)
    @_last_resort
    def handle_http_exception(error: HTTPException):
        status = error.code or 500
        # What failed outside the view (the commit after it, say) reaches us as a 500 wrapping it.
        if status == 500 and database_unavailable(getattr(error, "original_exception", None)):
            return handle_database_unavailable(error.original_exception)
        _abandon_transaction()
        data = getattr(error, "data", None) or {}
        errors: dict[str, Any] = {}
        if "messages" in data:
            errors = _flatten_webargs(data["messages"])
        message = _http_message(error, status)
        if status == 422 and errors:
            message = _("Some fields are invalid: %(fields)s", fields=field_names(errors))
        elif status == 400 and errors:
            message = "; ".join(m for msgs in errors.values() for m in msgs) or message
        headers = {}
        if status == 405 and error.get_response().headers.get("Allow"):
            headers["Allow"] = error.get_response().headers["Allow"]
        if status == 429:
            message = _("Too many requests (%(limit)s). Please slow down and try again later.",
                        limit=error.description)
            resp = error.get_response()
            for key in ("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
                        "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
                if key in resp.headers:
                    headers[key] = resp.headers[key]
        return _respond(status, message, errors, headers)

    @app.errorhandler(RecursionError)
    @_last_resort
    def handle_recursion(error: RecursionError):
        # The standard JSON decoder gives up on very deep nesting with a RecursionError rather than
        # a ValueError, so Flask and webargs let it through: that is bad input, not a bug.
        if _raised_by_json_decoder(error):
            message = _("The JSON body is nested too deeply.")
            return _respond(400, message, {"_schema": [message]})
        return handle_unexpected(error)

    @app.errorhandler(Exception)
    @_last_resort
    def handle_unexpected(error: Exception):
        # A 500 is a bug; log it with its traceback and show a generic message.
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        _abandon_transaction()
        return _respond(500, str(GENERIC_MESSAGES[500]))
