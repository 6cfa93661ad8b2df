"""The unit of work: one commit per request, CLI command or worker job, at the edge.

Services only `flush()`. A request that ends with a status below 400 commits; any error rolls the
whole unit back, so a failed request writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, Response
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from coopol.extensions import db

_WROTE = "coopol.wrote"


@event.listens_for(Session, "before_flush")
def _flushing(session: Session, *_: object) -> None:
    if session.new or session.dirty or session.deleted:
        session.info[_WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _executing(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[_WROTE] = True


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_WROTE, None)


def has_written() -> bool:
    """Whether the current transaction of the request's session has written (or is about to): it then holds,
    on SQLite, the database's write lock, and a second connection that writes would wait for it forever."""
    session = db.session
    return bool(session.info.get(_WROTE) or session.new or session.dirty or session.deleted)


@contextmanager
def unit_of_work() -> Iterator[Session]:
    session = db.session
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise


def init_unit_of_work(app: Flask) -> None:
    @app.after_request
    def commit_or_roll_back(response: Response) -> Response:
        if not db.session.registry.has():  # the request never touched the database (a cached answer)
            return response
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response
