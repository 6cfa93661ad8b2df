"""Federation of content: ideas, debate, votes and moderation travel between allies (FEP-1b12).

`objects` (wire shapes and tolerant parsers), `publish` (domain events → outbox), `receive` (inbox
handlers calling the domain services), `resolve` (ids → our rows, fetching what is missing),
`negotiation` (ActivityPub JSON on the idea and comment URLs), `backfill` (a new ally's ideas).
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from coopol.core.events import subscribe
    from coopol.extensions import limiter
    from coopol.federation.content import backfill, negotiation, publish, receive

    receive.register_handlers()
    publish.subscribe_all(app)
    subscribe(app, "alliance_formed", backfill.on_alliance_formed)
    negotiation.init_negotiation(app)
    limiter.exempt(backfill.bp)
    app.register_blueprint(backfill.bp)
    import coopol.federation.content.cli  # noqa: F401  (adds `coopol allies backfill`)
