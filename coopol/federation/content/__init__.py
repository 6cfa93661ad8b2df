"""Federation of content: ideas, debate, votes and moderation travel between allies (FEP-1b12).

`objects` (wire shapes and tolerant parsers), `publish` (domain events → outbox), `receive` (inbox
handlers calling the domain services), `resolve` (ids → our rows, fetching what is missing),
`negotiation` (ActivityPub JSON on the idea and comment URLs), `backfill` (a new ally's ideas,
comments and votes: a job the worker runs),
`bans` (bans travel: Block / Undo(Block)), `rejections` (what the origin refuses is taken back: Reject),
`vote_proofs` (members' votes signed, kept and served with their FEP-8b32 proofs), `vote_queue` (the worker
signs and sends them), `audit` (`coopol audit`).
"""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from coopol.core.events import subscribe
    from coopol.extensions import limiter
    from coopol.federation.content import backfill, bans, negotiation, publish, receive, rejections
    from coopol.federation.delivery import add_worker_task

    receive.register_handlers()
    bans.register_handlers()
    rejections.register_handlers()
    publish.subscribe_all(app)
    from coopol.federation.content.fediverse import fediverse_votes
    from coopol.ideas.presenters import register_outside_votes

    register_outside_votes(app, fediverse_votes)
    bans.register(app)
    subscribe(app, "alliance_formed", backfill.on_alliance_formed)
    add_worker_task(app, backfill.run_backfill_step)
    from coopol.federation.content.vote_queue import build_queued_votes

    add_worker_task(app, build_queued_votes)  # our members' votes: signed and sent by the worker
    negotiation.init_negotiation(app)
    limiter.exempt(backfill.bp)
    app.register_blueprint(backfill.bp)
    from coopol.federation.content.cli import audit  # also adds `coopol allies backfill`

    app.cli.add_command(audit)  # `coopol audit IDEA_URL`
