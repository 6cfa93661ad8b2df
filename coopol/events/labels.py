"""Words for the events module's stored values: states, modes, RSVP statuses and form fields."""

from flask_babel import lazy_gettext as _l

from coopol.core.labels import define_labels, label  # noqa: F401  (import label from here: the tables are then defined)

EVENT_STATES = define_labels("event_state", {
    "draft": _l("draft"), "scheduled": _l("scheduled"), "postponed": _l("postponed"),
    "cancelled": _l("cancelled"),
})
EVENT_MODES = define_labels("event_mode", {"in_person": _l("in person"), "online": _l("online"),
                                           "hybrid": _l("in person and online")})
RSVP_STATUSES = define_labels("rsvp_status", {"going": _l("going"), "waitlisted": _l("on the waitlist"),
                                              "pending": _l("waiting for approval")})
FIELDS = define_labels("field", {
    "description": _l("Description"), "starts_at": _l("Start"), "ends_at": _l("End"), "timezone": _l("Time zone"),
    "mode": _l("Mode"), "place": _l("Place"), "online_url": _l("Online address"), "capacity": _l("Capacity"),
    "group": _l("Group"), "requires_approval": _l("Approval"), "minutes": _l("Minutes"), "turnout": _l("Turnout"),
    "waitlist": _l("Waitlist"),
})
