"""A member's choices: where each kind of notice goes (web, email, off), the e-mail digest, and whether
their follow lists are private. Members who never chose have no row: the defaults apply."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from coopol.accounts.models import Member
from coopol.core.errors import ValidationFailed
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.notifications.models import Preferences

CHANNELS = ("web", "email", "off")
DIGESTS = ("off", "daily", "weekly")
# The kinds a member chooses for (a stored notice's own kind may be finer: `moderation_remove` is "moderation").
KINDS = ("reply", "comment", "answer", "threshold", "mention", "follower", "moderation",
         "event_new", "event_changed", "event_cancelled", "event_promoted", "event_reminder")


def preference_kind(kind: str) -> str:
    """The kind a member chooses for: every moderation outcome is one choice."""
    if kind in KINDS:
        return kind
    return "moderation"


def _row(member: Member) -> Preferences | None:
    return db.session.get(Preferences, member.id)


def _default_channel(kind: str) -> str:
    if kind == "moderation" and current_app.config.get("NOTIFY_BY_EMAIL"):
        return "email"
    return "web"


def get_preferences(member: Member) -> dict[str, Any]:
    row = _row(member)
    chosen = json.loads(row.notify) if row else {}
    return {"email_digest": row.email_digest if row else "off",
            "notify": {kind: chosen.get(kind, _default_channel(kind)) for kind in KINDS},
            "hide_follows": bool(row and row.hide_follows)}


def channel_for(member: Member, kind: str) -> str:
    """Where a notice of `kind` goes for this member: web, email or off."""
    kind = preference_kind(kind)
    row = _row(member)
    chosen = json.loads(row.notify) if row else {}
    return chosen.get(kind, _default_channel(kind))


def digest_choice(member: Member) -> str:
    """off, daily or weekly: what the mail package reads to send digests."""
    row = _row(member)
    return row.email_digest if row else "off"


def follows_hidden(member: Member) -> bool:
    row = _row(member)
    return bool(row and row.hide_follows)


def update_preferences(member: Member, *, email_digest: str | None = None, notify: dict[str, str] | None = None,
                       hide_follows: bool | None = None) -> dict[str, Any]:
    """Change some choices; every invalid one is named and nothing changes."""
    errors: dict[str, list[str]] = {}
    if email_digest is not None and email_digest not in DIGESTS:
        errors["email_digest"] = [_("Choose one of: %(choices)s.", choices=", ".join(DIGESTS))]
    for kind, channel in (notify or {}).items():
        if kind not in KINDS:
            errors[f"notify.{kind}"] = [_("Unknown kind. Choose among: %(choices)s.", choices=", ".join(KINDS))]
        elif channel not in CHANNELS:
            errors[f"notify.{kind}"] = [_("Choose one of: %(choices)s.", choices=", ".join(CHANNELS))]
    if errors:
        raise ValidationFailed.fields(errors)
    row = _row(member)
    if row is None:
        row = Preferences(member_id=member.id, email_digest="off", notify="{}", hide_follows=False)
        db.session.add(row)
    if email_digest is not None:
        row.email_digest = email_digest
    if notify:
        row.notify = json.dumps({**json.loads(row.notify or "{}"), **notify}, sort_keys=True)
    if hide_follows is not None:
        row.hide_follows = hide_follows
    row.updated_at = utcnow()
    db.session.flush()
    return get_preferences(member)
