"""Password hashing with Argon2id (memory-hard), parameters from config so tests can be quick."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

# Checked so that an obvious password is refused with a reason rather than accepted.
COMMON_PASSWORDS = frozenset({
    "password", "password1", "password123", "1234567890", "12345678910", "qwertyuiop", "azertyuiop",
    "iloveyou123", "letmein123", "motdepasse", "contraseña", "passwort123", "0123456789", "abcdefghij",
    "aaaaaaaaaa", "changeme123", "welcome123", "football123", "admin12345", "qwerty1234",
})


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg.get("ARGON2_TIME_COST", 3),
        memory_cost=cfg.get("ARGON2_MEMORY_COST", 65536),
        parallelism=cfg.get("ARGON2_PARALLELISM", 2),
    )


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Same work as a real check so timing does not reveal whether an account exists.
        _hasher().hash(password)
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_problems(password: str | None, *, handle: str = "", email: str = "") -> list[str]:
    """Reasons a password is refused; empty when it is acceptable."""
    if not password:
        return [_("A password is required.")]
    min_length = current_app.config.get("PASSWORD_MIN_LENGTH", 10)
    problems = []
    if len(password) < min_length:
        problems.append(_("Use at least %(count)d characters.", count=min_length))
    if len(password) > 1024:
        problems.append(_("Use at most %(count)d characters.", count=1024))
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4:
        problems.append(_("This password is too easy to guess."))
    if handle and handle.lower() in lowered:
        problems.append(_("The password must not contain your handle."))
    if email and email.split("@")[0].lower() in lowered and len(email.split("@")[0]) >= 3:
        problems.append(_("The password must not contain your e-mail address."))
    return problems
