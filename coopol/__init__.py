"""Coopol: an open idea-sharing platform for political parties, federated between allies."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

__version__ = "0.1.0"

# Registered in this order: each may listen to the ones before it; federation comes last.
FEATURE_PACKAGES = ("coopol.accounts", "coopol.mail", "coopol.admin", "coopol.groups", "coopol.ideas",
                    "coopol.events", "coopol.moderation", "coopol.bridging", "coopol.notifications",
                    "coopol.federation")


def instance_path_from_env() -> Path:
    return Path(os.environ.get("COOPOL_INSTANCE") or "instance").resolve()


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build an app for one instance folder (`COOPOL_INSTANCE`, or `INSTANCE_PATH` in test_config)."""
    from coopol.config import load_config
    from coopol.core.application import Coopol, share_with_workers

    instance_path = Path((test_config or {}).get("INSTANCE_PATH") or instance_path_from_env()).resolve()
    app = Coopol(__name__, instance_path=str(instance_path), instance_relative_config=True)
    app.config.from_mapping(load_config(instance_path, test_config))
    url = urlsplit(app.config["URL"])
    app.config["SERVER_HOST"] = url.netloc.lower()
    app.config["SERVER_NAME_KEY"] = app.config["SERVER_HOST"]

    if app.config["PROXY_FIX"]:  # only when configured: the X-Forwarded-* headers are the proxy's word
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_FIX"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    _init_extensions(app)
    _register_modules(app)
    share_with_workers(app)
    return app


def _init_extensions(app: Flask) -> None:
    from flask import has_request_context, request
    from flask_login import current_user

    from coopol.accounts.auth import init_auth
    from coopol.accounts.token_cache import init_token_cache
    from coopol.core.cache import init_public_cache
    from coopol.core.database import (
        configure_sqlite,
        engine_options,
        is_database_marked_unavailable,
        mark_database_unavailable,
    )
    from coopol.core.errors import register_error_handlers
    from coopol.core.events import init_events
    from coopol.core.schemas import Api
    from coopol.core.templating import init_templating
    from coopol.core.uow import init_unit_of_work
    from coopol.core.web import init_request_guards, init_security_headers
    from coopol.extensions import babel, csrf, db, limiter, migrate

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        configure_sqlite()
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"],
                                                             app.config["SQLALCHEMY_ENGINE_OPTIONS"])
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).parent / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)

    def select_locale() -> str:
        languages = app.config["UI_LANGUAGES"]  # those the interface is translated into
        if not has_request_context():  # CLI, workers: the instance's language
            return app.config["LANGUAGE"]
        locale = None if is_database_marked_unavailable() else _member_locale()
        if locale in languages:
            return locale
        chosen = request.cookies.get("lang")
        if chosen in languages:
            return chosen
        # The instance's language first: it wins ties ("*", or several languages of the same weight).
        preferred = sorted(languages, key=lambda code: code != app.config["LANGUAGE"])
        return request.accept_languages.best_match(preferred) or app.config["LANGUAGE"]

    def _member_locale() -> str | None:
        # Loading the member queries the database: when it fails (it went away), this request goes on
        # without it, so translating an error message cannot raise again inside the error handler.
        from sqlalchemy.exc import SQLAlchemyError

        try:
            return current_user.locale if current_user and current_user.is_authenticated else None
        except SQLAlchemyError:
            mark_database_unavailable()
            return None

    babel.init_app(app, locale_selector=select_locale)
    init_events(app)
    init_templating(app)
    init_auth(app)
    init_token_cache(app)
    init_unit_of_work(app)
    init_public_cache(app)
    init_security_headers(app)
    app.extensions["coopol.api"] = Api(app, spec_kwargs={"info": {
        "description": "The Coopol JSON API. Errors: {code, status, message, errors: {field: [messages]}}."}})
    init_request_guards(app)
    # After the Api: our handlers replace flask-smorest's so every error has one shape.
    register_error_handlers(app)


def _register_modules(app: Flask) -> None:
    import importlib

    # Each feature package exposes `register(app)`; federation comes last and listens to the others.
    for name in FEATURE_PACKAGES:
        module = importlib.import_module(name)
        module.register(app)
    from coopol.core.pages import bp as core_pages

    app.register_blueprint(core_pages)
