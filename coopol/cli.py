"""The `coopol` command. `--instance DIR` (or COOPOL_INSTANCE) names the instance folder."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import ScriptInfo, with_appcontext

from coopol import create_app
from coopol.config import DEFAULTS


class CoopolGroup(click.Group):
    """Gives every command a ScriptInfo that builds the app lazily, like `flask` does, and turns
    configuration and database failures into the one-line error an admin can act on.

    Feature packages add their commands to `app.cli` from their `register(app)`, as they add blueprints
    (e.g. `coopol.federation`: `allies`, `worker`); a name this group does not know is looked up there, so the
    CLI imports no feature package and none imports the CLI to register."""

    def make_context(self, info_name, args, parent=None, **extra):
        extra.setdefault("obj", ScriptInfo(create_app=create_app, set_debug_flag=False, load_dotenv_defaults=False))
        return super().make_context(info_name, args, parent=parent, **extra)

    def get_command(self, ctx: click.Context, name: str):
        command = super().get_command(ctx, name)
        if command is None:  # the app's (raises a ConfigError on a bad config: `invoke` says so in one line)
            command = ctx.ensure_object(ScriptInfo).load_app().cli.get_command(ctx, name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        try:
            names |= set(ctx.ensure_object(ScriptInfo).load_app().cli.list_commands(ctx))
        except Exception:  # noqa: BLE001 - help still lists the built-in commands when the app cannot load
            pass
        return sorted(names)

    def invoke(self, ctx: click.Context):
        from sqlalchemy.exc import DBAPIError, NoSuchModuleError

        from coopol.config import ConfigError

        try:
            return super().invoke(ctx)
        except ConfigError as error:
            raise click.ClickException(f"Configuration: {error}") from None
        except (DBAPIError, NoSuchModuleError) as error:
            raise click.ClickException(f"Database: {_first_line(error)}") from None


def _first_line(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    text = str(cause).strip().splitlines()
    return text[0] if text else type(cause).__name__


def _set_instance(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value:
        os.environ["COOPOL_INSTANCE"] = str(Path(value).resolve())
    return value


@click.group(cls=CoopolGroup)
@click.option("--instance", metavar="DIR", callback=_set_instance, expose_value=False, is_eager=True,
              help="Instance folder (config, SQLite database, keys). Default: $COOPOL_INSTANCE or ./instance")
@click.version_option(package_name="coopol")
def cli() -> None:
    """Coopol: an open idea-sharing platform for political parties, federated between allies."""


def fail(message: str) -> None:
    click.echo(f"Error: {message}", err=True)
    raise SystemExit(1)


def _unit(fn, *args, **kwargs):
    """Run a service as one unit of work; domain errors become a one-line message and exit 1."""
    from coopol.core.errors import DomainError
    from coopol.core.uow import unit_of_work

    _check_database_ready()
    try:
        with unit_of_work():
            return fn(*args, **kwargs)
    except DomainError as error:
        fail(describe_error(error))


def describe_error(error) -> str:
    """One line: the message, then what each field needs unless the message already says it."""
    from flask_babel import gettext

    from coopol.core.labels import field_names

    message = str(error.message)
    if error.errors and message == gettext("Some fields are invalid: %(fields)s",
                                           fields=field_names(error.errors)):
        message = ""  # the details below name every field
    details = [f"{field}: {' '.join(map(str, msgs))}" for field, msgs in error.errors.items()
               if [str(m) for m in msgs] != [str(error.message)]]
    named = [field for field, msgs in error.errors.items() if [str(m) for m in msgs] == [str(error.message)]]
    if named:
        message += f" ({', '.join(named)})"
    return " ".join(part for part in (message, "; ".join(details)) if part)


def upgrade_database() -> None:
    from flask_migrate import upgrade

    upgrade(revision="heads")  # in the current app context (coopol.provision.upgrade_database makes one)


def _check_sqlite_folder() -> None:
    from sqlalchemy.engine import make_url

    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        folder = Path(url.database).parent
        if not folder.is_dir():
            fail(f"No instance folder at {folder}: create the instance with `coopol --instance DIR init ...`.")


@cli.command()
@click.option("--name", required=True, help="The party's or instance's name, shown on every page.")
@click.option("--url", required=True, help="The public base URL, e.g. https://ideas.party.example")
@click.option("--language", default="en", show_default=True, type=click.Choice(DEFAULTS["LANGUAGES"]),
              help="Default language.")
@click.option("--description", default="", help="One sentence shown on the home page.")
@click.option("--admin", "admin_handle", metavar="HANDLE",
              help="The first administrator's handle (created once; ignored when an administrator exists).")
@click.option("--email", help="The first administrator's e-mail address (with --admin).")
@click.option("--password", envvar="COOPOL_PASSWORD",
              help="The first administrator's password (asked twice, hidden, when not given; COOPOL_PASSWORD "
                   "keeps it out of the shell history).")
def init(name: str, url: str, language: str, description: str, admin_handle: str | None, email: str | None,
         password: str | None) -> None:
    """Create (or complete) an instance folder: config, database, keys, first administrator. Safe to run
    again."""
    from coopol.config import ConfigError, check_base_url
    from coopol.provision import find_admins, prepare_instance_folder

    try:
        url = check_base_url(url)
    except ConfigError as error:
        fail(str(error))
    if not name.strip():
        fail("--name must not be empty.")
    if (email or password) and not admin_handle:
        fail("--email and --password name the first administrator: give --admin HANDLE too.")
    if admin_handle and not email:
        fail("--admin needs --email (the administrator's e-mail address).")
    instance_path = Path(os.environ.get("COOPOL_INSTANCE") or "instance").resolve()
    wanted = {"name": name.strip(), "url": url, "language": language, "description": description,
              "registration": "open"}
    folder = prepare_instance_folder(instance_path, wanted)
    app = create_app()
    with app.app_context():
        upgrade_database()
        from coopol.core.uow import unit_of_work

        with unit_of_work():  # ends its transaction (and SQLite's write queue) before `_unit` below
            admins = find_admins()
        admin_line = None
        if admins:
            admin_line = (f"  admin:    {', '.join(admins)} (exists; nothing changed"
                          + (f", '{admin_handle}' not created" if admin_handle and admin_handle not in admins else "")
                          + ")")
        elif admin_handle:
            from coopol.accounts.services import register_member

            if password is None:
                password = click.prompt(f"Password for {admin_handle}", hide_input=True, confirmation_prompt=True,
                                        err=True)
            member = _unit(register_member, admin_handle, email, password, role="admin", bypass_policy=True)
            admins = [member.handle]
            admin_line = f"  admin:    {member.handle} (created)"
    for key in ("name", "url", "language"):
        if app.config[key.upper()] != wanted[key]:
            click.echo(f"Note: {key} stays {app.config[key.upper()]!r} (set in {folder.config_file.name} or the "
                       f"environment; edit it there to change it).", err=True)
    click.echo(f"Instance ready in {instance_path}")
    click.echo(f"  config:   {folder.config_file}")
    click.echo(f"  database: {_safe_database_url(app.config['SQLALCHEMY_DATABASE_URI'])}")
    click.echo(f"  key:      {folder.key_path} ({'created' if folder.key_created else 'kept'})")
    if admin_line:
        click.echo(admin_line)
    for line in next_steps(instance_path, app.config["URL"], admins):
        click.echo(line)


def next_steps(instance_path: Path, url: str, admins: list[str]) -> list[str]:
    """What an admin does after `init`: serve, open, log in, add members and tokens, ask for an alliance."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    local = parts.hostname in ("127.0.0.1", "localhost")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    here = f"coopol --instance {instance_path}"
    run = f"{here} run --port {port}" if local else (
        f'COOPOL_INSTANCE={instance_path} gunicorn --preload "coopol:create_app()" (behind your HTTPS proxy)')
    admin = admins[0] if admins else None
    lines = ["", "Next steps:",
             f"  1. Serve it:       {run}",
             f"                     and exchange with allies (deliver, apply what they send): {here} worker",
             f"  2. Open it:        {url}"]
    if admin:
        lines.append(f"  3. Log in:         {url}/login as {admin} with the administrator's password")
    else:
        lines.append("  3. No administrator yet: run init again with --admin HANDLE --email E (the password is "
                     "asked), or the first person to register is a plain member")
    lines += [f"  4. Add members:    {here} users create HANDLE --email E [--role moderator]",
              f"     API token:      {here} tokens create {admin or 'HANDLE'}",
              f"     Invitations:    {here} invites create (with registration = \"invite\" in coopol.toml)",
              f"  5. Ask an ally:    {here} allies request https://ally.example",
              f"     (they accept:   coopol --instance THEIRS allies accept {parts.netloc}; then "
              f"`{here} allies list`)"]
    return lines


