"""Federation: keys, HTTP signatures, actors, WebFinger/NodeInfo, inbox, outbox, delivery, alliances.

Nothing else in Coopol imports this package (except `create_app` and the CLI): it listens to domain
events and calls domain services. Public entry points for later issues:
`outbox.enqueue_activity`, `outbox.build_activity`, `outbox.ally_inboxes`,
`activities.register_handler` (verify-then-receive inbox handlers), `fetch.fetch_document`/`fetch_actor`,
`alliances.is_allied`, `actors.group_id`/`member_actor_id`/`signer_for`.
"""

from __future__ import annotations

from flask import Flask

DEFAULTS = {
    "FEDERATION_SIGNATURE_WINDOW": 3600,  # seconds of clock skew accepted on signed requests
    "FEDERATION_TIMEOUT": 10.0,  # seconds, every outgoing request
    "FEDERATION_MAX_BODY": 1024 * 1024,  # bytes, inbox POSTs
    "FEDERATION_DELIVERY_LEASE": 120,  # seconds a claimed delivery stays with its worker (a dead one's runs out)
    "FEDERATION_WORKER_POLL": 0.1,  # seconds: how often an idle worker on SQLite checks for commits (see delivery.py)
    "FEDERATION_WORKER_IDLE_MAX": 2.0,  # seconds an idle worker waits at most before looking at the queue anyway
    "FEDERATION_INBOX_LEASE": 120,  # seconds a claimed inbox item stays with its worker (a dead one's runs out)
    "FEDERATION_BACKFILL_LEASE": 600,  # seconds a claimed backfill job stays with its worker
    # Bounds of each collection a backfill reads (the ally's ideas, an idea's replies, likes, dislikes):
    # documents fetched, items taken, bytes read; past one, the collection is cut short and the job says so.
    "FEDERATION_BACKFILL_MAX_PAGES": 200,
    "FEDERATION_BACKFILL_MAX_ITEMS": 10_000,
    "FEDERATION_BACKFILL_MAX_BYTES": 32 * 1024 * 1024,
    # Multiplies every retry delay of deliveries, received activities and backfills (n⁴ + 15 s + jitter after
    # the n-th failure). 1 in production; a test or a demo on one machine may shorten the waits (0.1).
    "FEDERATION_RETRY_SCALE": 1.0,
    "FEDERATION_BAN_SYNC_DELAY": 60,  # seconds after an alliance forms before our bans in force are sent
    "FEDERATION_SPACE_SYNC_DELAY": 60,  # ... and our groups and upcoming gatherings (same reason)
}


def check_federation_config(config) -> None:
    """Stop the app with a ConfigError naming the setting when a federation value cannot work."""
    from coopol.config import ConfigError
    from coopol.federation.backoff import check_retry_scale

    try:
        config["FEDERATION_RETRY_SCALE"] = check_retry_scale(config["FEDERATION_RETRY_SCALE"])
    except ValueError as error:
        raise ConfigError(str(error)) from None


def register(app: Flask) -> None:
    from coopol.core.events import subscribe
    from coopol.core.text import register_image_hosts
    from coopol.extensions import csrf, limiter
    from coopol.federation import admin, alliances, cli, followers, routes
    from coopol.federation.hooks import allied_image_hosts, forget_member_key
    from coopol.federation.parties import register_parties

    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    check_federation_config(app.config)
    alliances.register_handlers()
    followers.register_handlers()  # Follow and Undo(Follow): the alliance handshake, or a fediverse follower
    csrf.exempt(routes.bp)  # signed by the sending server, not a browser form
    limiter.exempt(routes.receive)  # inbox POSTs are signed by allies; a burst of deliveries is normal
    app.register_blueprint(routes.bp)
    app.register_blueprint(admin.bp)
    cli.register_commands(app)  # `coopol allies ...`, `coopol worker`

    admin.register_allies_panel(app)
    admin.register_followers_panel(app)
    subscribe(app, "member_erasing", forget_member_key)
    register_parties(app)
    register_image_hosts(app, allied_image_hosts)
    from coopol.federation import content  # issue 6: ideas, debate, votes and moderation travel

    content.register(app)
    from coopol.federation import groups  # issue 13: local groups are Group actors; allies join them

    groups.register(app)
    from coopol.federation import gatherings  # issue 13: gatherings travel, allies' members RSVP from home

    gatherings.register(app)
    from coopol.federation import follows  # members following allies' members (Follow / Undo)

    follows.register(app)
