"""Gatherings (events): hosting by a member or for a group, RSVP with capacity, waitlist and approval,
reports after the fact, listings and iCalendar feeds. Depends on core, accounts and groups; never imports
moderation, notifications or federation (they listen to the events below and call these services).

Services (all take the acting member first where there is one, flush and never commit):

- `services.create_event(actor, *, title, description="", starts_at, ends_at, timezone, mode="in_person",
  place=None, online_url=None, capacity=None, waitlist=True, requires_approval=False, group=None,
  scope=None, language=None, publish=True) -> Event`
- `services.update_event(actor, event, **changes) -> Event` (fields of `services.EDITABLE`; `state`:
  scheduled | postponed), `services.publish_event(actor, event)`, `services.cancel_event(actor, event, reason)`
- `services.file_report(actor, event, *, minutes, turnout=None) -> Event` (after it ended)
- `services.remove_event(event)` (moderation), `services.find_event(id)`, `services.get_event(id, viewer)`,
  `services.list_events(viewer, *, from_, to, scope, group, origin, past, cursor, limit) -> EventPage`,
  `services.listing(...)` (the shared SELECT), `services.can_see_online_url(event, viewer)`,
  `services.online_url_of(event, viewer)` (the link itself, or None; on a copy, the one sent to them),
  `services.organisers_of(event)`, `services.changes_of(event)`, `guards.is_organiser(event, member)`
- `rsvps.rsvp(event, member, *, public=None, ap_id=None) -> "going" | "waitlisted" | "pending"` (409:
  draft, cancelled, over, or full without waitlist; 403: the person may not take part), for ANY Member row,
  remote members included (the origin decides for its gatherings); `rsvps.leave(event, member) -> previous
  status | None`; `rsvps.approve_rsvp(actor, event, member)`, `rsvps.reject_rsvp(actor, event, member)`,
  `rsvps.list_attendees(event, viewer, ...)`, `rsvps.status_of(event, member)`, `rsvps.promote_waitlist(event)`
- copies of allies' gatherings (federation): `copies.save_copy(...)`, `copies.set_origin_counts(event,
  going=, waitlist=)`, `copies.apply_origin_rsvp(event, member, status, *, online_url=KEEP)` (the link the
  origin sent that member, kept on their RSVP while going), `copies.delete_copy(event)`,
  `copies.restore_copy(event)`
- presenters: `presenters.event_views(events, viewer)`, `presenters.one_event_view(event, viewer)`

Domain events published (coopol/core/events.py; handlers run inside the publisher's transaction):

- `event_published(event)`: a gathering became visible (created published, or a draft published)
- `event_updated(event, changes)`: `changes = {field: [before, after]}` (JSON-able; datetimes ISO 8601 UTC;
  `place` a dict); also recorded as an `EventChange` row for the people going. Also for a copy
  (`event.is_local` False) when its origin changed it: federation must not re-send those.
- `event_cancelled(event, reason)`: cancelled by its organisers (also recorded as an EventChange)
- `event_removed(event)`: removed by moderators
- `event_restored(event)`: a removal reversed (restore, or an appeal upheld)
- `event_reported(event)`: its report (minutes, turnout) filed or corrected
- `rsvp_changed(event, member, status, previous)`: status and previous in `going | waitlisted | pending | None`;
  published for every change of a person's status, waitlist promotions and approvals included.
"""

from __future__ import annotations

from flask import Flask

SETTINGS = {"GROUP_UPCOMING_EVENTS": 5}


def register(app: Flask) -> None:
    from flask_babel import lazy_gettext as _l

    from coopol.core.events import subscribe
    from coopol.core.landing import register_counter
    from coopol.core.scopes import init_scopes
    from coopol.core.stats import register_participation
    from coopol.events import api, calendars, labels, routes  # noqa: F401  (labels: the tables are then defined)
    from coopol.events.groups_space import register_with_groups
    from coopol.events.privacy import init_privacy
    from coopol.events.services import count_upcoming_events, on_content_removed, on_content_restored
    from coopol.events.stats import gathering_stats

    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    init_scopes(app)
    app.extensions["coopol.api"].register_blueprint(api.blp)
    app.register_blueprint(calendars.bp)
    routes.init_pages(app)
    register_with_groups(app)
    init_privacy(app)
    register_counter(app, "events", _l("upcoming gatherings"), count_upcoming_events, order=50)
    register_participation(app, "gatherings", gathering_stats)
    subscribe(app, "content_removed", on_content_removed)  # moderation's removal, by name only
    subscribe(app, "content_restored", on_content_restored)
