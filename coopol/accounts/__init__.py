"""Members, roles, sessions, API tokens, invitations, data export and erasure."""

from flask import Flask
from flask_babel import lazy_gettext as _l


def register(app: Flask) -> None:
    from coopol.accounts import api, routes
    from coopol.core.landing import register_counter

    app.register_blueprint(routes.bp)
    app.extensions["coopol.api"].register_blueprint(api.blp)
    register_counter(app, "members", _l("members"), count_members, order=10)


def count_members() -> int:
    """Our own members with an account (the landing's counter): not erased, not banned."""
    from sqlalchemy import func, select

    from coopol.accounts.models import Member, Status
    from coopol.extensions import db

    return db.session.scalar(select(func.count()).select_from(Member).where(
        Member.host.is_(None), Member.erased_at.is_(None), Member.status != Status.BANNED)) or 0
