"""Ideas and comments as ActivityPub objects on their own URLs; announces that are replayed or forged
change nothing (a new ally's backfill: test_backfill.py)."""

from __future__ import annotations

import uuid

import requests

from tests.federation.conftest import group_signer, signed_post
from tests.federation.content.conftest import settle
from tests.federation.content.test_travel_debate import local_id
from tests.federation.content.test_travel_ideas import publish

AP = {"Accept": "application/activity+json"}


def test_ideas_and_comments_answer_activitypub_json_and_pages_stay_html(parties):
    (a,) = parties(1)
    a.member("alice")
    idea = publish(a, "alice", scope=None)
    comment = a.api("POST", f"/ideas/{idea['id']}/comments", as_="alice", expect=201,
                    json={"body": "Agreed", "stance": "for"}).get_json()
    page = requests.get(idea["ap_id"], headers=AP, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("application/activity+json")
    doc = page.json()
    assert doc["type"] == "Page" and doc["id"] == idea["ap_id"] and doc["name"] == "Free night buses"
    assert doc["audience"] == f"{a.url}/g/ideas" and doc["attributedTo"] == f"{a.url}/u/alice"
    assert doc["lifecycle"] == "published" and doc["source"]["content"] == "Run the **night buses** for free."
    note = requests.get(comment["ap_id"], headers=AP, timeout=10).json()
    assert note["type"] == "Note" and note["inReplyTo"] == idea["ap_id"] and note["stance"] == "for"
    html = requests.get(idea["ap_id"], timeout=10)
    assert html.status_code == 200 and html.headers["Content-Type"].startswith("text/html")
    assert requests.get(f"{a.url}/ideas/999", headers=AP, timeout=10).status_code == 404
    draft = publish(a, "alice", publish=False)
    assert requests.get(draft["ap_id"], headers=AP, timeout=10).status_code == 404


def test_replayed_and_forged_announces_change_nothing(parties):
    a, b, c = parties(3)
    a.member("alice")
    b.member("bob")
    idea = publish(a, "alice")
    settle(a, b, c)
    on_b = local_id(b, idea["ap_id"])
    b.api("PUT", f"/ideas/{on_b}/vote", as_="bob", json={"value": "support"}, expect=200)
    settle(a, b, c)

    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.federation.models import OutboxActivity

    announce = a.query(lambda: next(r.payload for r in db.session.scalars(
        select(OutboxActivity).where(OutboxActivity.type == "Announce")) if r.payload["object"]["type"] == "Like"))

    def tally(party):
        return party.copy_of(idea["ap_id"])["tally"]

    before = tally(c)
    assert before["support"] == 1
    # the same announce again, and again under a new id: one person, one vote
    assert signed_post(f"{c.url}/inbox", announce, *group_signer(a)).status_code == 202
    assert signed_post(f"{c.url}/inbox", {**announce, "id": f"{a.url}/activities/{uuid.uuid4()}"},
                       *group_signer(a)).status_code == 202
    assert tally(c) == before
    # B's Group claims A's idea got an opposition from bob: B is not the idea's origin
    forged = {**announce, "id": f"{b.url}/activities/{uuid.uuid4()}", "actor": f"{b.url}/g/ideas",
              "object": {**announce["object"], "type": "Dislike", "id": f"{b.url}/activities/{uuid.uuid4()}",
                         "audience": f"{b.url}/g/ideas"}}
    assert signed_post(f"{c.url}/inbox", forged, *group_signer(b)).status_code == 422  # bob signed a Like
    unsigned = {**forged, "id": f"{b.url}/activities/{uuid.uuid4()}",
                "object": {k: v for k, v in forged["object"].items() if k != "proof"}}
    assert signed_post(f"{c.url}/inbox", unsigned, *group_signer(b)).status_code == 202  # taken, ignored
    assert tally(c) == before
    # an announce signed by A's Group key but claiming to be B's Group
    assert signed_post(f"{c.url}/inbox", forged, *group_signer(a)).status_code == 401
    # a new vote smuggled in an announce whose inner activity says it is A's while C's member voted
    smuggled = {**announce, "id": f"{a.url}/activities/{uuid.uuid4()}",
                "object": {**announce["object"], "type": "Dislike", "id": f"{a.url}/activities/{uuid.uuid4()}",
                           "actor": f"{c.url}/u/nobody"}}
    assert signed_post(f"{c.url}/inbox", smuggled, *group_signer(a)).status_code == 422  # bob's proof, not theirs
    unsigned = {**smuggled, "id": f"{a.url}/activities/{uuid.uuid4()}",
                "object": {k: v for k, v in smuggled["object"].items() if k != "proof"}}
    assert signed_post(f"{c.url}/inbox", unsigned, *group_signer(a)).status_code == 202
    assert tally(c) == before
    assert tally(a) == before
