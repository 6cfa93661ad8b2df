"""Account operations. Each takes the acting member (when there is one) as an argument and never
reads the request or the session, so web, API, CLI and federation call the same functions."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from coopol.accounts.backoff import check_login_backoff, clear_login_failures, record_login_failure
from coopol.accounts.models import ApiToken, Invitation, Member, Role, Status
from coopol.accounts.passwords import hash_password, password_problems, verify_password
from coopol.core.errors import AuthenticationFailed, Conflict, NotFound, PermissionDenied, ValidationFailed
from coopol.core.events import publish
from coopol.core.time import utcnow
from coopol.extensions import db

HANDLE_RE = re.compile(r"^[a-z0-9_]{3,30}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
RESERVED_HANDLES = frozenset({
    "admin", "administrator", "root", "actor", "inbox", "outbox", "api", "ideas", "instance", "system",
    "moderator", "moderators", "support", "deleted", "coopol", "well_known", "nodeinfo", "static",
})
TOKEN_PREFIX = "cpl_"

# Other modules add what they store about a member (ideas, votes, reports...) to the export.
Exporter = Callable[[Member], Any]
EXPORTERS: dict[str, Exporter] = {}


def register_exporter(section: str, exporter: Exporter) -> None:
    EXPORTERS[section] = exporter


def register_profile_counts(app, provider: Callable[[Member], dict[str, int]]) -> None:
    """Other modules add figures to a member's public profile (followers, following)."""
    app.extensions.setdefault("coopol.profile_counts", []).append(provider)


def profile_counts(member: Member) -> dict[str, int]:
    counts: dict[str, int] = {}
    for provider in current_app.extensions.get("coopol.profile_counts", ()):
        counts.update(provider(member))
    return counts


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def register_member(
    handle: str,
    email: str,
    password: str,
    *,
    display_name: str = "",
    invite_code: str | None = None,
    role: str = Role.MEMBER.value,
    locale: str | None = None,
    bypass_policy: bool = False,
    password_hash: str | None = None,
) -> Member:
    """Create a local member. `bypass_policy` is for admins (CLI): it skips the open/invite rule.
    `password_hash` is the hash of `password` already computed (the demo hashes its one password once)."""
    handle = (handle or "").strip().lower()
    email = normalise_email(email or "")
    errors: dict[str, list[str]] = {}
    if not HANDLE_RE.match(handle):
        errors["handle"] = [_("Use 3 to 30 lowercase letters, digits or underscores.")]
    elif handle in RESERVED_HANDLES:
        errors["handle"] = [_("This handle is reserved.")]
    if not EMAIL_RE.match(email) or len(email) > 254:
        errors["email"] = [_("Enter a valid e-mail address.")]
    problems = password_problems(password, handle=handle, email=email)
    if problems:
        errors["password"] = problems
    if role not in {r.value for r in Role}:
        errors["role"] = [_("Unknown role '%(role)s'.", role=role)]
    if len(display_name or "") > 100:
        errors["display_name"] = [_("Use at most %(count)d characters.", count=100)]
    if locale is not None and locale not in current_app.config["UI_LANGUAGES"]:
        errors["locale"] = [_("Choose one of: %(choices)s", choices=", ".join(current_app.config["UI_LANGUAGES"]))]
    if errors:
        raise ValidationFailed.fields(errors)

    invitation = None
    if not bypass_policy:
        policy = current_app.config.get("REGISTRATION", "open")
        if policy == "closed":
            raise PermissionDenied(_("Registration is closed on this instance."))
        if policy == "invite":
            invitation = _usable_invitation(invite_code)

    if db.session.scalar(select(Member.id).where(Member.handle == handle)):
        message = _("This handle is already taken.")
        raise Conflict(message, {"handle": [message]})
    if db.session.scalar(select(Member.id).where(Member.email == email)):
        message = _("This e-mail address is already registered.")
        raise Conflict(message, {"email": [message]})

    member = Member(
        handle=handle,
        email=email,
        display_name=(display_name or "").strip(),
        password_hash=password_hash or hash_password(password),
        role=role,
        status=Status.ACTIVE.value,
        locale=locale,
        session_token=secrets.token_hex(16),
    )
    db.session.add(member)
    db.session.flush()
    if invitation is not None:
        invitation.used_by_id = member.id
        invitation.used_at = utcnow()
    publish("member_registered", member=member)
    return member


