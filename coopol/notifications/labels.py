"""Words for the notifications module's stored values: kinds of notice, channels, digests."""

from flask_babel import lazy_gettext as _l

from coopol.core.labels import define_labels, label  # noqa: F401

KINDS = define_labels("notify_kind", {
    "reply": _l("Replies to my comments"), "comment": _l("Comments on my ideas"),
    "answer": _l("Official answers on ideas I proposed, support or follow"),
    "threshold": _l("My idea reached the support threshold"), "mention": _l("Mentions of me"),
    "follower": _l("New followers"), "moderation": _l("Moderation decisions"),
    "event_new": _l("New gatherings in my groups and territory"), "event_changed": _l("Changes to my gatherings"),
    "event_cancelled": _l("Cancelled gatherings"), "event_promoted": _l("A place for me off the waiting list"),
    "event_reminder": _l("Reminders the day before a gathering"),
})
CHANNELS = define_labels("notify_channel", {"web": _l("on the site"), "email": _l("on the site and by e-mail"),
                                            "off": _l("off")})
DIGESTS = define_labels("email_digest", {"off": _l("no digest"), "daily": _l("daily"), "weekly": _l("weekly")})
FEED_KINDS = define_labels("feed_kind", {"idea": _l("proposed"), "comment": _l("commented on"),
                                         "answer": _l("answered"), "event": _l("announced")})
