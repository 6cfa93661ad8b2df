"""Payloads of Lemmy and Mastodon (a Page, a Note, a Like) from a scripted allied peer: accepted where
they make sense, unknown fields ignored, malformed ones acknowledged without effect, never a 500."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from coopol.federation.signatures import generate_rsa_keypair
from tests.federation.conftest import signed_post

FIXTURES = Path(__file__).parent / "fixtures"


def load(name: str, **values: str):
    text = (FIXTURES / f"{name}.json").read_text()
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return json.loads(text)


class FakeServer:
    """A Lemmy/Mastodon-like ally: serves its actors' documents and signs as any of them."""

    def __init__(self, peer, live) -> None:
        self.peer, self.keys = peer, {}
        peer.ally_of(live, group_id=f"{peer.url}/c/main", group_inbox=f"{peer.url}/c/main/inbox", name="Lemmy")
        self.actor("/c/main", "Group", "main")
        self.actor("/u/lemmy_alice", "Person", "lemmy_alice")
        self.actor("/users/masto_carol", "Person", "masto_carol")

    def actor(self, path: str, kind: str, username: str) -> None:
        private, public = generate_rsa_keypair()
        actor_id = f"{self.peer.url}{path}"
        self.keys[path] = (f"{actor_id}#main-key", private)
        self.peer.answer(path, body={
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor_id, "type": kind, "preferredUsername": username, "name": username.replace("_", " ").title(),
            "inbox": f"{actor_id}/inbox", "endpoints": {"sharedInbox": f"{self.peer.url}/inbox"},
            "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": public}},
            headers={"Content-Type": "application/activity+json"})

    def post(self, live, path: str, activity):
        return signed_post(f"{live.url}/inbox", activity, *self.keys[path])


@pytest.fixture
def setup(parties, peer):
    (us,) = parties(1)
    us.member("alice")
    return us, FakeServer(peer(), us.live)


def test_a_lemmy_page_announced_by_its_community_becomes_a_copy(setup):
    us, lemmy = setup
    activity = load("lemmy_announce_create_page", peer=lemmy.peer.url)
    assert lemmy.post(us.live, "/c/main", activity).status_code == 202
    copy = us.copy_of(f"{lemmy.peer.url}/post/42")
    assert copy["title"] == "Community gardens on every flat roof"
    assert copy["body"] == "Let us **green** the roofs of public buildings."
    assert copy["tags"] == ["gardens"] and copy["language"] == "en"
    assert copy["origin"] == {"host": lemmy.peer.host, "name": "Lemmy"}
    assert copy["author"]["handle"] == f"lemmy_alice@{lemmy.peer.host}"
    assert copy["author"]["name"] == "Lemmy Alice"
    # replayed under a new id: still one copy
    activity["id"] = f"{lemmy.peer.url}/activities/announce/{uuid.uuid4()}"
    assert lemmy.post(us.live, "/c/main", activity).status_code == 202
    assert len(us.api("GET", f"/ideas?origin={lemmy.peer.host}").get_json()["items"]) == 1


def test_a_mastodon_reply_and_like_on_our_idea_count(setup):
    us, masto = setup
    idea = us.api("POST", "/ideas", as_="alice", expect=201,
                  json={"title": "Bike lanes", "body": "Everywhere.", "publish": True}).get_json()
    values = {"peer": masto.peer.url, "us": us.url, "idea": idea["ap_id"]}
    assert masto.post(us.live, "/users/masto_carol", load("mastodon_create_note", **values)).status_code == 202
    assert masto.post(us.live, "/users/masto_carol", load("mastodon_like", **values)).status_code == 202
    assert masto.post(us.live, "/u/lemmy_alice", load("lemmy_like", **values)).status_code == 202
    (comment,) = us.comments(idea["id"])
    assert comment["body"] == "@ideas Great idea & I support it.\nCount me in."
    assert comment["stance"] == "neutral" and comment["author"]["instance"] == masto.peer.host
    tally = us.api("GET", f"/ideas/{idea['id']}", expect=200).get_json()["tally"]
    assert tally["support"] == 2 and tally["by_instance"] == {masto.peer.host: {"support": 2, "oppose": 0}}
    # what we relay to our allies: the same activities, announced by our Group
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.federation.models import OutboxActivity

    relayed = us.query(lambda: [r.payload for r in db.session.scalars(
        select(OutboxActivity).where(OutboxActivity.type == "Announce"))])
    kinds = sorted(r["object"]["type"] for r in relayed)
    # our idea's Create, the reply, two likes; and the Page boosted to fediverse followers (the outbox)
    assert kinds == ["Create", "Create", "Like", "Like", "Page"]
    assert all(r["actor"] == f"{us.url}/g/ideas" for r in relayed)


@pytest.mark.parametrize(("mutate", "copied"), [
    (lambda a: a["object"]["object"].pop("name"), True),  # no title: the text's start is the title
    (lambda a: a["object"]["object"].update(tag="#not-a-list", language=42, published="yesterday", url=[]), True),
    (lambda a: a["object"]["object"].update(attributedTo=None), False),
    (lambda a: a["object"]["object"].update(name="ab", source=None, content=""), False),
    (lambda a: a["object"].update(object="https://elsewhere.example/post/1"), False),
    (lambda a: a["object"]["object"].update(type="Video"), False),
    (lambda a: a["object"]["object"].update(audience="https://elsewhere.example/c/other"), False),
    (lambda a: a.update(object="{peer}/activities/create/1"), False),
])
def test_odd_lemmy_payloads_never_fail_and_store_only_what_is_sound(setup, mutate, copied):
    us, lemmy = setup
    activity = load("lemmy_announce_create_page", peer=lemmy.peer.url)
    mutate(activity)
    response = lemmy.post(us.live, "/c/main", activity)
    assert response.status_code in (202, 400, 403), response.text
    items = us.api("GET", f"/ideas?origin={lemmy.peer.host}", expect=200).get_json()["items"]
    assert len(items) == (1 if copied else 0)
    if copied:
        assert items[0]["body"] == "Let us **green** the roofs of public buildings."


