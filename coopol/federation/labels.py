"""Words for alliance statuses and backfill jobs' states (the allies page)."""

from flask_babel import lazy_gettext as _l

from coopol.core.labels import define_labels, label  # noqa: F401  (import label from here: the tables are then defined)

ALLY_STATUSES = define_labels("ally_status", {
    "allied": _l("allied"), "requested": _l("requested"), "pending": _l("waiting for our answer"),
    "rejected": _l("rejected"), "revoked": _l("revoked"), "none": _l("no alliance"),
})
BACKFILL_STATES = define_labels("backfill_state", {
    "queued": _l("queued"), "running": _l("running"), "done": _l("done"), "failed": _l("failed"),
})
