"""The reference: the least a Flask app can do per request, served under the same gunicorn settings
as Coopol. Every Coopol figure is divided by this one, measured in the same run."""

from __future__ import annotations

from flask import Flask, jsonify


def create_app() -> Flask:
    app = Flask(__name__)

    @app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT"])
    @app.route("/<path:path>", methods=["GET", "POST", "PUT"])
    def hello(path: str):
        return jsonify({"status": "ok", "service": "bare-flask", "items": [1, 2, 3]})

    return app