def test_an_announce_from_a_person_of_an_ally_is_refused(setup):
    us, lemmy = setup
    activity = load("lemmy_announce_create_page", peer=lemmy.peer.url)
    activity["actor"] = f"{lemmy.peer.url}/u/lemmy_alice"
    assert lemmy.post(us.live, "/u/lemmy_alice", activity).status_code == 403
    assert us.copy_of(f"{lemmy.peer.url}/post/42") is None


def _list_moderators(lemmy: FakeServer, *paths: str) -> None:
    """The community names its moderators as Lemmy does: `attributedTo` is the URL of a collection."""
    peer = lemmy.peer
    status, headers, body = peer.routes["/c/main"]
    group = {**json.loads(body), "attributedTo": f"{peer.url}/c/main/moderators"}
    peer.answer("/c/main", body=group, headers=headers)
    peer.answer("/c/main/moderators", headers=headers, body={
        "@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.url}/c/main/moderators",
        "type": "OrderedCollection", "orderedItems": [f"{peer.url}{path}" for path in paths]})


def test_a_lemmy_moderators_ban_is_taken_from_the_moderators_the_community_lists(setup):
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.federation.models import AllyBan

    us, lemmy = setup
    peer = lemmy.peer
    _list_moderators(lemmy, "/u/lemmy_alice")
    assert lemmy.post(us.live, "/c/main", load("lemmy_announce_create_page", peer=peer.url)).status_code == 202
    on_us = us.copy_of(f"{peer.url}/post/42")["id"]
    alice = f"{us.url}/u/alice"

    def bans():
        return us.query(lambda: sorted(db.session.execute(select(AllyBan.group_host, AllyBan.actor_id, AllyBan.reason)
                                                          .where(AllyBan.lifted_at.is_(None))).all()))

    def comment(expect: int) -> None:
        us.api("POST", f"/ideas/{on_us}/comments", as_="alice", json={"body": "My two cents"}, expect=expect)

    def block(moderator: str = "lemmy_alice"):
        return load("lemmy_block_user", peer=peer.url, person=alice, moderator=moderator, id=str(uuid.uuid4()))

    def undo(moderator: str = "lemmy_alice"):
        return load("lemmy_undo_block_user", peer=peer.url, person=alice, moderator=moderator, id=str(uuid.uuid4()),
                    inner_id=str(uuid.uuid4()))  # Lemmy's Undo embeds a new Block, with its own id

    def announced(activity):
        return {"@context": "https://www.w3.org/ns/activitystreams", "type": "Announce", "actor": f"{peer.url}/c/main",
                "id": f"{peer.url}/activities/announce/{uuid.uuid4()}", "object": activity,
                "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [f"{peer.url}/c/main/followers"]}

    # a person of the ally who is not a moderator of its community cannot ban, directly or relayed
    masto = "/users/masto_carol"
    assert lemmy.post(us.live, masto, {**block(), "actor": f"{peer.url}{masto}"}).status_code == 403
    assert lemmy.post(us.live, "/c/main", announced({**block(), "actor": f"{peer.url}{masto}"})).status_code == 202
    assert bans() == []
    comment(201)

    # the moderator's Block, sent to the banned person's instance
    assert lemmy.post(us.live, "/u/lemmy_alice", block()).status_code == 202
    assert bans() == [(peer.host, alice, "spam post")]
    comment(403)
    # a lift by someone else than a moderator changes nothing
    assert lemmy.post(us.live, masto, {**undo(), "actor": f"{peer.url}{masto}"}).status_code == 403
    assert lemmy.post(us.live, "/c/main", announced({**undo(), "actor": f"{peer.url}{masto}"})).status_code == 202
    assert bans() == [(peer.host, alice, "spam post")]
    # the moderator lifts it (Lemmy's Undo names a Block with a new id)
    assert lemmy.post(us.live, "/u/lemmy_alice", undo()).status_code == 202
    assert bans() == []
    comment(201)

    # the community relays its moderator's ban to its followers, then its lifting
    assert lemmy.post(us.live, "/c/main", announced(block())).status_code == 202
    assert bans() == [(peer.host, alice, "spam post")]
    comment(403)
    assert lemmy.post(us.live, "/c/main", announced(undo())).status_code == 202
    assert bans() == []

    # a community that lists no moderators: only the community itself bans
    peer.answer("/c/main/moderators", headers={"Content-Type": "application/activity+json"}, body={
        "id": f"{peer.url}/c/main/moderators", "type": "OrderedCollection", "orderedItems": []})
    assert lemmy.post(us.live, "/u/lemmy_alice", block()).status_code == 403
    assert lemmy.post(us.live, "/c/main", {**block(), "actor": f"{peer.url}/c/main"}).status_code == 202
    assert bans() == [(peer.host, alice, "spam post")]
