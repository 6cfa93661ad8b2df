"""Signed tokens carried by links in e-mails (itsdangerous, keyed by the instance's secret key).

A password-reset token names the member and a fingerprint of their current password hash: once the password
changes (the reset itself) every earlier token stops working, so a token is single-use without a table of
used tokens. A confirmation token is bound the same way to the address it confirms. An unsubscribe token
never expires (RFC 8058: the link in an old message must still work) and can only switch mail off.
"""

from __future__ import annotations

import hashlib
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer, URLSafeTimedSerializer

from coopol.accounts.models import Member
from coopol.extensions import db

RESET, CONFIRM, UNSUBSCRIBE = "coopol.mail.password-reset", "coopol.mail.confirm-email", "coopol.mail.unsubscribe"


def _fingerprint(value: str | None) -> str:
    return hashlib.sha256((value or "").encode()).hexdigest()[:20]


def _timed(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def reset_token(member: Member) -> str:
    return _timed(RESET).dumps({"m": member.id, "p": _fingerprint(member.password_hash)})


def confirm_token(member: Member) -> str:
    return _timed(CONFIRM).dumps({"m": member.id, "e": _fingerprint(member.email)})


def unsubscribe_token(member: Member) -> str:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE).dumps({"m": member.id})


def _member(data: Any) -> Member | None:
    if not isinstance(data, dict) or not isinstance(data.get("m"), int):
        return None
    member = db.session.get(Member, data["m"])
    return member if member is not None and member.is_local and not member.is_erased else None


def member_for_reset(token: str) -> Member | None:
    """The member a reset token is for; None when forged, expired, or already used (the password changed)."""
    try:
        data = _timed(RESET).loads(token or "", max_age=current_app.config["MAIL_RESET_TOKEN_SECONDS"])
    except BadSignature:  # SignatureExpired is one
        return None
    member = _member(data)
    return member if member is not None and data.get("p") == _fingerprint(member.password_hash) else None


def member_for_confirmation(token: str) -> Member | None:
    try:
        data = _timed(CONFIRM).loads(token or "", max_age=current_app.config["MAIL_CONFIRM_TOKEN_SECONDS"])
    except BadSignature:
        return None
    member = _member(data)
    return member if member is not None and data.get("e") == _fingerprint(member.email) else None


def member_for_unsubscribe(token: str) -> Member | None:
    try:
        data = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE).loads(token or "")
    except BadSignature:
        return None
    return _member(data)
