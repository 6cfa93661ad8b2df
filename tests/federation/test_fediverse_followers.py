"""Issue 15, "followers are not allies": a Mastodon-shaped and a Fedify-shaped peer (stub servers that sign
with third-party libraries: `httpsig` for draft-cavage as Mastodon does, `requests-http-signature` for
RFC 9421 as Fedify can) follow the party's Group, receive a new idea as an `Announce` (one delivery per
shared inbox) and unfollow; a follower's reply lands in the moderation queue, its like is counted apart;
an ally is what it was."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from email.utils import formatdate
from urllib.parse import urlsplit

import httpsig
import pytest
import requests
import requests_http_signature
from http_message_signatures import algorithms

from tests.federation.conftest import applied, run_handshake
from tests.federation.content.conftest import Party, settle

AS = "https://www.w3.org/ns/activitystreams"


class FediversePeer:
    """A stub Mastodon or Fedify server (a `ScriptedPeer`): serves its persons' actor documents, records
    what reaches its inboxes, and posts signed activities as its flavour of server signs them."""

    def __init__(self, scripted, flavour: str) -> None:
        from coopol.federation.signatures import generate_rsa_keypair

        self.peer, self.flavour, self.keys = scripted, flavour, {}
        self.peer.answer("/inbox", 202)
        self.generate = generate_rsa_keypair

    @property
    def url(self) -> str:
        return self.peer.url

    def person(self, name: str) -> str:
        private, public = self.generate()
        actor = f"{self.url}/users/{name}"
        self.keys[actor] = private
        context = [AS, "https://w3id.org/security/v1"]
        if self.flavour == "fedify":  # Fedify adds its extension contexts and a Multikey
            context += ["https://w3id.org/security/data-integrity/v1", {"toot": "http://joinmastodon.org/ns#"}]
        document = {"@context": context, "id": actor, "type": "Person", "preferredUsername": name, "name": name.title(),
                    "inbox": f"{actor}/inbox", "outbox": f"{actor}/outbox", "followers": f"{actor}/followers",
                    "endpoints": {"sharedInbox": f"{self.url}/inbox"},
                    "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": public}}
        if self.flavour == "mastodon":
            document.update(manuallyApprovesFollowers=False, discoverable=True,
                            featured=f"{actor}/collections/featured")
        self.peer.answer(urlsplit(actor).path, 200, document,
                         headers={"Content-Type": "application/activity+json"})
        self.peer.answer(f"{urlsplit(actor).path}/inbox", 202)
        return actor

    def post(self, url: str, activity: dict) -> requests.Response:
        actor = activity["actor"]
        body = json.dumps(activity).encode()
        key_id, pem = f"{actor}#main-key", self.keys[actor]
        if self.flavour == "mastodon":  # draft-cavage rsa-sha256 over (request-target) host date digest
            parts = urlsplit(url)
            signer = httpsig.HeaderSigner(key_id, pem, algorithm="rsa-sha256", sign_header="signature",
                                          headers=["(request-target)", "host", "date", "digest", "content-type"])
            headers = signer.sign({"Host": parts.netloc, "Date": formatdate(usegmt=True),
                                   "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
                                   "Content-Type": "application/activity+json"}, method="POST", path=parts.path)
            return applied(url, requests.post(url, data=body, headers=headers, timeout=10))
        auth = requests_http_signature.HTTPSignatureAuth(  # Fedify: RFC 9421 with Content-Digest
            signature_algorithm=algorithms.RSA_V1_5_SHA256, key=pem.encode(), key_id=key_id,
            covered_component_ids=("@method", "@authority", "@target-uri", "content-digest"))
        return applied(url, requests.post(url, data=body, auth=auth, timeout=10,
                                          headers={"Content-Type": "application/activity+json"}))

    def follow(self, actor: str, group: str) -> dict:
        follow = {"@context": AS, "id": f"{self.url}/{uuid.uuid4()}", "type": "Follow", "actor": actor, "object": group}
        response = self.post(f"{group}/inbox", follow)
        assert response.status_code == 202, response.text
        return follow

    def unfollow(self, follow: dict) -> None:
        undo = {"@context": AS, "id": f"{follow['id']}/undo", "type": "Undo", "actor": follow["actor"],
                "object": {k: v for k, v in follow.items() if k != "@context"}}
        response = self.post(f"{follow['object']}/inbox", undo)
        assert response.status_code == 202, response.text

    def received(self, path: str | None = None) -> list[dict]:
        return [json.loads(r["body"]) for r in self.peer.received
                if r["method"] == "POST" and (path is None or r["path"] == path)]


@pytest.fixture
def fediverse(peer):
    def factory(flavour: str) -> FediversePeer:
        return FediversePeer(peer(), flavour)

    return factory


def _party(instance, name: str = "a", **config) -> Party:
    party = Party(instance(name, **config))
    party.member("alice")
    party.member("amod", role="moderator")
    return party


def _publish(party: Party, title: str = "Free night buses") -> dict:
    return party.api("POST", "/ideas", as_="alice", expect=201,
                     json={"title": title, "body": "Run the **night buses** for free.", "publish": True}).get_json()


def _followers(party: Party) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.federation.models import Follower

    return party.query(lambda: [(r.actor_id, r.state)
                                for r in db.session.scalars(select(Follower).order_by(Follower.id))])


def test_mastodon_and_fedify_follow_receive_one_announce_per_shared_inbox_and_unfollow(instance, fediverse):
    a = _party(instance)
    group = f"{a.url}/g/ideas"
    masto, fedify = fediverse("mastodon"), fediverse("fedify")
    alice, bob, carol = masto.person("alice"), masto.person("bob"), fedify.person("carol")
    follows = {actor: peer.follow(actor, group) for peer, actor in ((masto, alice), (masto, bob), (fedify, carol))}
    settle(a)
    for peer, actor in ((masto, alice), (masto, bob), (fedify, carol)):
        accepts = [r for r in peer.received(f"{urlsplit(actor).path}/inbox") if r["type"] == "Accept"]
        assert len(accepts) == 1 and accepts[0]["actor"] == group
        assert accepts[0]["object"]["id"] == follows[actor]["id"] and accepts[0]["object"]["actor"] == actor
    assert _followers(a) == [(alice, "accepted"), (bob, "accepted"), (carol, "accepted")]
    assert a.query(lambda: _ally_count()) == 0  # followers are not allies

    idea = _publish(a)
    settle(a)
    for peer in (masto, fedify):
        announces = [r for r in peer.received("/inbox") if r["type"] == "Announce"]
        assert len(announces) == 1  # one delivery per shared inbox, however many follow there
        boosted = announces[0]["object"]
        assert announces[0]["actor"] == group and "https://www.w3.org/ns/activitystreams#Public" in announces[0]["to"]
        assert boosted["type"] == "Page" and boosted["id"] == idea["ap_id"] and boosted["name"] == "Free night buses"
        assert boosted["language"] == {"identifier": "en", "name": "English"} and boosted["sensitive"] is False

    masto.unfollow(follows[alice])
    fedify.unfollow(follows[carol])
    settle(a)
    assert _followers(a) == [(alice, "revoked"), (bob, "accepted"), (carol, "revoked")]
    _publish(a, "Bike lanes everywhere")
    settle(a)
    assert len([r for r in masto.received("/inbox") if r["type"] == "Announce"]) == 2  # bob still follows
    assert len([r for r in fedify.received("/inbox") if r["type"] == "Announce"]) == 1  # nobody left there

    # an official answer reaches followers as an Announce of the Update
    a.api("POST", f"/ideas/{idea['id']}/answer", as_="amod", expect=200,
          json={"state": "evaluating", "answer": "On the congress agenda."})
    settle(a)
    update = [r["object"] for r in masto.received("/inbox") if r["type"] == "Announce"][-1]
    assert update["type"] == "Update" and update["object"]["id"] == idea["ap_id"]
    assert update["object"]["answer"] == "On the congress agenda." and update["object"]["lifecycle"] == "evaluating"

    # the Group's outbox is public and paged, with no ally at all
    client = a.app.test_client()
    accept = {"Accept": "application/activity+json"}
    outbox = client.get("/g/ideas/outbox", headers=accept).json
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 3
    page = client.get(outbox["first"].removeprefix(a.url), headers=accept).json
    assert [item["object"]["type"] for item in page["orderedItems"]] == ["Update", "Page", "Page"]
    assert [item["object"]["name"] for item in page["orderedItems"][1:]] == ["Bike lanes everywhere",
                                                                              "Free night buses"]


def _ally_count() -> int:
    from sqlalchemy import func, select

    from coopol.extensions import db
    from coopol.federation.models import Ally

    return db.session.scalar(select(func.count()).select_from(Ally))


def test_approval_holds_the_follow_until_an_admin_approves(instance, fediverse):
    a = _party(instance, FEDIVERSE_FOLLOWERS="approval")
    masto = fediverse("mastodon")
    alice, bob = masto.person("alice"), masto.person("bob")
    masto.follow(alice, f"{a.url}/g/ideas")
    masto.follow(bob, f"{a.url}/g/ideas")
    settle(a)
    assert masto.received() == [] and _followers(a) == [(alice, "pending"), (bob, "pending")]
    assert a.app.test_client().get("/g/ideas", headers={"Accept": "application/activity+json"}).json[
        "manuallyApprovesFollowers"] is True

    runner = a.app.test_cli_runner()
    from coopol.federation.cli import followers

    listed = runner.invoke(followers, ["list"])
    assert listed.exit_code == 0 and alice in listed.output and "pending" in listed.output
    assert runner.invoke(followers, ["approve", alice]).exit_code == 0
    assert runner.invoke(followers, ["reject", bob]).exit_code == 0
    settle(a)
    assert [r["type"] for r in masto.received("/users/alice/inbox")] == ["Accept"]
    assert [r["type"] for r in masto.received("/users/bob/inbox")] == ["Reject"]
    again = runner.invoke(followers, ["approve", bob])
    assert again.exit_code != 0 and "not waiting" in again.output

    # an admin removes a follower: it is told (Reject) and receives nothing more
    assert runner.invoke(followers, ["revoke", alice]).exit_code == 0
    _publish(a)
    settle(a)
    assert [r["type"] for r in masto.received("/users/alice/inbox")] == ["Accept", "Reject"]
    assert not [r for r in masto.received("/inbox") if r["type"] == "Announce"]


def test_off_answers_reject(instance, fediverse):
    a = _party(instance, FEDIVERSE_FOLLOWERS="off")
    fedify = fediverse("fedify")
    carol = fedify.person("carol")
    fedify.follow(carol, f"{a.url}/g/ideas")
    settle(a)
    assert [r["type"] for r in fedify.received("/users/carol/inbox")] == ["Reject"]
    assert _followers(a) == [(carol, "rejected")]


def test_a_followers_reply_is_held_for_moderation_and_its_like_counted_apart(instance, fediverse):
    a = _party(instance)
    masto = fediverse("mastodon")
    alice = masto.person("alice")
    masto.follow(alice, f"{a.url}/g/ideas")
    settle(a)
    idea = _publish(a)
    note = {"id": f"{masto.url}/users/alice/statuses/1", "type": "Note", "attributedTo": alice,
            "inReplyTo": idea["ap_id"], "content": "<p>Yes, and on Sundays too!</p>", "to": [f"{AS}#Public"]}
    reply = {"@context": AS, "id": f"{note['id']}/activity", "type": "Create", "actor": alice, "object": note}
    assert masto.post(f"{a.url}/inbox", reply).status_code == 202
    like = {"@context": AS, "id": f"{masto.url}/users/alice#likes/1", "type": "Like", "actor": alice,
            "object": idea["ap_id"]}
    assert masto.post(f"{a.url}/inbox", like).status_code == 202

    # the reply waits in the moderation queue, hidden
    queue = a.api("GET", "/moderation/queue", as_="amod", expect=200).get_json()["items"]
    assert len(queue) == 1 and queue[0]["target_type"] == "comment"
    comment_id = queue[0]["target_id"]
    assert "fediverse" in queue[0]["reports"][0]["text"]
    assert a.api("GET", f"/ideas/{idea['id']}", expect=200).get_json()["comment_count"] in (0, 1)
    shown = a.app.test_client().get(f"/ideas/{idea['id']}").get_data(as_text=True)
    assert "on Sundays too" not in shown

    # its like: counted apart, never in the party tally
    view = a.api("GET", f"/ideas/{idea['id']}", expect=200).get_json()
    assert view["tally"]["support"] == 0 and view["tally"]["by_instance"] == {}
    assert view["fediverse_votes"] == {"support": 1, "oppose": 0}
    assert "1 from the fediverse" in shown
    unlike = {"@context": AS, "id": f"{like['id']}/undo", "type": "Undo", "actor": alice,
              "object": {k: v for k, v in like.items() if k != "@context"}}
    assert masto.post(f"{a.url}/inbox", unlike).status_code == 202
    assert a.api("GET", f"/ideas/{idea['id']}", expect=200).get_json()["fediverse_votes"]["support"] == 0

    # a moderator approves it (dismisses the hold): shown, from the fediverse
    a.api("POST", "/moderation/actions", as_="amod", expect=201,
          json={"action": "dismiss", "target_type": "comment", "target_id": comment_id, "reason": "fine"})
    shown = a.app.test_client().get(f"/ideas/{idea['id']}").get_data(as_text=True)
    assert "on Sundays too" in shown and "from the fediverse" in shown


def test_replies_off_are_ignored_and_a_non_follower_is_refused(instance, fediverse):
    from coopol.federation.models import InboxItem
    from coopol.ideas.models import Comment

    a = _party(instance, FEDIVERSE_REPLIES="off")
    masto = fediverse("mastodon")
    alice, stranger = masto.person("alice"), masto.person("stranger")
    masto.follow(alice, f"{a.url}/g/ideas")
    settle(a)
    idea = _publish(a)

    def reply(actor: str, n: int) -> dict:
        note = {"id": f"{actor}/statuses/{n}", "type": "Note", "attributedTo": actor, "inReplyTo": idea["ap_id"],
                "content": "<p>hello</p>"}
        return {"@context": AS, "id": f"{note['id']}/activity", "type": "Create", "actor": actor, "object": note}

    assert masto.post(f"{a.url}/inbox", reply(alice, 1)).status_code == 202
    assert a.live.count(Comment) == 0
    refused = masto.post(f"{a.url}/inbox", reply(stranger, 2))
    assert refused.status_code == 403 and "not an ally" in refused.json()["message"]
    # a follower may reply and like, nothing more: a moderation activity is refused
    lock = {"@context": AS, "id": f"{alice}#lock/1", "type": "Lock", "actor": alice, "object": idea["ap_id"]}
    assert masto.post(f"{a.url}/inbox", lock).status_code == 403
    assert a.live.count(InboxItem) == 2  # alice's Follow, her Create (ignored), nothing else


def test_an_ally_is_what_it_was_and_gets_no_followers_content(instance, fediverse):
    a, b = _party(instance, "a"), Party(instance("b"))
    run_handshake(a.live, b.live)
    masto = fediverse("mastodon")
    alice = masto.person("alice")
    masto.follow(alice, f"{a.url}/g/ideas")
    settle(a, b)
    assert _followers(a) == [(alice, "accepted")] and a.live.ally_row(b.host).is_allied
    idea = _publish(a)
    settle(a, b)
    copy = b.copy_of(idea["ap_id"])
    assert copy is not None and copy["title"] == "Free night buses"  # the ally's Announce(Create) as before
    like = {"@context": AS, "id": f"{masto.url}/users/alice#likes/9", "type": "Like", "actor": alice,
            "object": idea["ap_id"]}
    assert masto.post(f"{a.url}/inbox", like).status_code == 202
    settle(a, b)
    assert b.copy_of(idea["ap_id"])["tally"]["support"] == 0  # nothing of a follower travels to allies
    assert a.api("GET", f"/ideas/{idea['id']}", expect=200).get_json()["tally"]["support"] == 0
    # the ally's Group is not listed as a fediverse follower; both are counted in the followers collection
    followers = a.app.test_client().get("/g/ideas/followers", headers={"Accept": "application/activity+json"}).json
    assert followers["orderedItems"] == [f"{b.url}/g/ideas"] and followers["totalItems"] == 2

    # an ally's gathering copied on b is not boosted to b's followers: only its origin announces it
    fedify = fediverse("fedify")
    carol = fedify.person("carol")
    fedify.follow(carol, f"{b.url}/g/ideas")
    settle(a, b)
    event = _gathering(a, "Night bus rally")
    settle(a, b)
    from sqlalchemy import select

    from coopol.events.models import Event
    from coopol.extensions import db

    assert b.query(lambda: db.session.scalar(select(Event.id).where(Event.ap_id == event["ap_id"]))) is not None
    assert [r["object"]["id"] for r in _announces(masto) if r["object"]["type"] == "Event"] == [event["ap_id"]]
    assert _announces(fedify) == []


def test_group_and_person_documents_carry_what_mastodon_lemmy_and_fedify_show(instance):
    a = _party(instance)
    client = a.app.test_client()
    accept = {"Accept": "application/activity+json"}
    group = client.get("/g/ideas", headers=accept).json
    assert group["icon"]["url"] == f"{a.url}/logo" and group["endpoints"]["sharedInbox"] == f"{a.url}/inbox"
    assert group["published"] and "summary" in group and group["manuallyApprovesFollowers"] is False
    moderators = client.get(group["attributedTo"].removeprefix(a.url), headers=accept).json
    assert moderators["id"] == group["attributedTo"] and moderators["orderedItems"] == [f"{a.url}/u/amod"]
    idea = _publish(a)
    featured = client.get(group["featured"].removeprefix(a.url), headers=accept).json
    assert featured["totalItems"] == 0  # pinned ideas only
    a.api("POST", "/moderation/actions", as_="amod", expect=201,
          json={"action": "pin", "target_type": "idea", "target_id": idea["id"], "reason": "our priority"})
    featured = client.get(group["featured"].removeprefix(a.url), headers=accept).json
    assert [page["id"] for page in featured["orderedItems"]] == [idea["ap_id"]]
    person = client.get("/u/alice", headers=accept).json
    for name in ("followers", "following", "outbox"):
        collection = client.get(person[name].removeprefix(a.url), headers=accept)
        assert collection.status_code == 200 and collection.json["id"] == person[name]


def _gathering(party: Party, title: str, **fields) -> dict:
    from datetime import UTC, datetime, timedelta

    start = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    body = {"title": title, "description": "Bring **banners**.", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(), "timezone": "Europe/Paris", "mode": "hybrid",
            "place": {"name": "Town hall"}, "online_url": "https://meet.example/secret", "publish": True, **fields}
    return party.api("POST", "/events", as_="alice", json=body, expect=201).get_json()


def _announces(peer: FediversePeer) -> list[dict]:
    return [r for r in peer.received("/inbox") if r["type"] == "Announce"]


def test_gatherings_reach_the_partys_followers_and_a_groups_own_followers(instance, fediverse):
    from tests.federation.groups.conftest import make_group

    a = _party(instance)
    make_group(a, "alice", slug="night-buses")
    party_group, local_group = f"{a.url}/g/ideas", f"{a.url}/groups/night-buses"
    masto, fedify = fediverse("mastodon"), fediverse("fedify")
    alice = masto.person("alice")
    carol, dave = fedify.person("carol"), fedify.person("dave")
    masto.follow(alice, party_group)
    for actor in (carol, dave):  # two followers of the group on one server
        fedify.follow(actor, local_group)
    settle(a)
    for actor in (carol, dave):
        accepts = [r for r in fedify.received(f"{urlsplit(actor).path}/inbox") if r["type"] == "Accept"]
        assert [r["actor"] for r in accepts] == [local_group]

    hosted = _gathering(a, "Night bus rally", group="night-buses")
    settle(a)
    # the party Group's follower: an Announce of the Event, without the online link
    (boost,) = _announces(masto)
    assert boost["actor"] == party_group and "https://www.w3.org/ns/activitystreams#Public" in boost["to"]
    assert boost["object"]["type"] == "Event" and boost["object"]["id"] == hosted["ap_id"]
    assert boost["object"]["name"] == "Night bus rally" and "secret" not in json.dumps(boost)
    # the group's own followers: one Announce by the group's actor, one delivery for the shared inbox
    (boost,) = _announces(fedify)
    assert boost["actor"] == local_group and boost["cc"] == [f"{local_group}/followers"]
    assert boost["object"]["type"] == "Event" and boost["object"]["id"] == hosted["ap_id"]
    assert boost["object"]["attributedTo"] == local_group and "secret" not in json.dumps(boost)

    # a gathering the group does not host, and an idea: the party's followers only
    _gathering(a, "Bike lanes picnic")
    _publish(a)
    settle(a)
    assert sorted(r["object"]["type"] for r in _announces(masto)) == ["Event", "Event", "Page"]
    assert len(_announces(fedify)) == 1

    client = a.app.test_client()
    accept = {"Accept": "application/activity+json"}
    assert client.get("/groups/night-buses/followers", headers=accept).json["totalItems"] == 2
    outbox = client.get("/groups/night-buses/outbox", headers=accept).json
    assert [item["object"]["id"] for item in outbox["orderedItems"]] == [hosted["ap_id"]]
