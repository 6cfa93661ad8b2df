"""E-mail: an outbox sent over SMTP by `coopol worker`, password reset, address confirmation, one-click
unsubscribe (RFC 8058), mail for notifications and daily or weekly digests. Depends on core and accounts
only; other packages reach it through events (`member_registered`, `notification_created`, …) and the
registries of `digests.py` and `services.register_unsubscribe_handler`."""

from __future__ import annotations

from flask import Flask

SETTINGS = {
    "MAIL_BATCH": 20,  # messages per worker round (one SMTP connection)
    "MAIL_MAX_ATTEMPTS": 8,  # then recorded as failed (about three days of retries)
    "MAIL_LEASE_SECONDS": 600,  # a claimed message left unrecorded this long is taken again (worker died)
    "MAIL_RESET_TOKEN_SECONDS": 3600,
    "MAIL_CONFIRM_TOKEN_SECONDS": 7 * 86400,
    "MAIL_REPEAT_SECONDS": 60,  # at most one reset (or confirmation) mail per member in this time
    "MAIL_DIGEST_CHECK_SECONDS": 3600,
    "RATELIMIT_PASSWORD_RESET": "5/hour",
}


def register(app: Flask) -> None:
    import click
    from flask.cli import AppGroup

    from coopol.accounts.services import register_exporter
    from coopol.config import ConfigError
    from coopol.core.events import subscribe
    from coopol.core.worker import add_worker_task
    from coopol.mail import api, routes, services
    from coopol.mail.digests import send_due_digests
    from coopol.mail.outbox import send_due
    from coopol.mail.smtp import SmtpConfigError, parse_smtp_url

    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    try:
        parse_smtp_url(app.config["SMTP_URL"])
    except SmtpConfigError as error:
        raise ConfigError(str(error)) from None

    app.register_blueprint(routes.bp)
    app.extensions["coopol.api"].register_blueprint(api.blp)
    subscribe(app, "member_registered", services.on_member_registered)
    subscribe(app, "member_erasing", services.on_member_erasing)
    subscribe(app, "notification_created", services.on_notification_created)
    register_exporter("mail", services.export_mail)
    # Digests first: what they queue goes out in the same round.
    add_worker_task(app, send_due_digests)
    add_worker_task(app, send_due)

    @app.context_processor
    def mail_links() -> dict:
        from flask import url_for

        return {"password_reset_url": lambda: url_for("mail.password_reset"),
                "email_settings_url": lambda: url_for("mail.email_settings")}

    mail_group = AppGroup("mail", help="E-mail: send what is due.")

    @mail_group.command("send-due")
    @click.option("--rounds", default=100, show_default=True, help="At most this many rounds of a batch each.")
    def send_due_command(rounds: int) -> None:
        """Send the due digests and messages now (what fails stays queued for `coopol worker`)."""
        from coopol.extensions import db

        digests = sent = 0
        for _round in range(rounds):
            looked, tried = send_due_digests(), send_due()
            db.session.remove()
            digests, sent = digests + looked, sent + tried
            if not looked and not tried:
                break
        click.echo(f"{sent} message(s) tried, {digests} member(s) looked at for digests.")

    app.cli.add_command(mail_group)
