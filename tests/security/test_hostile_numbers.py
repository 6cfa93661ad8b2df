"""Hostile numbers and dates on every id, integer and date field of the API.

Each value answers a 4xx in the one error shape, naming the field (or a 404 for a path), and nothing
is stored: every table's row count (and every notification's read state) is the same before and after.
The values are the classics: 2^63 (one past a signed 64-bit integer), -1, 0, a 4,301-digit integer
(past Python's int/str conversion limit), floats, 1e309 (infinity once parsed), fullwidth and
Arabic-Indic digits (which `int()` and `\\d` accept), booleans (which are ints in Python), and dates at
and past the calendar's ends.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from coopol.core.uow import unit_of_work

HUGE = "9" * 4301
# (label, raw JSON text of the value): raw, because json.dumps cannot even write some of them.
HOSTILE_INTEGERS = [
    ("2^31", str(2**31)),
    ("2^63", str(2**63)),
    ("2^64", str(2**64)),
    ("-1", "-1"),
    ("0", "0"),
    ("4301 digits", HUGE),
    ("-4301 digits", "-" + HUGE),
    ("float", "1.5"),
    ("float integral", "1.0"),
    ("1e309", "1e309"),
    ("NaN", "NaN"),
    ("fullwidth", json.dumps("１")),
    ("arabic-indic", json.dumps("١")),
    ("digits as text", json.dumps("1")),
    ("true", "true"),
    ("false", "false"),
    ("object", "{}"),
]
HOSTILE_QUERY_INTEGERS = [str(2**31), str(2**63), str(2**64), "-1", "0", HUGE[:2000],
                          "1.5", "1e309", "１", "١", "true", "", " 1"]
HOSTILE_PATH_IDS = [str(2**63), str(2**31), "0", "-1", HUGE[:3000], "１", "١", "1.0", "1e3"]
HOSTILE_DATES = [
    ("year 0", json.dumps("0000-01-01")),
    ("year 9999", json.dumps("9999-12-31")),
    ("year 9999 with an offset", json.dumps("9999-12-31T23:59:59-05:00")),
    ("year 10000", json.dumps("10000-01-01")),
    ("year 1 with an offset", json.dumps("0001-01-01T00:00:00+01:00")),
    ("no such day", json.dumps("2030-02-30")),
    ("fullwidth digits", json.dumps("２０３０-01-01")),
    ("arabic-indic digits", json.dumps("٢٠٣٠-٠١-٠١")),
    ("empty", json.dumps("")),
    ("a number", "20300101"),
    ("1e309", "1e309"),
    ("true", "true"),
    ("in the past", json.dumps("2001-01-01")),
]


@pytest.fixture
def world(app, create_member, token_for):
    """alice wrote an idea with a comment, bob has a notification, modmarie moderates."""
    from coopol.accounts.services import get_member_by_handle
    from coopol.ideas.comments import post_comment
    from coopol.ideas.services import create_idea
    from coopol.notifications.store import notify

    for handle, role in (("alice", "member"), ("bob", "member"), ("modmarie", "moderator")):
        create_member(handle, role=role)
    with app.test_request_context(), unit_of_work():
        alice = get_member_by_handle("alice")
        idea = create_idea(alice, title="Free buses for everyone", body="Let us do it.")
        comment = post_comment(alice, idea, body="First!")
        note = notify(get_member_by_handle("bob"), "test", "Hello bob")
        ids = {"idea": idea.id, "comment": comment.id}
    with app.app_context():
        from coopol.extensions import db
        from coopol.notifications.models import Notification

        ids["notification"] = db.session.scalar(select(func.max(Notification.id)))
        assert note is not None
    return {**ids, "alice": token_for("alice"), "bob": token_for("bob"), "mod": token_for("modmarie")}


@pytest.fixture
def snapshot(app):
    """Every table's row count, and how many notifications are read: what a refused request must not change."""
    from coopol.extensions import db
    from coopol.notifications.models import Notification

    def take() -> dict[str, int]:
        with app.app_context():
            counts = {table.name: db.session.scalar(select(func.count()).select_from(table))
                      for table in db.metadata.sorted_tables}
            counts["read notifications"] = db.session.scalar(
                select(func.count(Notification.id)).where(Notification.read_at.is_not(None)))
            db.session.remove()
            return counts

    return take


def _post_raw(client, path: str, body: str, headers: dict, method: str = "post"):
    return getattr(client, method)(path, data=body, content_type="application/json", headers=headers)