def _usable_invitation(code: str | None) -> Invitation:
    if not code:
        raise ValidationFailed.field("invite_code",
                                    _("This instance is invite-only: an invitation code is required."))
    invitation = db.session.scalar(select(Invitation).where(Invitation.code_hash == _sha256(code.strip())))
    if invitation is None or invitation.used_at is not None or (
        invitation.expires_at is not None and invitation.expires_at < utcnow()
    ):
        raise ValidationFailed.field("invite_code",
                                     _("This invitation code is not valid (unknown, used or expired)."))
    return invitation


def create_invitation(created_by: Member | None, *, valid_days: int = 14) -> str:
    code = secrets.token_urlsafe(12)
    db.session.add(Invitation(
        code_hash=_sha256(code),
        created_by_id=created_by.id if created_by else None,
        expires_at=utcnow() + timedelta(days=valid_days),
    ))
    db.session.flush()
    return code


def find_member_by_login(login: str) -> Member | None:
    login = (login or "").strip().lower()
    if not login:
        return None
    column = Member.email if "@" in login and "." in login.split("@")[-1] else Member.handle
    return db.session.scalar(select(Member).where(column == login, Member.host.is_(None)))


def authenticate(login: str, password: str) -> Member:
    """The member for these credentials; one message whatever was wrong, so nothing leaks.

    An account with too many failed sign-ins must wait first (`coopol.accounts.backoff`), even with
    the right password."""
    member = find_member_by_login(login)
    # Handle and e-mail of one account share one count; an unknown login is counted as typed.
    account = f"member:{member.id}" if member is not None else f"login:{(login or '').strip().lower()[:320]}"
    check_login_backoff(account)
    if member is None or member.is_erased or not verify_password(member.password_hash if member else None,
                                                                 password or ""):
        record_login_failure(account)
        raise AuthenticationFailed(_("Invalid login or password."))
    clear_login_failures(account)
    if member.is_restricted():
        raise PermissionDenied(_restriction_message(member))
    member.last_login_at = utcnow()
    return member


def _restriction_message(member: Member) -> str:
    if member.status == Status.BANNED:
        return _("This account is banned.")
    if member.suspended_until is None:
        return _("This account is suspended until further notice.")
    return _("This account is suspended until %(until)s.",
             until=member.suspended_until.strftime("%Y-%m-%d %H:%M UTC"))


def load_member_for_session(session_id: str) -> Member | None:
    """Flask-Login's user loader: `id:session_token`; a rotated token ends the session."""
    member_id, _, token = (session_id or "").partition(":")
    if not member_id.isdigit() or not token:
        return None
    member = db.session.get(Member, int(member_id))
    if member is None or not secrets.compare_digest(member.session_token, token) or not member.is_active:
        return None
    return member


def end_all_sessions(member: Member) -> None:
    member.session_token = secrets.token_hex(16)


def create_token(member: Member, name: str = "") -> tuple[ApiToken, str]:
    """A new personal token; the raw value is returned once and only its hash is kept."""
    if not member.is_active:
        # It would not work anyway (see `member_for_token`): say so rather than print a dead token.
        raise PermissionDenied(_("This account cannot have API tokens (remote, erased, suspended or banned)."))
    if len(name or "") > 100:
        raise ValidationFailed.field("name", _("Use at most %(count)d characters.", count=100))
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(member_id=member.id, name=(name or "").strip(), token_hash=_sha256(raw), prefix=raw[:10])
    db.session.add(token)
    db.session.flush()
    return token, raw


def list_tokens(member: Member) -> list[ApiToken]:
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.member_id == member.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.created_at.desc())))


