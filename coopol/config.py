"""Configuration: defaults < instance file (`coopol.toml` in the instance folder) < environment
< `test_config`.

Environment: `COOPOL_<KEY>` for any key below (read as the type of its default: text, integer,
true/false, list; unknown keys as TOML scalars when possible), `DATABASE_URL` for the database,
`COOPOL_INSTANCE` for the instance folder. A bad value stops the app with a `ConfigError` that says
which key is wrong and why.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CONFIG_FILE = "coopol.toml"
SECRET_FILE = "secret_key"
REGISTRATION_POLICIES = ("open", "invite", "closed")
COLOR_PATTERN = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
              ".webp": "image/webp", ".gif": "image/gif"}

REMOTE_IMAGES = ("link", "allow")
FEDIVERSE_FOLLOWERS = ("open", "approval", "off")
FEDIVERSE_REPLIES = ("moderated", "open", "off")
FEDERATION_INBOX = ("queued", "inline")

DEFAULTS: dict[str, Any] = {
    "NAME": "Coopol",
    "DESCRIPTION": "",  # one or two sentences on the landing page
    "COLOR": "",  # the party's colour, "#rgb" or "#rrggbb" ("" = Coopol's own); see coopol/core/theme.py
    "LOGO": "",  # an image file (svg, png, jpg, webp, gif), absolute or relative to the instance folder
    "URL": "http://127.0.0.1:5000",
    "LANGUAGE": "en",
    "LANGUAGES": ["en", "fr", "es", "de", "it"],
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
    "PUBLIC_CACHE_SECONDS": 2,  # visitors' lists and idea pages (coopol/core/cache.py); 0 turns it off
    "TOKEN_CACHE_SECONDS": 60,  # API tokens remembered per process (coopol/accounts/token_cache.py); 0: off
    "PUBLIC_CACHE_ENTRIES": 2000,
    "PUBLIC_CACHE_MAX_BYTES": 64 * 1024 * 1024,  # per process
    "PUBLIC_CACHE_MAX_ENTRY_BYTES": 1024 * 1024,
    "RATELIMIT_STORAGE_URI": None,  # unset: memory:// for one process, REDIS_URL when several serve
    "RATELIMIT_KEY_PREFIX": "",
    "REDIS_URL": "redis://127.0.0.1:6379",
    "LOGIN_BACKOFF_AFTER": 5,  # failed sign-ins for one account before it must wait
    "LOGIN_BACKOFF_SECONDS": 30,  # first wait; doubles with each further failure
    "LOGIN_BACKOFF_MAX_SECONDS": 3600,
    "FEDIVERSE_FOLLOWERS": "open",  # open | approval | off: who else than allies may follow our Groups
    "FEDIVERSE_REPLIES": "moderated",  # moderated | open | off: replies of followers who are not allies
    "REMOTE_IMAGES": "link",  # link | allow: Markdown images from other hosts than this and allies
    # queued | inline: received activities are applied by `coopol worker` (queued), or by the request
    # that brought them (inline: one process without a worker); see coopol/federation/inbox.py
    "FEDERATION_INBOX": "queued",
    # E-mail (coopol/mail): smtp://user:pass@host:587?starttls=1, smtps://… (implicit TLS); "" = none sent
    "SMTP_URL": "",
    "MAIL_FROM": "",  # the From address; "" = noreply@ the instance's host
    "REQUIRE_CONFIRMED_EMAIL_TO_VOTE": False,  # anti-astroturfing: local members confirm their address first
    "RATELIMIT_HEADERS_ENABLED": True,
    # Proxies in front that set X-Forwarded-For/-Proto/-Host (nginx as the TLS proxy: 1). 0 trusts none of
    # these headers: anyone could claim https or another address.
    "PROXY_FIX": 0,
    "API_TITLE": "Coopol API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": "/api",
    "OPENAPI_JSON_PATH": "openapi.json",
    "TESTING": False,
}
# Types of keys whose default (None) does not tell.
_TYPES: dict[str, type] = {
    "SECRET_KEY": str, "SQLALCHEMY_DATABASE_URI": str, "SESSION_COOKIE_SECURE": bool,
    "WTF_CSRF_TIME_LIMIT": int, "RATELIMIT_STORAGE_URI": str,
}
# COOPOL_* variables that are not configuration (the CLI's instance folder and password option).
_NOT_CONFIG = frozenset({"INSTANCE", "PASSWORD"})
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off"}
_KINDS = {str: "text", int: "a whole number", bool: "true or false", list: "a list", dict: "a table",
          float: "a number"}


class ConfigError(ValueError):
    """A configuration value that cannot work; the message names the key and the fix."""


def _expected_type(key: str) -> type | None:
    if key in _TYPES:
        return _TYPES[key]
    default = DEFAULTS.get(key)
    return type(default) if default is not None else None


def _parse_env_value(key: str, raw: str) -> Any:
    expected = _expected_type(key)
    if expected is str:
        return raw
    if expected is bool:
        if raw.strip().lower() in _TRUE:
            return True
        if raw.strip().lower() in _FALSE:
            return False
        raise ConfigError(f"COOPOL_{key} must be true or false, not '{raw}'.")
    if expected is int:
        try:
            return int(raw.strip())
        except ValueError:
            raise ConfigError(f"COOPOL_{key} must be {_KINDS[int]}, not '{raw}'.") from None
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        if expected is list:
            return [item.strip() for item in raw.split(",") if item.strip()]
        if expected is not None:
            raise ConfigError(f"COOPOL_{key} must be {_KINDS.get(expected, expected.__name__)}, not '{raw}'.") from None
        return raw
    if expected is not None and not isinstance(value, expected):
        raise ConfigError(f"COOPOL_{key} must be {_KINDS.get(expected, expected.__name__)}, not '{raw}'.")
    return value


def _read_config_file(config_file: Path) -> dict[str, Any]:
    try:
        with config_file.open("rb") as fh:
            return {key.upper(): value for key, value in tomllib.load(fh).items()}
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{config_file} is not valid TOML: {error}.") from None
    except OSError as error:
        raise ConfigError(f"{config_file} cannot be read: {error.strerror}.") from None


def load_config(instance_path: Path, test_config: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge the layers into one mapping of Flask config keys."""
    config: dict[str, Any] = dict(DEFAULTS)
    config_file = instance_path / CONFIG_FILE
    if config_file.exists():
        config.update(_read_config_file(config_file))
    for key, raw in os.environ.items():
        if key.startswith("COOPOL_") and not key.startswith("COOPOL_TEST_"):
            name = key.removeprefix("COOPOL_")
            if name and name not in _NOT_CONFIG:
                config[name] = _parse_env_value(name, raw)
    if os.environ.get("DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = os.environ["DATABASE_URL"]
    if test_config:
        config.update(test_config)

    _check(config)
    if not config.get("SQLALCHEMY_DATABASE_URI"):
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance_path / 'coopol.sqlite'}"
    config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(config["SQLALCHEMY_DATABASE_URI"])
    config["URL"] = check_base_url(config["URL"], key="URL")
    if config.get("SESSION_COOKIE_SECURE") is None:
        config["SESSION_COOKIE_SECURE"] = config["URL"].startswith("https://")
        config["REMEMBER_COOKIE_SECURE"] = config["SESSION_COOKIE_SECURE"]
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = read_or_create_secret(instance_path)
    config["BABEL_DEFAULT_LOCALE"] = config.get("LANGUAGE", "en")
    config["LOGO_PATH"] = check_logo(config["LOGO"], instance_path)

    config["RATELIMIT_STORAGE_URI"] = rate_limit_storage_uri(config)
    return config