def _assert_refused(response, field: str) -> None:
    assert response.status_code in (400, 422), (response.status_code, response.get_data(as_text=True)[:500])
    error = response.get_json()
    assert {"code", "status", "message", "errors"} <= set(error), error
    assert error["code"] == response.status_code
    assert field in error["errors"], error


def _with(template: str, value: str) -> str:
    return template.replace("VALUE", value)


# Every JSON integer field: (field, who, method, path, body with VALUE where the number goes).
JSON_INTEGER_FIELDS = [
    ("parent_id", "alice", "post", "/api/v1/ideas/{idea}/comments", '{"body": "Hi", "parent_id": VALUE}'),
    ("target_id", "bob", "post", "/api/v1/reports", '{"target_type": "idea", "target_id": VALUE, "reason": "spam"}'),
    ("target_id", "bob", "post", "/api/v1/reports",
     '{"target_type": "comment", "target_id": VALUE, "reason": "spam"}'),
    ("target_id", "mod", "post", "/api/v1/moderation/actions",
     '{"action": "hide", "target_type": "idea", "target_id": VALUE, "reason": "Off topic"}'),
    ("target_id", "mod", "post", "/api/v1/moderation/actions",
     '{"action": "remove", "target_type": "comment", "target_id": VALUE, "reason": "Off topic"}'),
    ("id", "bob", "post", "/api/v1/notifications/read", '{"id": VALUE}'),
    ("ids", "bob", "post", "/api/v1/notifications/read", '{"ids": [VALUE]}'),
]


@pytest.mark.parametrize("field, who, method, path, body", JSON_INTEGER_FIELDS,
                         ids=[f"{f[0]}@{f[3]}" + ("-comment" * ('"comment"' in f[4])) for f in JSON_INTEGER_FIELDS])
def test_hostile_json_integers_are_refused_and_store_nothing(client, world, snapshot, field, who, method, path, body):
    path = path.format(**world)
    before = snapshot()
    for label, value in HOSTILE_INTEGERS:
        if field == "target_id" and label == "digits as text":
            continue  # text is a member's handle there: tested below
        response = _post_raw(client, path, _with(body, value), world[who], method)
        try:
            _assert_refused(response, field)
        except AssertionError as error:
            raise AssertionError(f"{label}: {error}") from None
    assert snapshot() == before


def test_the_same_requests_with_good_values_work(client, world, snapshot):
    """The corpus is refused for its values, not because the requests are wrong anyway."""
    r = _post_raw(client, f"/api/v1/ideas/{world['idea']}/comments",
                  f'{{"body": "Hi", "parent_id": {world["comment"]}}}', world["alice"])
    assert r.status_code == 201, r.json
    r = _post_raw(client, "/api/v1/reports", f'{{"target_type": "idea", "target_id": {world["idea"]}, '
                  '"reason": "spam"}', world["bob"])
    assert r.status_code == 201, r.json
    r = _post_raw(client, "/api/v1/notifications/read", f'{{"ids": [{world["notification"]}]}}', world["bob"])
    assert r.status_code == 200 and r.json == {"marked": 1}, r.json


def test_an_id_as_text_is_not_an_idea(client, world, snapshot):
    before = snapshot()
    for target_type in ("idea", "comment"):
        r = _post_raw(client, "/api/v1/reports", json.dumps(
            {"target_type": target_type, "target_id": str(world[target_type]), "reason": "spam"}), world["bob"])
        _assert_refused(r, "target_id")
    assert snapshot() == before


@pytest.mark.parametrize("path", ["/api/v1/ideas", "/api/v1/ideas/{idea}/comments", "/api/v1/moderation/queue",
                                  "/api/v1/moderation/appeals", "/api/v1/modlog", "/api/v1/notifications"])
def test_hostile_limits_are_refused(client, world, snapshot, path):
    path = path.format(**world)
    before = snapshot()
    for value in HOSTILE_QUERY_INTEGERS:
        response = client.get(path, query_string={"limit": value}, headers=world["mod"])
        try:
            _assert_refused(response, "limit")
        except AssertionError as error:
            raise AssertionError(f"limit={value[:30]!r}: {error}") from None
    assert client.get(path, query_string={"limit": "5"}, headers=world["mod"]).status_code == 200
    assert snapshot() == before