def _safe_database_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def run(host: str, port: int) -> None:
    """Serve the instance (for production use gunicorn --preload "coopol:create_app()")."""
    app = current_app._get_current_object()
    _check_database_ready()
    warning = port_mismatch(app.config["URL"], port)
    if warning:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(f"{app.config['NAME']} serving on http://{host}:{port} (Ctrl-C to stop)")
    app.run(host=host, port=port, threaded=True, use_reloader=False, debug=False)


def port_mismatch(url: str, port: int) -> str | None:
    """A local instance (URL on 127.0.0.1 or localhost) served on another port than its URL's builds
    links and federation ids that point nowhere: say so. Behind a proxy the ports rightly differ."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost"):
        return None
    expected = parts.port or (443 if parts.scheme == "https" else 80)
    if expected == port:
        return None
    return (f"this instance's URL is {url}, but it is served on port {port}: links and federation ids "
            f"use the URL (serve it with --port {expected}, or change url in coopol.toml).")


def _check_database_ready() -> None:
    state = database_state()
    if state == "missing":
        fail("The database is not initialised: run `coopol --instance DIR init ...` or `coopol db upgrade`.")
    if state == "outdated":
        fail("The database needs migrations that are not applied yet: run `coopol --instance DIR db upgrade`.")


def database_state() -> str:
    """`missing` (no database or no tables), `outdated` (migrations pending) or `ready`."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.engine import make_url

    from coopol.extensions import db

    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:") and not Path(
            url.database).exists():
        return "missing"  # checked first: connecting would create an empty file
    script = ScriptDirectory.from_config(current_app.extensions["migrate"].migrate.get_config())
    with db.engine.connect() as connection:
        applied = set(MigrationContext.configure(connection).get_current_heads())
    if not applied:
        return "missing"
    # A revision that `depends_on` another branch's head takes that head's place in the version table:
    # every head of the scripts must be applied or below (down or depended on) an applied one.
    reached = {rev.revision for rev in script.iterate_revisions(tuple(applied), "base")}
    return "ready" if set(script.get_heads()) <= reached else "outdated"


