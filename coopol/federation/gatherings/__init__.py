"""Federation of gatherings (issue 13): an FEP-8a8e `Event` (objects.py), announced to allies by the
party Group, copied there (receive.py), RSVPs from allies' members as `Join` → `Accept` |
`TentativeAccept` | `Reject`, `Leave`, `Undo(Join)`, the origin's counts in every `Update` (publish.py);
`/events/<id>` answers the `Event` to ActivityPub clients (routes.py)."""

from __future__ import annotations

from flask import Flask


def register(app: Flask) -> None:
    from coopol.core.events import subscribe
    from coopol.federation.activities import register_handler
    from coopol.federation.content.publish import register_event_object
    from coopol.federation.content.receive import DISPATCH_HOOKS, _guarded, receive_direct
    from coopol.federation.gatherings import objects, publish, receive, routes, sync
    from coopol.federation.groups.receive import JOIN_TARGETS

    if receive.dispatch not in DISPATCH_HOOKS:
        DISPATCH_HOOKS.insert(0, receive.dispatch)
    if receive.join_target not in JOIN_TARGETS:
        JOIN_TARGETS.append(receive.join_target)
    register_handler("TentativeAccept", _guarded(receive_direct), inner_type="Join")
    publish.subscribe_all(app)
    register_event_object(app, objects.event_document)  # fediverse followers get the Event boosted
    subscribe(app, "alliance_formed", sync.on_alliance_formed)
    app.before_request(routes.serve_event)
