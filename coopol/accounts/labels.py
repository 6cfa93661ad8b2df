"""Words for members' roles and account statuses."""

from flask_babel import lazy_gettext as _l

from coopol.core.labels import define_labels, label  # noqa: F401  (import label from here: the tables are then defined)

ROLES = define_labels("role", {"member": _l("member"), "moderator": _l("moderator"), "admin": _l("admin")})
STATUSES = define_labels("member_status", {
    "active": _l("active"), "suspended": _l("suspended"), "banned": _l("banned"),
})
FIELDS = define_labels("field", {
    "handle": _l("Handle"), "display_name": _l("Display name"), "email": _l("E-mail address"),
    "password": _l("Password"), "invite_code": _l("Invitation code"), "bio": _l("About me"),
    "locale": _l("Language"), "current_password": _l("Current password"), "new_password": _l("New password"),
    "name": _l("Name"), "login": _l("Handle or e-mail address"), "role": _l("Role"),
})
