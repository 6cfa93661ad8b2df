"""Members, roles, sessions, API tokens, invitations, data export and erasure."""

from flask import Flask


def register(app: Flask) -> None:
    from coopol.accounts import api, routes

    app.register_blueprint(routes.bp)
    app.extensions["coopol.api"].register_blueprint(api.blp)