@cli.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@with_appcontext
def db_upgrade() -> None:
    """Apply every pending migration."""
    _check_sqlite_folder()
    upgrade_database()
    click.echo("Database is up to date.")


@cli.group()
def users() -> None:
    """Manage members."""


@users.command("create")
@click.argument("handle")
@click.option("--email", required=True)
@click.option("--password", required=True, help="Prefer COOPOL_PASSWORD in the environment to keep it out of history.",
              envvar="COOPOL_PASSWORD")
@click.option("--role", type=click.Choice(["member", "moderator", "admin"]), default="member", show_default=True)
@click.option("--name", "display_name", default="")
@with_appcontext
def users_create(handle: str, email: str, password: str, role: str, display_name: str) -> None:
    """Add a member (admins may add members whatever the registration policy)."""
    from coopol.accounts.services import register_member

    member = _unit(register_member, handle, email, password, role=role, display_name=display_name,
                   bypass_policy=True)
    click.echo(f"Created {member.role} '{member.handle}'.")


@users.command("role")
@click.argument("handle")
@click.argument("role", type=click.Choice(["member", "moderator", "admin"]))
@with_appcontext
def users_role(handle: str, role: str) -> None:
    """Change a member's role."""
    from coopol.accounts.services import get_member_by_handle, set_role

    def change():
        return set_role(None, get_member_by_handle(handle), role)

    member = _unit(change)
    click.echo(f"'{member.handle}' is now {member.role}.")


@users.command("list")
@with_appcontext
def users_list() -> None:
    """List local members."""
    from sqlalchemy import select

    from coopol.accounts.models import Member
    from coopol.extensions import db as database

    _check_database_ready()
    for member in database.session.scalars(select(Member).where(Member.host.is_(None)).order_by(Member.id)):
        click.echo(f"{member.handle}\t{member.role}\t{member.status}\t{member.created_at:%Y-%m-%d}")


@cli.group()
def tokens() -> None:
    """Personal API tokens."""


@tokens.command("create")
@click.argument("handle")
@click.option("--name", default="cli", show_default=True)
@with_appcontext
def tokens_create(handle: str, name: str) -> None:
    """Print a new API token for HANDLE (only its hash is stored)."""
    from coopol.accounts.services import create_token, get_member_by_handle

    def make():
        return create_token(get_member_by_handle(handle), name)[1]

    click.echo(_unit(make))


@cli.group()
def invites() -> None:
    """Invitation codes for invite-only instances."""


@invites.command("create")
@click.option("--days", default=14, show_default=True, type=int)
@with_appcontext
def invites_create(days: int) -> None:
    """Print a new single-use invitation code."""
    from coopol.accounts.services import create_invitation

    click.echo(_unit(create_invitation, None, valid_days=days))


def main() -> None:
    from coopol.demo import demo  # needs no instance, so it is not one of the app's commands

    cli.add_command(demo)
    cli(prog_name="coopol")


if __name__ == "__main__":
    sys.exit(main())
