"""Per-account sign-in back-off: many addresses guessing one account's password must wait, growing."""

import time
import uuid

import pytest

from tests.conftest import TEST_PASSWORD


@pytest.fixture
def guarded(make_app, create_member):
    def build(**config):
        # A per-address window of one second: its Retry-After (Flask-Limiter sends the longer) stays below ours.
        app = make_app("guarded", RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="1000/second", LOGIN_BACKOFF_AFTER=3,
                       **config)
        create_member("ana", target_app=app)
        return app, app.test_client()

    return build


def retry_after(response) -> int:
    # Flask-Limiter rewrites Retry-After as max(ours, its own window) in whole seconds rounded down.
    return int(response.headers["Retry-After"])


def sign_in(client, login, password, n=0):
    # A new address every time: the per-address limit never trips, only the account's back-off.
    return client.post("/login", data={"login": login, "password": password},
                       environ_base={"REMOTE_ADDR": f"198.51.100.{n % 250 + 1}"})


def test_after_three_failures_the_account_waits_whatever_the_address(guarded):
    _app, client = guarded()
    assert [sign_in(client, "ana", "wrong guess", n).status_code for n in range(3)] == [401, 401, 401]
    refused = sign_in(client, "ana", TEST_PASSWORD, 7)  # even the right password
    assert refused.status_code == 429
    assert retry_after(refused) in (29, 30)
    assert "Too many failed sign-ins for this account. Please wait 30 seconds" in refused.get_data(as_text=True)
    # The e-mail address is the same account; another account is not affected.
    assert sign_in(client, "ana@example.org", TEST_PASSWORD, 8).status_code == 429


def test_the_api_token_endpoint_answers_429_json_with_retry_after(guarded):
    _app, client = guarded()
    for n in range(3):
        assert client.post("/api/v1/tokens", json={"login": "ana", "password": "wrong guess"},
                           environ_base={"REMOTE_ADDR": f"203.0.113.{n + 1}"}).status_code == 401
    refused = client.post("/api/v1/tokens", json={"login": "ana", "password": TEST_PASSWORD})
    assert refused.status_code == 429
    assert refused.json["code"] == 429 and refused.json["errors"] == {}
    assert refused.json["message"].startswith("Too many failed sign-ins for this account")
    assert retry_after(refused) in (29, 30)


def test_a_success_resets_the_count(guarded):
    _app, client = guarded()
    for _round in range(2):
        assert [sign_in(client, "ana", "wrong guess", n).status_code for n in range(2)] == [401, 401]
        assert sign_in(client, "ana", TEST_PASSWORD, 9).status_code == 302
        client.post("/logout")


def test_the_wait_doubles_with_each_further_failure(guarded):
    _app, client = guarded(LOGIN_BACKOFF_SECONDS=1)
    for n in range(3):
        sign_in(client, "ana", "wrong guess", n)
    assert "wait 1 second before" in sign_in(client, "ana", "wrong guess", 3).get_data(as_text=True)
    time.sleep(1.1)
    assert sign_in(client, "ana", "wrong guess", 4).status_code == 401  # the wait is over: one more try
    assert "wait 2 seconds" in sign_in(client, "ana", "wrong guess", 5).get_data(as_text=True)
    time.sleep(2.1)
    assert sign_in(client, "ana", TEST_PASSWORD, 6).status_code == 302


def test_the_wait_is_capped(guarded):
    _app, client = guarded(LOGIN_BACKOFF_SECONDS=1, LOGIN_BACKOFF_MAX_SECONDS=1)
    for n in range(3):
        sign_in(client, "ana", "wrong guess", n)
    time.sleep(1.1)
    assert sign_in(client, "ana", "wrong guess", 3).status_code == 401
    assert "wait 1 second before" in sign_in(client, "ana", "wrong guess", 4).get_data(as_text=True)


def test_unknown_logins_wait_too_so_nothing_leaks(guarded):
    _app, client = guarded()
    for n in range(3):
        assert sign_in(client, "nobody", "wrong guess", n).status_code == 401
    assert sign_in(client, "nobody", "wrong guess", 4).status_code == 429
    assert sign_in(client, "ana", TEST_PASSWORD, 5).status_code == 302


def test_processes_of_one_instance_share_the_back_off_in_redis(make_app, create_member):
    import os

    import redis

    url = os.environ.get("COOPOL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip(f"no Redis at {url}")
    prefix = f"test-{uuid.uuid4().hex}"
    clients = []
    for name in ("worker_a", "worker_b"):
        app = make_app(name, URL="http://backoff.coopol.test", RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=url,
                       RATELIMIT_KEY_PREFIX=prefix, LOGIN_BACKOFF_AFTER=3)
        create_member("ana", target_app=app)
        clients.append(app.test_client())
    a, b = clients
    assert sign_in(a, "ana", "wrong guess", 1).status_code == 401
    assert sign_in(b, "ana", "wrong guess", 2).status_code == 401
    assert sign_in(a, "ana", "wrong guess", 3).status_code == 401
    assert sign_in(b, "ana", TEST_PASSWORD, 4).status_code == 429