def revoke_token(member: Member, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.member_id != member.id:
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token


def member_for_token(raw: str, *, read_only_unit: bool = False) -> Member | None:
    """The member a raw token authenticates, or None. Its use is recorded at most once a minute.

    Remembered per process for a short while (coopol/accounts/token_cache.py): a revocation or a change
    of the member, committed by any process, makes the next request look the token up again.

    `read_only_unit`: the caller's transaction only reads (a GET). The use is then recorded in a short
    transaction of its own, because on SQLite a read transaction that later writes fails when another
    writer committed in between ("database is locked"), and that bookkeeping must not fail the read."""
    from coopol.accounts.token_cache import Unreadable, token_cache

    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    token_hash = _sha256(raw)
    cache = token_cache()
    remembered = cache.get(token_hash) if cache is not None else None
    if remembered is not None:
        member = db.session.merge(remembered.member, load=False)
        if not member.is_active:  # a suspension's end or start is a matter of time, not of rows
            return None
        remembered.last_used_at = _record_use(remembered.token_id, remembered.last_used_at, None, read_only_unit)
        return member
    try:
        stamp = cache.stamp() if cache is not None else None  # before the query: see TokenCache.put
    except Unreadable:
        cache = stamp = None  # the shared store is down: this token is not remembered
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash)
                              .options(joinedload(ApiToken.member)))
    if token is None or token.revoked_at is not None or not token.member.is_active:
        return None
    _record_use(token.id, token.last_used_at, token, read_only_unit)
    if cache is not None:
        cache.put(token_hash, stamp, token, token.member)
    return token.member


def _record_use(token_id: int, last_used_at, token: ApiToken | None, read_only_unit: bool):
    """Sets the token's `last_used_at` when the last recorded use is over a minute old; returns it.
    `token`: the loaded row, or None when the token was remembered (token_cache)."""
    from coopol.core.database import write_after_reading, writing_aside
    from coopol.core.uow import has_written

    now = utcnow()
    if last_used_at is not None and now - last_used_at <= timedelta(minutes=1):
        return last_used_at
    if read_only_unit and not has_written():
        stamp = update(ApiToken.__table__).where(ApiToken.__table__.c.id == token_id).values(last_used_at=now)
        if not write_after_reading(lambda connection: connection.execute(stamp)):  # see reads_first
            with writing_aside(), db.engine.begin() as connection:
                connection.execute(stamp)
        if token is not None:
            set_committed_value(token, "last_used_at", now)
    elif token is not None:
        token.last_used_at = now
    else:  # committed with the request's unit (the table's statement: a use does not stamp, see token_cache)
        db.session.execute(update(ApiToken.__table__).where(ApiToken.__table__.c.id == token_id)
                           .values(last_used_at=now))
    return now


def update_profile(member: Member, *, display_name: str | None = None, bio: str | None = None,
                   locale: str | None = None) -> Member:
    errors: dict[str, list[str]] = {}
    if display_name is not None and len(display_name.strip()) > 100:
        errors["display_name"] = [_("Use at most %(count)d characters.", count=100)]
    if bio is not None and len(bio) > 2000:
        errors["bio"] = [_("Use at most %(count)d characters.", count=2000)]
    if locale is not None and locale not in current_app.config["UI_LANGUAGES"]:
        errors["locale"] = [_("Choose one of: %(choices)s", choices=", ".join(current_app.config["UI_LANGUAGES"]))]
    if errors:
        raise ValidationFailed.fields(errors)
    if display_name is not None:
        member.display_name = display_name.strip()
    if bio is not None:
        member.bio = bio
    if locale is not None:
        member.locale = locale
    publish("member_updated", member=member)
    return member


def change_password(member: Member, current_password: str, new_password: str) -> None:
    if not verify_password(member.password_hash, current_password or ""):
        raise AuthenticationFailed(_("The current password is wrong."),
                                   {"current_password": [_("Wrong password.")]})
    problems = password_problems(new_password, handle=member.handle, email=member.email or "")
    if problems:
        raise ValidationFailed(_("The new password is not acceptable."), {"new_password": problems})
    member.password_hash = hash_password(new_password)
    end_all_sessions(member)


def set_role(actor: Member | None, member: Member, role: str) -> Member:
    if actor is not None and not actor.is_admin:
        raise PermissionDenied(_("Only an administrator can change roles."))
    if role not in {r.value for r in Role}:
        raise ValidationFailed.field("role", _("Unknown role '%(role)s'.", role=role))
    member.role = role
    return member


