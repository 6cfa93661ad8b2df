"""Mentions: `@handle` (a member here) and `@handle@host` (here or on an ally) in ideas and comments.

Pages render them as links (coopol/core/text.py); this module finds the local members a text mentions
so they are told, whether the text was written here or arrived from an ally (federation also hands over
the members named by an incoming object's ActivityPub `Mention` tags).
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from coopol.accounts.models import Member
from coopol.core.text import MENTION_RE
from coopol.extensions import db


def mentioned_handles(text: str) -> list[tuple[str, str | None]]:
    """(handle, host or None) for each distinct mention, in order; our own host counts as none."""
    own = current_app.config["SERVER_HOST"].lower()
    found: dict[tuple[str, str | None], None] = {}
    for match in MENTION_RE.finditer(text or ""):
        handle, host = match.group(1).lower(), (match.group(2) or "").lower() or None
        found[(handle, None if host == own else host)] = None
    return list(found)


def mentioned_members(text: str, *, local_only: bool = True, limit: int = 20) -> list[Member]:
    """Members known here that the text mentions (at most `limit`: a text naming hundreds is spam)."""
    handles = [h if host is None else f"{h}@{host}" for h, host in mentioned_handles(text)][:limit]
    handles = [h for h in handles if not local_only or "@" not in h]
    if not handles:
        return []
    return list(db.session.scalars(select(Member).where(Member.handle.in_(handles), Member.erased_at.is_(None))))
