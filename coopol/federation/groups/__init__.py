"""Federation of local groups (issue 13): each group is a `Group` actor of its own (actors.py, served by
routes.py); allies keep copies of each other's groups (publish.py → receive.py) and their members join
an allied party's group from home (`Join` → `Accept` | `Reject`, `Leave`, `Undo(Join)`)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from coopol.extensions import csrf, limiter
    from coopol.federation.activities import register_handler
    from coopol.federation.actors import EXTRA_SIGNERS
    from coopol.federation.content.receive import DISPATCH_HOOKS, _guarded, receive_direct
    from coopol.federation.discovery import WEBFINGER_RESOLVERS
    from coopol.federation.followers import register_group_actor
    from coopol.federation.groups import actors, publish, receive, routes

    if actors.group_signer not in EXTRA_SIGNERS:
        EXTRA_SIGNERS.append(actors.group_signer)
    if actors.resolve_webfinger not in WEBFINGER_RESOLVERS:
        WEBFINGER_RESOLVERS.append(actors.resolve_webfinger)
    if receive.dispatch not in DISPATCH_HOOKS:
        DISPATCH_HOOKS.insert(0, receive.dispatch)
    for kind in ("Join", "Leave"):
        register_handler(kind, _guarded(receive_direct))
    for kind in ("Accept", "Reject"):
        register_handler(kind, _guarded(receive_direct), inner_type="Join")
    publish.subscribe_all(app)
    register_group_actor(app, lambda url: actors.local_group_for_actor(url) is not None)  # followable
    csrf.exempt(routes.bp)
    limiter.exempt(routes.inbox)
    app.register_blueprint(routes.bp)
    app.before_request(routes.serve_group_actor)
