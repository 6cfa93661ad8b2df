"""The unit of work: one commit per request, CLI command or worker job, at the edge.

Services only `flush()`. A request that ends with a status below 400 commits; any error rolls the
whole unit back, so a failed request writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, Response
from sqlalchemy.orm import Session

from coopol.extensions import db


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
