"""Flask extensions, created unbound; `create_app` binds them with `init_app`.

Nothing here imports from `coopol`, so every module can import these objects without cycles.
"""

from typing import Any

import click
from flask import current_app, g, has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.orm import DeclarativeBase, Session

# Explicit constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _rate_limit_key() -> str:
    # Several instances may share one limiter storage (tests, one Redis): scope keys per instance.
    return f"{current_app.config.get('SERVER_NAME_KEY', '')}|{get_remote_address() or request.remote_addr}"


@event.listens_for(Session, "after_soft_rollback")
def _note_request_rollback(session: Session, previous_transaction) -> None:
    # A page that refuses a submission rolls back and re-renders (or redirects): remember it, so a
    # limit on what members *create* does not count the refusal (`request_created`).
    if previous_transaction.parent is None and not previous_transaction.nested and has_request_context():
        g.coopol_rolled_back = True


def request_created(response) -> bool:
    """Whether this request's unit of work will keep what it wrote: below 400 and never rolled back.

    Limits on what members create (ideas, comments, votes, reports, accounts) count only these, so a
    form sent back for a too-short title costs nothing (`deduct_when` for Flask-Limiter's decorators).
    """
    return response.status_code < 400 and not g.get("coopol_rolled_back", False)


class LazyMigrate:
    """Flask-Migrate, imported when a migration command or `upgrade()` first needs it. Importing it loads
    Alembic with Mako and Pygments (some 12 MB of memory, 150 modules, 0.7 s) into every web worker,
    which never migrates (issue 16). `init_app` leaves a stand-in where Flask-Migrate keeps its
    configuration (`app.extensions["migrate"]`) and its `db` commands; the first use binds the real one."""

    def init_app(self, app: Any, db: Any, directory: str = "migrations", **kwargs: Any) -> None:
        app.extensions["migrate"] = _PendingMigrate(app, db, str(directory), kwargs)
        app.cli.add_command(_PendingDbCommands(app, name="db", help="Database migrations (Flask-Migrate)."))


def _bind_migrate(app: Any) -> Any:
    pending = app.extensions.get("migrate")
    if isinstance(pending, _PendingMigrate):
        from flask_migrate import Migrate

        Migrate().init_app(app, pending.db, directory=pending.directory, **pending.configure_args)  # replaces both
    return app.extensions["migrate"]


class _PendingMigrate:
    """Flask-Migrate's configuration (`db`, `directory`, `configure_args`: Alembic's context arguments,
    which packages may add to) until it is bound."""

    def __init__(self, app: Any, db: Any, directory: str, configure_args: dict[str, Any]) -> None:
        self.app, self.db, self.directory, self.configure_args = app, db, directory, configure_args

    def __getattr__(self, name: str) -> Any:  # what Flask-Migrate's functions and env.py read
        return getattr(_bind_migrate(self.app), name)


class _PendingDbCommands(click.Group):
    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app

    def _real(self) -> click.Group:
        _bind_migrate(self.app)
        return self.app.cli.commands["db"]

    def list_commands(self, ctx: click.Context) -> list[str]:
        return self._real().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return self._real().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        return self._real().invoke(ctx)


db = SQLAlchemy(model_class=Base)
migrate = LazyMigrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=_rate_limit_key)
