"""Keyset cursors (coopol/ideas/queries.py and the id cursors of moderation lists): what we hand out
reads back, and any other cursor is a clean 422 (or ignored), never a crash."""

import base64
import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coopol.core.errors import ValidationFailed
from coopol.core.schemas import MAX_ID
from coopol.ideas.queries import _decode, _encode

INT64 = st.integers(-MAX_ID, MAX_ID)  # what an id or counter column holds on every database
MOMENTS = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9999, 1, 1), timezones=st.just(UTC))


@given(st.sampled_from(["hot", "new", "comments"]), st.lists(st.one_of(INT64, MOMENTS, st.floats(-1e300, 1e300)),
                                                              max_size=5))
def test_a_cursor_we_hand_out_reads_back(sort, values):
    kinds = ["datetime" if isinstance(v, datetime) else "float" if isinstance(v, float) else "int" for v in values]
    assert _decode(_encode(sort, values), sort, kinds) == values


def _b64(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30),
              st.just("2026-01-01T00:00:00"), st.just("9999-12-31T23:59:59+14:00"), st.just(2**70)),
    lambda inner: st.lists(inner, max_size=4), max_leaves=8)
SHAPED = st.tuples(st.sampled_from(["hot", "new", "top", "comments", "relevance", "x"]),
                   st.lists(JSON_VALUES, max_size=5)).map(lambda pair: _b64(list(pair)))
DIGITS = st.one_of(st.integers(0, 10**30).map(str), st.text(alphabet="0123456789²³١٢٣߀", min_size=1, max_size=25))
CURSORS = st.one_of(st.text(max_size=60), SHAPED, DIGITS, JSON_VALUES.map(_b64), st.just("NaN"),
                    st.just(_b64(["new", [float("nan"), 1]]).replace("=", "")))


@given(CURSORS, st.sampled_from([["int", "datetime", "int"], ["datetime", "int"], ["int", "float", "int"]]))
def test_any_other_cursor_is_a_validation_error(cursor, kinds):
    try:
        values = _decode(cursor, "new", kinds)
    except ValidationFailed:
        return
    assert len(values) == len(kinds)


@pytest.fixture
def lists(app, create_member, token_for):
    from coopol.accounts.services import get_member_by_handle
    from coopol.core.uow import unit_of_work
    from coopol.ideas.services import create_idea

    create_member("mod", role="moderator")
    create_member("ana")
    with app.app_context(), unit_of_work():
        idea = create_idea(get_member_by_handle("ana"), title="Cheaper trains", body="Please.", publish=True).id
    return app.test_client(), idea, token_for("mod"), token_for("ana")


@settings(max_examples=40)
@given(cursor=CURSORS)
def test_no_list_crashes_on_a_cursor(lists, cursor):
    client, idea, moderator, member = lists
    for sort in ("hot", "new", "top"):
        _check(client.get("/api/v1/ideas", query_string={"cursor": cursor, "sort": sort}, headers=member))
    for path, headers in ((f"/api/v1/ideas/{idea}/comments", member), ("/api/v1/modlog", {}),
                          ("/api/v1/notifications", member), ("/api/v1/moderation/queue", moderator)):
        _check(client.get(path, query_string={"cursor": cursor}, headers=headers))


def _check(response):
    assert response.status_code in (200, 400, 422), (response.status_code, response.get_data(as_text=True)[:300])
    if response.status_code != 200:
        body = response.get_json()
        assert set(body) == {"code", "status", "message", "errors"}
