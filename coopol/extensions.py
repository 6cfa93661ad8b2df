"""Flask extensions, created unbound; `create_app` binds them with `init_app`.

Nothing here imports from `coopol`, so every module can import these objects without cycles.
"""

from flask import current_app, g, has_request_context, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
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


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=_rate_limit_key)
