"""Rate limits per member and per IP, stricter for new accounts (limits are off in other tests)."""

import pytest


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


def _redis_url():
    import os

    import redis

    url = os.environ.get("COOPOL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url}")
    return url


def test_processes_of_one_instance_share_counters_in_redis(make_app, create_member, token_for, create_idea):
    import uuid

    url, host = _redis_url(), f"http://limits-{uuid.uuid4().hex[:8]}.coopol.test"
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
