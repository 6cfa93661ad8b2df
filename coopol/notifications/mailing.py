"""What the mail package asks of us: each member's digest choice, the digest's items (what they follow
did since the last one), and turning e-mail off when they unsubscribe with one click.

The mail package is a lower layer that does not know follows; it offers registration hooks, and this
module fills them when that package is installed (it is built on its own branch)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Flask
from flask_babel import gettext as _

from coopol.accounts.models import Member
from coopol.extensions import db
from coopol.notifications.feed import feed_page
from coopol.notifications.models import Preferences
from coopol.notifications.preferences import KINDS, digest_choice, get_preferences

DIGEST_ITEMS = 50


def digest_items(member: Member, since: datetime) -> list[dict[str, Any]]:
    items, _cursor = feed_page(member, limit=DIGEST_ITEMS, since=since)
    words = {"idea": _("New idea"), "comment": _("New comment"), "answer": _("Official answer"),
             "event": _("New gathering")}
    return [{"title": item["object"]["title"], "url": item["object"]["url"], "kind": words.get(item["kind"], "")}
            for item in items]


def turn_email_off(member: Member) -> None:
    """One-click unsubscribe: no digest, and every kind sent by e-mail comes on the site only."""
    chosen = get_preferences(member)["notify"]
    row = db.session.get(Preferences, member.id)
    if row is None:
        row = Preferences(member_id=member.id, email_digest="off", notify="{}", hide_follows=False)
        db.session.add(row)
    row.email_digest = "off"
    row.notify = json.dumps({kind: "web" if chosen[kind] == "email" else chosen[kind] for kind in KINDS},
                            sort_keys=True)
    db.session.flush()


def init_mail_hooks(app: Flask) -> None:
    import sys

    if "coopol.mail" not in sys.modules:  # not among this build's FEATURE_PACKAGES (registered before us)
        return
    try:
        from coopol.mail.digests import register_digest_choice, register_digest_source
        from coopol.mail.services import register_unsubscribe_handler
    except ImportError:  # no mail package in this build
        return
    register_digest_choice(app, digest_choice)
    register_digest_source(app, digest_items)
    register_unsubscribe_handler(app, turn_email_off)
