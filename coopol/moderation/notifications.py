"""Moderation outcomes told to the members they concern, as `moderation_notice` events.

Moderation does not store notices: the notifications package (which listens to every domain) keeps them
with every other kind, writes each in its reader's language, and hands e-mail to the mail package.
"""

from __future__ import annotations

from collections.abc import Callable

from coopol.accounts.models import Member
from coopol.core.events import publish


def notify(member: Member | None, kind: str, message: str | Callable[[], str], *, link: str | None = None,
           action_id: int | None = None) -> None:
    """Tell a member the outcome `kind`. A callable message is called in the reader's language."""
    if member is None:
        return
    publish("moderation_notice", member=member, kind=kind, message=message, link=link, action_id=action_id)