def several_processes_serve() -> bool:
    """Whether this app runs in one of several web processes: under gunicorn (its workers load the
    app with gunicorn imported, and it sets ``SERVER_SOFTWARE``)."""
    return "gunicorn" in sys.modules or os.environ.get("SERVER_SOFTWARE", "").lower().startswith("gunicorn")


def rate_limit_storage_uri(config: dict[str, Any]) -> str:
    """The limiter's storage. Counters in one process's memory would let each gunicorn worker grant
    the whole limit again (2 workers let 35 sign-in attempts of 20 through), so when
    ``RATELIMIT_STORAGE_URI`` is unset, several processes (gunicorn) or a production instance (https,
    not testing) use Redis at ``REDIS_URL``; one process (``coopol run``, tests) uses memory."""
    if config.get("RATELIMIT_STORAGE_URI"):
        return config["RATELIMIT_STORAGE_URI"]
    production = str(config.get("URL", "")).startswith("https://") and not config.get("TESTING")
    if several_processes_serve() or production:
        return config["REDIS_URL"]
    return "memory://"


def _check(config: dict[str, Any]) -> None:
    for key, value in config.items():
        expected = _expected_type(key)
        if expected is None or value is None:
            continue
        if (expected is int and (isinstance(value, bool) or not isinstance(value, int))) or (
                expected is not int and not isinstance(value, expected)):
            kind = _KINDS.get(expected, expected.__name__)
            raise ConfigError(f"The setting {key.lower()} must be {kind}, not {value!r}.")
    if config["REGISTRATION"] not in REGISTRATION_POLICIES:
        # A typo must not silently open registration.
        raise ConfigError(f"The setting registration must be one of {', '.join(REGISTRATION_POLICIES)}, "
                          f"not '{config['REGISTRATION']}'.")
    if config["LANGUAGE"] not in config["LANGUAGES"]:
        raise ConfigError(f"The setting language ('{config['LANGUAGE']}') must be one of the languages "
                          f"({', '.join(config['LANGUAGES'])}).")
    if config["REMOTE_IMAGES"] not in REMOTE_IMAGES:
        raise ConfigError(f"The setting remote_images must be one of {', '.join(REMOTE_IMAGES)}, "
                          f"not '{config['REMOTE_IMAGES']}'.")
    if config["PROXY_FIX"] < 0:
        raise ConfigError("The setting proxy_fix must be 0 (no proxy) or the number of proxies in front.")
    for key, choices in (("FEDIVERSE_FOLLOWERS", FEDIVERSE_FOLLOWERS), ("FEDIVERSE_REPLIES", FEDIVERSE_REPLIES),
                         ("FEDERATION_INBOX", FEDERATION_INBOX)):
        if config[key] not in choices:
            raise ConfigError(f"The setting {key.lower()} must be one of {', '.join(choices)}, not '{config[key]}'.")
    if config["PASSWORD_MIN_LENGTH"] < 8:
        raise ConfigError("The setting password_min_length must be at least 8.")
    if config["COLOR"] and not COLOR_PATTERN.fullmatch(config["COLOR"].strip()):
        raise ConfigError(f"The setting color must be a colour like \"#0a7\" or \"#00aa77\", not "
                          f"'{config['COLOR']}'.")


