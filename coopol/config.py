"""Configuration: defaults < instance file (`coopol.toml` in the instance folder) < environment.

Environment: `COOPOL_<KEY>` for any key below (values parsed as TOML scalars when possible),
`DATABASE_URL` for the database, `COOPOL_INSTANCE` for the instance folder.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from pathlib import Path
from typing import Any

CONFIG_FILE = "coopol.toml"
SECRET_FILE = "secret_key"

DEFAULTS: dict[str, Any] = {
    "NAME": "Coopol",
    "DESCRIPTION": "",
    "URL": "http://127.0.0.1:5000",
    "LANGUAGE": "en",
    "LANGUAGES": ["en", "fr", "es", "de"],
    "REGISTRATION": "open",  # open | invite | closed
    "PASSWORD_MIN_LENGTH": 10,
    "SQLALCHEMY_DATABASE_URI": None,
    "SQLALCHEMY_ENGINE_OPTIONS": {},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": None,  # derived from URL's scheme when None
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,
    "BABEL_DEFAULT_LOCALE": "en",
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_HEADERS_ENABLED": True,
    "API_TITLE": "Coopol API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "TESTING": False,
}


def _parse_env_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw


def load_config(instance_path: Path, test_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge the layers into one mapping of Flask config keys."""
    config: dict[str, Any] = dict(DEFAULTS)
    config_file = instance_path / CONFIG_FILE
    if config_file.exists():
        with config_file.open("rb") as fh:
            config.update({key.upper(): value for key, value in tomllib.load(fh).items()})
    for key, raw in os.environ.items():
        if key.startswith("COOPOL_") and key not in ("COOPOL_INSTANCE",) and not key.startswith("COOPOL_TEST_"):
            config[key.removeprefix("COOPOL_")] = _parse_env_value(raw)
    if os.environ.get("DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if test_config:
        config.update(test_config)

    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance_path / 'coopol.sqlite'}"
    config["URL"] = str(config["URL"]).rstrip("/")
    if config.get("SESSION_COOKIE_SECURE") is None:
        config["SESSION_COOKIE_SECURE"] = config["URL"].startswith("https://")
        config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = read_or_create_secret(instance_path)
    config["BABEL_DEFAULT_LOCALE"] = config.get("LANGUAGE", "en")
    return config


def read_or_create_secret(instance_path: Path) -> str:
    """The session-signing key lives in the instance folder, readable by the owner only."""
    secret_file = instance_path / SECRET_FILE
    if secret_file.exists():
        return secret_file.read_text().strip()
    if not instance_path.exists():
        # No instance yet (e.g. `coopol --help`): an ephemeral key, nothing written.
        return secrets.token_hex(32)
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    secret = secrets.token_hex(32)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret


def write_instance_config(instance_path: Path, values: dict[str, Any]) -> Path:
    """Write (or update) `coopol.toml`, keeping keys the admin already set."""
    config_file = instance_path / CONFIG_FILE
    current: dict[str, Any] = {}
    if config_file.exists():
        with config_file.open("rb") as fh:
            current = tomllib.load(fh)
    for key, value in values.items():
        current.setdefault(key.lower(), value)
    lines = ["# Coopol instance configuration. Environment variables COOPOL_<KEY> override these.\n"]
    for key, value in current.items():
        lines.append(f"{key} = {_toml_value(value)}\n")
    config_file.write_text("".join(lines))
    return config_file


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    escaped = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'
