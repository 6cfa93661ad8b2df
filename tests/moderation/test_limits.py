"""Rate limits per member and per IP, stricter for new accounts (limits are off in other tests)."""

import pytest

from tests.conftest import redis_url


@pytest.fixture
def limited(make_app, create_member, token_for, create_idea):
    def build(**config):
        app = make_app("limited", RATELIMIT_ENABLED=True, **config)
        for handle in ("writer", "ana", "ben", "cleo", "dora"):
            create_member(handle, target_app=app)
        ideas = [create_idea("writer", title=f"Idea number {n}", target_app=app) for n in range(6)]
        tokens = {h: token_for(h, target_app=app) for h in ("ana", "ben", "cleo", "dora")}
        return app, app.test_client(), ideas, tokens

    return build


def report(client, headers, idea_id, **kwargs):
    return client.post("/api/v1/reports", headers=headers, **kwargs,
                       json={"target_type": "idea", "target_id": idea_id, "reason": "spam"})


def test_member_limit_with_ratelimit_headers_and_a_clear_429(limited):
    _app, client, ideas, tokens = limited(RATELIMIT_REPORT="2/hour", NEW_ACCOUNT_AGE_HOURS=0)
    first = report(client, tokens["ana"], ideas[0])
    assert first.status_code == 201
    assert first.headers["RateLimit-Limit"] == "2" and first.headers["RateLimit-Remaining"] == "1"
    assert 0 < int(first.headers["RateLimit-Reset"]) <= 3600
    assert first.headers["RateLimit-Policy"] == "2;w=3600"
    assert report(client, tokens["ana"], ideas[1]).headers["RateLimit-Remaining"] == "0"
    refused = report(client, tokens["ana"], ideas[2])
    assert refused.status_code == 429
    assert refused.json["message"] == ("Too many reports: this account may make at most 2 per 1 hour. "
                                       "Please try again later.")
    assert refused.headers["RateLimit-Remaining"] == "0" and int(refused.headers["Retry-After"]) > 0
    # Another member is not affected.
    assert report(client, tokens["ben"], ideas[2]).status_code == 201


def test_new_accounts_have_stricter_limits(limited):
    _app, client, ideas, tokens = limited(RATELIMIT_REPORT="5/hour", RATELIMIT_REPORT_NEW_ACCOUNT="1/hour")
    assert report(client, tokens["ana"], ideas[0]).headers["RateLimit-Limit"] == "1"
    refused = report(client, tokens["ana"], ideas[1])
    assert refused.status_code == 429
    assert "Accounts younger than 24 hours have stricter limits" in refused.json["message"]


