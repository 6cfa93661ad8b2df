"""One error shape for every failure.

Services raise `DomainError` subclasses. On the API (and every JSON endpoint) they become
`{"code", "status", "message", "errors": {field: [messages]}}`; on pages, an HTML error page
(forms catch `ValidationFailed` themselves to show the errors next to the fields).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException


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


def _respond(status: int, message: str, errors: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None):
    if wants_json():
        response = jsonify(error_body(status, message, errors))
    else:
        response = render_template("error.html", status=status, message=message, errors=errors or {})
        response = (response, status)
        from flask import make_response
        response = make_response(*response)
    response.status_code = status
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def handle_domain_error(error: DomainError):
        return _respond(error.status_code, error.message, error.errors, error.headers)

    @app.errorhandler(HTTPException)
    def handle_http_exception(error: HTTPException):
        status = error.code or 500
        data = getattr(error, "data", None) or {}
        errors: dict[str, Any] = {}
        if "messages" in data:
            errors = _flatten_webargs(data["messages"])
        message = data.get("message") or error.description or HTTPStatus(status).phrase
        if status == 422 and errors:
            message = "Some fields are invalid: " + ", ".join(sorted(errors))
        elif status == 400 and errors:
            message = "; ".join(m for msgs in errors.values() for m in msgs) or message
        headers = {}
        if status == 405 and error.get_response().headers.get("Allow"):
            headers["Allow"] = error.get_response().headers["Allow"]
        if status == 429:
            message = "Too many requests: " + str(error.description) + ". Please slow down and try again later."
            resp = error.get_response()
            for key in ("Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
                        "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
                if key in resp.headers:
                    headers[key] = resp.headers[key]
        return _respond(status, message, errors, headers)

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        # A 500 is a bug; log it with its traceback and show a generic message.
        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        return _respond(500, "Something went wrong on our side; the error was logged.")