@pytest.mark.parametrize("path", ["/api/v1/moderation/queue", "/api/v1/modlog", "/api/v1/notifications"])
def test_hostile_numeric_cursors_are_ignored_not_overflowed(client, world, path):
    for value in (str(2**63), str(2**64), HUGE[:900], "１", "-1"):
        response = client.get(path, query_string={"cursor": value}, headers=world["mod"])
        assert response.status_code == 200, (value[:30], response.get_data(as_text=True)[:300])


def test_an_idea_cursor_carrying_a_huge_number_is_refused(client, world):
    import base64

    client.post("/api/v1/ideas", json={"title": "Night trains again", "body": "Yes."}, headers=world["bob"])
    cursor = client.get("/api/v1/ideas", query_string={"sort": "new", "limit": 1}).json["next_cursor"]
    sort, values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    assert isinstance(values[-1], int)  # the last key is the id

    def with_last(number: int) -> str:
        raw = json.dumps([sort, [*values[:-1], number]]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    assert client.get("/api/v1/ideas", query_string={"sort": "new", "cursor": with_last(values[-1])}).status_code == 200
    for number in (2**63, 2**64, -(2**63) - 1):
        r = client.get("/api/v1/ideas", query_string={"sort": "new", "cursor": with_last(number)})
        _assert_refused(r, "cursor")


# Every integer in a path, with the method that acts on it.
PATH_ROUTES = [
    ("get", "/api/v1/ideas/ID"), ("patch", "/api/v1/ideas/ID"), ("put", "/api/v1/ideas/ID/vote"),
    ("get", "/api/v1/ideas/ID/comments"), ("post", "/api/v1/ideas/ID/comments"), ("get", "/api/v1/comments/ID"),
    ("put", "/api/v1/comments/ID/vote"), ("delete", "/api/v1/me/tokens/ID"),
    ("get", "/api/v1/moderation/actions/ID"), ("post", "/api/v1/moderation/actions/ID/appeal"),
    ("post", "/api/v1/moderation/appeals/ID/decision"), ("get", "/api/v1/moderation/ideas/ID"),
    ("get", "/api/v1/modlog/ID"), ("get", "/ideas/ID"), ("post", "/ideas/ID/vote"),
]
BODIES = {"patch": {"title": "Bob was here"}, "put": {"value": "support"}, "post": {"body": "Hi", "text": "x"}}


@pytest.mark.parametrize("method, route", PATH_ROUTES, ids=[f"{m} {r}" for m, r in PATH_ROUTES])
def test_hostile_path_ids_are_404(client, world, snapshot, method, route):
    before = snapshot()
    for value in HOSTILE_PATH_IDS:
        kwargs = {"json": BODIES[method]} if method in BODIES and route.startswith("/api/") else {}
        response = getattr(client, method)(route.replace("ID", value), headers=world["mod"], **kwargs)
        assert response.status_code == 404, (value[:30], response.status_code, response.get_data(as_text=True)[:300])
        if route.startswith("/api/"):
            assert response.get_json()["code"] == 404
    assert snapshot() == before


def test_a_fullwidth_id_does_not_vote_for_idea_1(client, world, snapshot, app):
    """`/api/v1/ideas/１/vote` once stored a vote on idea 1."""
    assert world["idea"] == 1
    before = snapshot()
    r = client.put("/api/v1/ideas/%EF%BC%91/vote", json={"value": "support"}, headers=world["bob"])
    assert r.status_code == 404
    r = client.put("/api/v1/ideas/\uff11/vote", json={"value": "support"}, headers=world["bob"])
    assert r.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("label, value", HOSTILE_DATES, ids=[d[0] for d in HOSTILE_DATES])
def test_hostile_suspension_dates_are_refused(client, world, snapshot, label, value):
    before = snapshot()
    body = ('{"action": "suspend", "target_type": "member", "target_id": "bob", '
            f'"reason": "Shouting at everyone", "until": {value}}}')
    _assert_refused(_post_raw(client, "/api/v1/moderation/actions", body, world["mod"]), "until")
    assert snapshot() == before


def test_a_suspension_date_in_range_works(client, world):
    r = client.post("/api/v1/moderation/actions", json={
        "action": "suspend", "target_type": "member", "target_id": "bob", "reason": "Shouting at everyone",
        "until": "2999-01-31"}, headers=world["mod"])
    assert r.status_code == 201, r.json
    assert r.json["until"].startswith("2999-01-31T00:00:00")


@pytest.mark.parametrize("until", ["9999-12-31", "10000-01-01", "0000-01-01", "9999-12-31T23:59:59-05:00"])
def test_hostile_suspension_dates_on_the_moderation_page(app, client, world, snapshot, auth, until):
    auth.login("modmarie")
    with app.app_context():
        from coopol.accounts.services import get_member_by_handle

        bob_id = get_member_by_handle("bob").id
    before = snapshot()
    r = client.post("/moderation/actions", data={"action": "suspend", "target_type": "member",
                                                 "target_id": str(bob_id), "reason": "Shouting", "until": until})
    assert r.status_code == 422, r.status_code
    assert snapshot() == before


@pytest.mark.parametrize("target_id", ["１", "١", str(2**63), HUGE[:3000], "-1"])
def test_hostile_target_ids_on_the_moderation_page(client, world, snapshot, auth, target_id):
    auth.login("modmarie")
    before = snapshot()
    r = client.post("/moderation/actions", data={"action": "hide", "target_type": "idea", "target_id": target_id,
                                                 "reason": "Off topic"})
    assert r.status_code == 404, r.status_code
    assert snapshot() == before


def test_hostile_notification_ids_on_the_notifications_page(client, world, snapshot, auth):
    auth.login("bob")
    before = snapshot()
    for value in ("١", "１", str(2**63), HUGE[:3000]):
        assert client.post("/notifications/read", data={"id": value}).status_code in (302, 303)
    # An id that is not a number is no id: nothing is marked (not "all of them").
    assert snapshot()["read notifications"] == before["read notifications"]


DEEP_BODIES = ["[" * 100_000 + "]" * 100_000, '{"body": "Hi", "parent_id": ' + "[" * 50_000 + "]" * 50_000 + "}"]


@pytest.mark.parametrize("body", DEEP_BODIES, ids=["deep list", "deep parent_id"])
def test_a_body_nested_past_the_parsers_limit_is_a_400(client, world, snapshot, body):
    before = snapshot()
    response = _post_raw(client, f"/api/v1/ideas/{world['idea']}/comments", body, world["alice"])
    assert response.status_code == 400 and response.get_json()["code"] == 400
    assert snapshot() == before


@pytest.mark.parametrize("page", [HUGE, "9" * 30, "１", "١", "0", "-1"])
def test_hostile_collection_pages_answer_the_first_page(client, world, page):
    response = client.get(f"/ideas/{world['idea']}/replies", query_string={"page": page},
                          headers={"Accept": "application/activity+json"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.get_json()["type"] == "OrderedCollectionPage"
    assert len(response.get_json()["orderedItems"]) == 1  # the first page: alice's comment


@pytest.mark.parametrize("created", [HUGE, "１７００００００００", "١٧٠٠٠٠٠٠٠٠"])
def test_hostile_signature_timestamps_are_a_malformed_signature(created):
    from coopol.federation.signatures import MalformedSignature, SignedRequest, parse_signature

    header = f'keyId="https://ally.example/actor#main-key",signature="AAAA",headers="(created)",created={created}'
    with pytest.raises(MalformedSignature):
        parse_signature(SignedRequest("POST", "/inbox", {"signature": header}))


AP_OBJECT_PATHS = ["/ideas/{}", "/comments/{}", "/ideas/{}/replies", "/ideas/{}/likes", "/ideas/{}/dislikes",
                   "/comments/{}/likes", "/comments/{}/dislikes", "/ideas/{}/votes", "/events/{}"]


@pytest.mark.parametrize("path", AP_OBJECT_PATHS)
@pytest.mark.parametrize("value", [str(2**63), "9" * 30, "0", "١", "１"])
def test_hostile_ids_in_activitypub_paths_are_404(client, world, path, value):
    response = client.get(path.format(value), headers={"Accept": "application/activity+json"})
    assert response.status_code == 404, (path, value, response.get_data(as_text=True)[:300])


def test_our_idea_url_written_with_other_digits_names_no_idea(app, world):
    """An ally's activity about `/ideas/١` (Arabic-Indic one) is about no idea of ours, not idea 1."""
    from coopol.federation.content.resolve import LOCAL_IDEA, _local

    with app.test_request_context():
        base = app.config["URL"]
        assert _local(f"{base}/ideas/{world['idea']}", LOCAL_IDEA) == world["idea"]
        for value in ("١", "１", str(2**63)):
            assert _local(f"{base}/ideas/{value}", LOCAL_IDEA) is None, value