def test_the_ip_limit_stops_many_accounts_from_one_address(limited):
    _app, client, ideas, tokens = limited(RATELIMIT_REPORT_PER_IP="3/hour", NEW_ACCOUNT_AGE_HOURS=0)
    for n, handle in enumerate(("ana", "ben", "cleo")):
        assert report(client, tokens[handle], ideas[n]).status_code == 201
    refused = report(client, tokens["dora"], ideas[0])
    assert refused.status_code == 429
    assert "this network address" in refused.json["message"]
    other_address = report(client, tokens["dora"], ideas[0], environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other_address.status_code == 201


def test_a_refused_request_writes_nothing(limited):
    from sqlalchemy import func, select

    from coopol.extensions import db
    from coopol.moderation.models import Report

    app, client, ideas, tokens = limited(RATELIMIT_REPORT="1/hour", NEW_ACCOUNT_AGE_HOURS=0)
    report(client, tokens["ana"], ideas[0])
    assert report(client, tokens["ana"], ideas[1]).status_code == 429
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 1


def test_registration_is_limited_per_address(limited):
    _app, client, _ideas, _tokens = limited(RATELIMIT_REGISTER="2/hour")
    for n in range(2):
        response = client.post("/api/v1/members", json={
            "handle": f"sock{n}", "email": f"sock{n}@example.org", "password": "a long and unusual pass phrase"})
        assert response.status_code == 201, response.json
    refused = client.post("/api/v1/members", json={
        "handle": "sock9", "email": "sock9@example.org", "password": "a long and unusual pass phrase"})
    assert refused.status_code == 429
    assert refused.json["message"].startswith("Too many")


def test_pages_get_a_429_page_with_the_message(limited):
    app, client, ideas, _tokens = limited(RATELIMIT_REPORT="1/hour", NEW_ACCOUNT_AGE_HOURS=0)
    client.post("/login", data={"login": "ana", "password": "a long and unusual pass phrase"})
    assert client.post(f"/report/idea/{ideas[0]}", data={"reason": "spam"}).status_code == 302
    refused = client.post(f"/report/idea/{ideas[1]}", data={"reason": "spam"})
    assert refused.status_code == 429
    assert "Too many reports" in refused.get_data(as_text=True)
    assert refused.headers["RateLimit-Limit"] == "1"


def test_limits_off_means_no_headers(client, community, create_idea):
    response = report(client, community["rosa"], create_idea("author"))
    assert response.status_code == 201
    assert "RateLimit-Limit" not in response.headers



def test_processes_of_one_instance_share_counters_in_redis(make_app, create_member, token_for, create_idea):
    import uuid

    url, host = redis_url(), f"http://limits-{uuid.uuid4().hex[:8]}.coopol.test"
    clients, targets = [], []
    for name in ("worker_a", "worker_b"):
        app = make_app(name, URL=host, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=url,
                       RATELIMIT_REPORT="3/hour", NEW_ACCOUNT_AGE_HOURS=0)
        create_member("writer", target_app=app)
        create_member("ana", target_app=app)
        targets.append([create_idea("writer", title=f"Idea {n}", target_app=app) for n in range(3)])
        clients.append((app.test_client(), token_for("ana", target_app=app)))
    (a, a_token), (b, b_token) = clients
    assert report(a, a_token, targets[0][0]).headers["RateLimit-Remaining"] == "2"
    assert report(b, b_token, targets[1][1]).headers["RateLimit-Remaining"] == "1"
    assert report(a, a_token, targets[0][2]).headers["RateLimit-Remaining"] == "0"
    assert report(b, b_token, targets[1][0]).status_code == 429


def test_posting_commenting_and_voting_are_limited(limited):
    _app, client, ideas, tokens = limited(RATELIMIT_POST="1/hour", RATELIMIT_COMMENT="1/hour",
                                          RATELIMIT_VOTE="2/hour", NEW_ACCOUNT_AGE_HOURS=0)
    ana = tokens["ana"]
    idea = {"title": "Cheaper trains", "body": "Please.", "language": "en"}
    assert client.post("/api/v1/ideas", headers=ana, json=idea).status_code == 201
    refused = client.post("/api/v1/ideas", headers=ana, json=idea)
    assert refused.status_code == 429 and refused.json["message"].startswith("Too many new ideas")

    comment = {"body": "Agreed.", "stance": "for"}
    assert client.post(f"/api/v1/ideas/{ideas[0]}/comments", headers=ana, json=comment).status_code == 201
    refused = client.post(f"/api/v1/ideas/{ideas[0]}/comments", headers=ana, json=comment)
    assert refused.status_code == 429 and refused.json["message"].startswith("Too many comments")

    assert client.put(f"/api/v1/ideas/{ideas[0]}/vote", headers=ana, json={"value": "support"}).status_code == 200
    assert client.delete(f"/api/v1/ideas/{ideas[0]}/vote", headers=ana).status_code == 200
    refused = client.put(f"/api/v1/ideas/{ideas[0]}/vote", headers=ana, json={"value": "oppose"})
    assert refused.status_code == 429 and refused.json["message"].startswith("Too many votes")
    # Reading is never limited.
    assert client.get(f"/api/v1/ideas/{ideas[0]}", headers=ana).status_code == 200


# Creation limits count what was created: a refused or sent-back submission costs nothing.

def test_a_new_member_sent_back_for_a_short_title_keeps_their_quota(limited):
    app, client, _ideas, _tokens = limited(RATELIMIT_POST_NEW_ACCOUNT="3/hour")
    client.post("/login", data={"login": "ana", "password": "a long and unusual pass phrase"})
    for _ in range(3):
        sent_back = client.post("/ideas/new", data={"title": "ab", "body": "Too short a title.", "language": "en"})
        assert sent_back.status_code == 422
    for n in range(3):
        made = client.post("/ideas/new", data={"title": f"Cheaper trains {n}", "body": "Please.", "language": "en"})
        assert made.status_code == 302, made.get_data(as_text=True)
    refused = client.post("/ideas/new", data={"title": "One too many", "body": "Please.", "language": "en"})
    assert refused.status_code == 429
    assert "at most 3" in refused.get_data(as_text=True)


def test_invalid_api_submissions_do_not_use_the_quota(limited):
    _app, client, ideas, tokens = limited(RATELIMIT_POST="1/hour", RATELIMIT_COMMENT="1/hour", NEW_ACCOUNT_AGE_HOURS=0)
    ana = tokens["ana"]
    for _ in range(3):
        response = client.post("/api/v1/ideas", headers=ana, json={"title": "ab", "body": "x", "language": "en"})
        assert response.status_code == 422
        assert response.headers["RateLimit-Remaining"] == "1"
        assert client.post(f"/api/v1/ideas/{ideas[0]}/comments", headers=ana,
                           json={"body": "", "stance": "for"}).status_code == 422
    created = client.post("/api/v1/ideas", headers=ana, json={"title": "Cheaper trains", "body": "x", "language": "en"})
    assert created.status_code == 201 and created.headers["RateLimit-Remaining"] == "0"
    assert client.post(f"/api/v1/ideas/{ideas[0]}/comments", headers=ana,
                       json={"body": "Agreed.", "stance": "for"}).status_code == 201
    assert client.post("/api/v1/ideas", headers=ana,
                       json={"title": "Dearer cars", "body": "x", "language": "en"}).status_code == 429


def test_refused_reports_do_not_use_the_quota(limited):
    _app, client, ideas, tokens = limited(RATELIMIT_REPORT="1/hour", NEW_ACCOUNT_AGE_HOURS=0)
    for _ in range(3):
        assert client.post("/api/v1/reports", headers=tokens["ana"], json={
            "target_type": "idea", "target_id": ideas[0], "reason": "no such reason"}).status_code == 422
    assert report(client, tokens["ana"], ideas[0]).status_code == 201
    assert report(client, tokens["ana"], ideas[1]).status_code == 429


def test_a_vote_refused_on_the_page_does_not_use_the_quota(limited):
    # The page answers a refused vote with a redirect and a message; the unit of work rolled back.
    _app, client, ideas, _tokens = limited(RATELIMIT_VOTE="1/hour", NEW_ACCOUNT_AGE_HOURS=0)
    client.post("/login", data={"login": "ana", "password": "a long and unusual pass phrase"})
    for _ in range(2):
        assert client.post(f"/ideas/{ideas[0]}/vote", data={"value": "sideways"}).status_code == 302
    assert client.post(f"/ideas/{ideas[0]}/vote", data={"value": "support"}).status_code == 302
    assert client.post(f"/ideas/{ideas[1]}/vote", data={"value": "support"}).status_code == 429


def test_failed_registrations_do_not_use_the_address_quota(limited):
    _app, client, _ideas, _tokens = limited(RATELIMIT_REGISTER="2/hour")
    for n in range(3):
        short = client.post("/api/v1/members", json={"handle": f"try{n}", "email": f"try{n}@example.org",
                                                     "password": "short"})
        assert short.status_code == 422
        taken = client.post("/register", data={"handle": "ana", "email": "other@example.org",
                                               "password": "a long and unusual pass phrase"})
        assert 400 <= taken.status_code < 429
    for n in range(2):
        response = client.post("/api/v1/members", json={
            "handle": f"sock{n}", "email": f"sock{n}@example.org", "password": "a long and unusual pass phrase"})
        assert response.status_code == 201, response.json
    assert client.post("/api/v1/members", json={
        "handle": "sock9", "email": "sock9@example.org", "password": "a long and unusual pass phrase"}
    ).status_code == 429


def test_failed_sign_ins_still_count(make_app):
    app = make_app("limited", RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="2/minute")
    client = app.test_client()
    codes = [client.post("/login", data={"login": f"nobody{n}", "password": "wrong"}).status_code for n in range(3)]
    assert codes == [401, 401, 429]


# Where counters live: one process's memory only when one process serves.

def test_unset_storage_is_memory_for_one_process_and_redis_under_gunicorn_or_in_production(monkeypatch):
    import sys

    from coopol.config import rate_limit_storage_uri

    monkeypatch.delitem(sys.modules, "gunicorn", raising=False)
    monkeypatch.delenv("SERVER_SOFTWARE", raising=False)
    one = {"URL": "http://127.0.0.1:5000", "REDIS_URL": "redis://cache.internal:6379/2", "TESTING": False}
    assert rate_limit_storage_uri({**one, "RATELIMIT_STORAGE_URI": None}) == "memory://"
    assert rate_limit_storage_uri({**one, "URL": "https://ideas.party.example"}) == "redis://cache.internal:6379/2"
    assert rate_limit_storage_uri({**one, "RATELIMIT_STORAGE_URI": "memory://",
                                   "URL": "https://ideas.party.example"}) == "memory://"  # said explicitly
    monkeypatch.setenv("SERVER_SOFTWARE", "gunicorn/23.0.0")
    assert rate_limit_storage_uri(one) == "redis://cache.internal:6379/2"


def test_redis_is_the_default_under_gunicorn(make_app, monkeypatch):
    import sys
    import types

    monkeypatch.setitem(sys.modules, "gunicorn", types.ModuleType("gunicorn"))
    assert make_app("served").config["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379"


@pytest.mark.slow
@pytest.mark.e2e
def test_two_gunicorn_workers_share_the_sign_in_limit_exactly(tmp_path):
    """Two gunicorn workers on one Redis grant the per-address sign-in limit once, not once each."""
    import os
    import subprocess
    import time
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from tests.e2e.conftest import COOPOL, PG_ADMIN_URL, free_port

    shared = redis_url()
    port, instance = free_port(), tmp_path / "served"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPOL_") and k != "DATABASE_URL"}
    env.update(COOPOL_INSTANCE=str(instance), COOPOL_REDIS_URL=shared, COOPOL_RATELIMIT_LOGIN="20/minute",
               COOPOL_RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}", PYTHONPATH=os.getcwd())
    admin = database = None
    if PG_ADMIN_URL:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        database = f"coopol_limits_{uuid.uuid4().hex[:8]}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        env["DATABASE_URL"] = make_url(PG_ADMIN_URL).set(database=database).render_as_string(hide_password=False)
    url = f"http://127.0.0.1:{port}"
    subprocess.run([*COOPOL, "--instance", str(instance), "init", "--name", "Served", "--url", url], env=env,
                   check=True, capture_output=True, timeout=120)
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(["gunicorn", "--workers", "2", "--bind", f"127.0.0.1:{port}", "coopol:create_app()"],
                              env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/nodeinfo/2.1", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()
            time.sleep(0.2)

        def attempt(n: int) -> int:
            # A new connection and a new (unknown) login each time: only the per-address limit applies.
            response = requests.post(f"{url}/api/v1/tokens", json={"login": f"guess{n}", "password": "wrong"},
                                     headers={"Connection": "close"}, timeout=30)
            return response.status_code

        with ThreadPoolExecutor(max_workers=6) as pool:
            codes = list(pool.map(attempt, range(30)))
        assert sorted(codes) == [401] * 20 + [429] * 10, codes
    finally:
        os.killpg(server.pid, 15)
        server.wait(20)
        log.close()
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