def check_logo(logo: str, instance_path: Path) -> str | None:
    """The logo's absolute path (None when there is none); `ConfigError` when the file cannot be served."""
    if not logo or not logo.strip():
        return None
    path = Path(logo.strip()).expanduser()
    if not path.is_absolute():
        path = instance_path / path
    if path.suffix.lower() not in LOGO_TYPES:
        raise ConfigError(f"The setting logo must be an image file ({', '.join(sorted(LOGO_TYPES))}), "
                          f"not '{logo}'.")
    if not path.is_file():
        raise ConfigError(f"The setting logo names a file that does not exist: {path}.")
    return str(path.resolve())


def check_base_url(url: Any, *, key: str = "--url") -> str:
    """The instance's public base URL, without a trailing slash; `ConfigError` when it is not one."""
    text = str(url or "").strip()
    example = "https://ideas.party.example"
    try:
        parts = urlsplit(text)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
        parts = urlsplit("")
    if (parts.scheme not in ("http", "https") or not parts.hostname or not port_ok or parts.username
            or parts.password or parts.path not in ("", "/") or parts.query or parts.fragment):
        raise ConfigError(f"{key} must be a base URL like {example}, not '{text}'.")
    return text.rstrip("/")


def normalise_database_url(url: str) -> str:
    """`postgres://` and `postgresql://` (as hosting services hand them out) use psycopg 3, the
    driver Coopol installs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def read_or_create_secret(instance_path: Path) -> str:
    """The session-signing key lives in the instance folder, readable by the owner only."""
    secret_file = instance_path / SECRET_FILE
    if secret_file.exists():
        secret = secret_file.read_text().strip()
        if secret:
            return secret
        secret_file.unlink()  # an empty key signs nothing: replace it
    if not instance_path.exists():
        # No instance yet (e.g. `coopol --help`): an ephemeral key, nothing written.
        return secrets.token_hex(32)
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    secret = secrets.token_hex(32)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret


def write_instance_config(instance_path: Path, values: dict[str, Any]) -> Path:
    """Create `coopol.toml`, or add the keys it lacks; what the admin wrote (values, comments, order)
    is never changed."""
    config_file = instance_path / CONFIG_FILE
    if not config_file.exists():
        lines = ["# Coopol instance configuration. Environment variables COOPOL_<KEY> override these.\n"]
        lines += [f"{key.lower()} = {_toml_value(value)}\n" for key, value in values.items()]
        config_file.write_text("".join(lines))
        return config_file
    current = {key.lower() for key in _read_config_file(config_file)}
    missing = [f"{key.lower()} = {_toml_value(value)}\n" for key, value in values.items()
               if key.lower() not in current]
    if missing:
        lines = config_file.read_text().splitlines(keepends=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        # Top-level keys must come before the first [table], or TOML would file them under it.
        first_table = next((i for i, line in enumerate(lines) if line.lstrip().startswith("[")), len(lines))
        lines[first_table:first_table] = missing
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
    # A JSON string is a valid TOML basic string (same escapes), newlines and quotes included.
    return json.dumps(str(value), ensure_ascii=False).replace("\x7f", "\\u007f")