def get_member_by_handle(handle: str) -> Member:
    member = db.session.scalar(select(Member).where(Member.handle == (handle or "").lower()))
    if member is None:
        raise NotFound(_("No member '%(handle)s'.", handle=handle))
    return member


def find_member_by_reference(reference: str) -> Member | None:
    """The member a person names: `alice` (or `@alice`, or `alice@` this instance's host) here,
    `alice@ally.example` for a member of another instance known here. Erased members are nobody."""
    handle = (reference or "").strip().lstrip("@").lower()
    own_host = "@" + current_app.config["SERVER_HOST"].lower()
    if handle.endswith(own_host):
        handle = handle[:-len(own_host)]
    member = db.session.scalar(select(Member).where(Member.handle == handle)) if handle else None
    return None if member is None or member.is_erased else member



def get_member_by_reference(reference: str) -> Member:
    """`find_member_by_reference`, or a 404 naming what was asked for."""
    member = find_member_by_reference(reference)
    if member is None:
        raise NotFound(_("No member '%(handle)s'.", handle=reference[:120]))
    return member

def author_view(member: Member) -> dict[str, Any]:
    """How a member is named next to what they did (an idea, a notice, a block): an erased member keeps a
    name ("erased member") and no handle."""
    return {
        "handle": None if member.is_erased else member.handle,
        "name": member.name,
        "instance": member.host or current_app.config["SERVER_HOST"],
    }


def member_view(member: Member) -> dict[str, Any]:
    """What anyone may see of a member (never the e-mail address)."""
    return {
        "handle": member.handle if not member.is_erased else None,
        "name": member.name,
        "bio": member.bio if not member.is_erased else "",
        "role": member.role,
        "instance": member.host or current_app.config["SERVER_HOST"],
        "created_at": member.created_at,
    }


def export_member_data(member: Member) -> dict[str, Any]:
    """Everything this instance stores about the member, as plain JSON-able data (GDPR art. 15/20)."""
    data: dict[str, Any] = {
        "exported_at": utcnow().isoformat(),
        "instance": current_app.config["URL"],
        "account": {
            "handle": member.handle,
            "display_name": member.display_name,
            "bio": member.bio,
            "email": member.email,
            "email_confirmed_at": _iso(member.email_confirmed_at),
            "role": member.role,
            "status": member.status,
            "suspended_until": _iso(member.suspended_until),
            "locale": member.locale,
            "created_at": _iso(member.created_at),
            "last_login_at": _iso(member.last_login_at),
        },
        "api_tokens": [
            {"name": t.name, "prefix": t.prefix, "created_at": _iso(t.created_at),
             "last_used_at": _iso(t.last_used_at), "revoked_at": _iso(t.revoked_at)}
            for t in db.session.scalars(select(ApiToken).where(ApiToken.member_id == member.id)
                                        .order_by(ApiToken.id))
        ],
        "invitations": {
            "used": [{"used_at": _iso(i.used_at)} for i in db.session.scalars(
                select(Invitation).where(Invitation.used_by_id == member.id))],
            "created": [{"created_at": _iso(i.created_at), "expires_at": _iso(i.expires_at),
                         "used": i.used_at is not None}
                        for i in db.session.scalars(select(Invitation).where(Invitation.created_by_id == member.id)
                                                    .order_by(Invitation.id))],
        },
    }
    for section, exporter in EXPORTERS.items():
        data[section] = exporter(member)
    return data


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def erase_member(member: Member) -> Member:
    """Erase personal data (GDPR art. 17). Content stays, shown as by a deleted member."""
    if member.is_erased:
        raise Conflict(_("This account is already erased."))
    publish("member_erasing", member=member)
    member.handle = f"deleted_{secrets.token_hex(6)}"
    member.display_name = ""
    member.bio = ""
    member.email = None
    member.password_hash = None
    member.locale = None
    member.last_login_at = None
    member.erased_at = utcnow()
    end_all_sessions(member)
    for token in list(member.tokens):
        db.session.delete(token)
    db.session.flush()
    publish("member_erased", member=member)
    return member
