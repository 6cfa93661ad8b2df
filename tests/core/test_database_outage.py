"""The database goes away: every request answers 503 with Retry-After (JSON on the API, a translated
page on the web) without touching the database again, and the instance recovers by itself.

The outage is real, of this test's own database only: on SQLite its file is replaced by a directory
("unable to open database file"); on PostgreSQL the database stops accepting connections and its
sessions are terminated (what a server restart does to them).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from coopol.extensions import db

ERROR_KEYS = {"code", "status", "message", "errors"}


def _admin_url() -> str | None:
    return os.environ.get("COOPOL_TEST_DATABASE_URL")


def _terminate_sessions(conn, name: str) -> None:
    conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name})


@contextlib.contextmanager
def database_gone(app) -> Iterator[None]:
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.drivername.startswith("sqlite"):
        with app.app_context():
            db.engine.dispose()  # pooled connections would keep the unlinked file open
        path = url.database
        os.rename(path, path + ".away")
        os.mkdir(path)
        try:
            yield
        finally:
            os.rmdir(path)
            os.rename(path + ".away", path)
        return
    admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS false'))
            _terminate_sessions(conn, url.database)
        try:
            yield
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS true'))
    finally:
        admin.dispose()


def assert_unavailable(response) -> None:
    assert response.status_code == 503, response.data[:300]
    assert response.is_json, response.data[:300]
    assert set(response.json) == ERROR_KEYS
    assert response.json["code"] == 503
    assert response.json["status"] == "Service Unavailable"
    assert "try again" in response.json["message"]
    assert response.headers["Retry-After"] == "5"


@pytest.fixture
def member_headers(create_member, token_for):
    create_member("alice")
    return token_for("alice")


def test_the_api_answers_503_with_retry_after_while_the_database_is_gone(app, client, member_headers):
    # The token's member is loaded from the database; so would the locale that translates the message.
    with database_gone(app):
        assert_unavailable(client.get("/api/v1/ideas", headers=member_headers))
        assert_unavailable(client.post("/api/v1/ideas", headers=member_headers,
                                       json={"title": "An idea while it is down", "body": "Some body."}))
        assert_unavailable(client.get("/api/v1/ideas"))  # a visitor too
    # Back by itself, on the same app (the pool's dead connections are replaced).
    assert client.get("/api/v1/ideas", headers=member_headers).status_code == 200
    created = client.post("/api/v1/ideas", headers=member_headers,
                          json={"title": "An idea once it is back", "body": "Some body."})
    assert created.status_code == 201, created.json


def test_other_errors_still_answer_without_the_database(app, client, member_headers):
    # A 404 translates its message, which selects the locale, which loads the token's member: that
    # lookup failing must not turn the 404 into a crash of the error handler.
    with database_gone(app):
        response = client.get("/api/v1/no-such-thing", headers=member_headers)
    assert response.status_code == 404
    assert set(response.json) == ERROR_KEYS


def test_pages_answer_a_translated_503_page_rendered_as_for_a_visitor(app, client, auth, create_member):
    create_member("bob")
    assert auth.login("bob").status_code == 302
    client.set_cookie("lang", "fr")
    with database_gone(app):
        response = client.get("/ideas")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<html lang="fr">' in page  # the locale from the cookie, not from the member's row
    assert "Aller au contenu" in page  # the whole translated layout, not the bare fallback page
    assert "Se connecter" in page  # shown as for a visitor: the member could not be loaded
    assert "try again" in page or "réessayer" in page.lower()
    assert client.get("/ideas").status_code == 200


def test_pages_use_accept_language_when_there_is_no_cookie(app, client, create_member):
    with database_gone(app):
        response = client.get("/ideas", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert response.status_code == 503
    assert '<html lang="fr">' in response.get_data(as_text=True)


@pytest.mark.skipif(not _admin_url(), reason="PostgreSQL: connections a server restart killed")
def test_connections_killed_between_requests_are_replaced_unseen(app, client, member_headers):
    assert client.get("/api/v1/ideas", headers=member_headers).status_code == 200
    name = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            _terminate_sessions(conn, name)
    finally:
        admin.dispose()
    # The pooled connection is dead; the pre-ping replaces it before the request uses it.
    response = client.get("/api/v1/ideas", headers=member_headers)
    assert response.status_code == 200, response.json


@pytest.mark.skipif(not _admin_url(), reason="PostgreSQL: the connection killed between the view and the commit")
def test_a_commit_that_loses_the_database_is_a_503_and_writes_nothing(make_app):
    from coopol.accounts.services import register_member

    app = make_app("commit", TESTING=False)  # as served: errors outside the view go to the handlers

    def write_then_lose_the_connection():
        register_member("lost", "lost@example.org", "a long and unusual pass phrase", bypass_policy=True)
        pid = db.session.scalar(text("SELECT pg_backend_pid()"))
        admin = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        finally:
            admin.dispose()
        return {"ok": True}, 201  # the unit of work commits after this, on the dead connection

    app.add_url_rule("/api/v1/test/commit-lost", "commit_lost", write_then_lose_the_connection, methods=["POST"])
    client = app.test_client()
    assert_unavailable(client.post("/api/v1/test/commit-lost", json={}))
    with app.app_context():
        from sqlalchemy import select

        from coopol.accounts.models import Member

        assert db.session.scalar(select(Member).where(Member.handle == "lost")) is None
        db.session.remove()
