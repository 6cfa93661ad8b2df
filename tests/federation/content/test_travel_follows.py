"""Notifications across allies: following an ally's member (their new idea in my feed), a reply from an
ally's member to my comment, a mention of an ally's member (tagged `Mention`, told on their instance)."""

from __future__ import annotations

from sqlalchemy import select

from coopol.extensions import db
from coopol.federation.models import OutboxActivity
from tests.federation.content.conftest import settle
from tests.federation.content.test_travel_ideas import publish


def test_follow_reply_and_mention_across_allies(parties):
    a, b = parties(2)
    a.member("ana")
    b.member("bob")
    first = publish(b, "bob")
    settle(a, b)
    remote = f"bob@{b.host}"
    assert a.api("PUT", f"/members/{remote}/follow", as_="ana", expect=200).get_json()["following"] is True
    assert a.api("PUT", "/members/bob@not-allied.example/follow", as_="ana", expect=422).get_json()["errors"][
        "handle"]
    follows = a.query(lambda: [row.payload for row in db.session.scalars(
        select(OutboxActivity).where(OutboxActivity.type == "Follow", OutboxActivity.actor.like("%/u/ana")))])
    assert [f["object"] for f in follows] == [f"{b.url}/u/bob"]
    settle(a, b)
    second = publish(b, "bob")
    settle(a, b)
    feed = a.api("GET", "/feed", as_="ana", expect=200).get_json()["items"]
    copy_id = a.copy_of(second["ap_id"])["id"]
    assert [(i["kind"], i["object"]["id"]) for i in feed][:1] == [("idea", copy_id)]

    # ana comments on her copy of bob's first idea; bob replies from B: ana is told on A
    on_a = a.copy_of(first["ap_id"])["id"]
    a.api("POST", f"/ideas/{on_a}/comments", as_="ana", expect=201,
                 json={"body": f"Good one, @bob@{b.host}!", "stance": "for"}).get_json()
    settle(a, b)
    mine_on_b = next(c for c in b.comments(first["id"]) if c["body"].startswith("Good one"))
    assert "/members/bob" in b.api("GET", f"/ideas/{first['id']}/comments").get_json()["items"][0]["body_html"]
    b.api("POST", f"/ideas/{first['id']}/comments", as_="bob", expect=201,
          json={"body": "Thanks!", "stance": "neutral", "parent_id": mine_on_b["id"]})
    settle(a, b)
    ana = a.api("GET", "/notifications?unread=true", as_="ana", expect=200).get_json()
    assert [n["kind"] for n in ana["items"]] == ["reply"] and ana["unread"] == 1
    bob = b.api("GET", "/notifications", as_="bob", expect=200).get_json()["items"]
    kinds = [n["kind"] for n in bob]
    assert kinds.count("mention") == 1 and "comment" in kinds, kinds
