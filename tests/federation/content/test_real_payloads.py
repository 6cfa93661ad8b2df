"""Real payloads that Lemmy publishes in its own repository (tests/federation/fixtures/lemmy, see SOURCES.md),
posted end to end through a signed inbox request from scripted peers, each handled as Lemmy means it.

`community.test` is the allied Lemmy (home of the community `c/main`), `third.test` another Lemmy instance
whose users post in that community: each is replaced by a live scripted peer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from coopol.extensions import db
from coopol.federation.models import InboxItem
from coopol.federation.signatures import generate_rsa_keypair
from coopol.ideas.models import Comment, Idea, IdeaVote
from tests.federation.conftest import signed_post

FIXTURES = Path(__file__).parent.parent / "fixtures" / "lemmy"
AP = {"Content-Type": "application/activity+json"}
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


class Lemmy:
    """The allied Lemmy (`community.test`) and a third Lemmy instance (`third.test`): they serve their
    actors' documents and sign as any of them."""

    def __init__(self, peer, live) -> None:
        self.ally, self.third, self.keys = peer(), peer(), {}
        self.ally.ally_of(live, group_id=f"{self.ally.url}/c/main", group_inbox=f"{self.ally.url}/c/main/inbox",
                          name="Lemmy")
        self.actor(self.ally, "/c/main", "Group", "main")
        for name in ("lemmy_alpha", "lemmy_beta", "lemmy_gamma"):
            self.actor(self.ally, f"/u/{name}", "Person", name)
        self.actor(self.third, "/u/lemmy_alpha", "Person", "lemmy_alpha")
        self.moderators("lemmy_alpha", "lemmy_beta")

    def actor(self, peer, path: str, kind: str, username: str, headers: dict[str, str] | None = None) -> None:
        private, public = generate_rsa_keypair()
        actor_id = f"{peer.url}{path}"
        self.keys[actor_id] = (f"{actor_id}#main-key", private)
        body = {"@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "id": actor_id, "type": kind, "preferredUsername": username, "name": username.replace("_", " ").title(),
                "inbox": f"{actor_id}/inbox", "endpoints": {"sharedInbox": f"{peer.url}/inbox"},
                "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": public}}
        if kind == "Group":
            body["attributedTo"] = f"{actor_id}/moderators"  # as Lemmy does
        peer.answer(path, body=body, headers=headers or AP)

    def moderators(self, *names: str) -> None:
        url = f"{self.ally.url}/c/main/moderators"
        self.ally.answer("/c/main/moderators", headers=AP, body={
            "@context": "https://www.w3.org/ns/activitystreams", "id": url, "type": "OrderedCollection",
            "orderedItems": [f"{self.ally.url}/u/{name}" for name in names]})

    def load(self, name: str, *, single: bool = True, **swap: str) -> dict:
        """A fixture with the test hosts replaced (`single`: both are the ally, one Lemmy as in most of
        Lemmy's samples' scenarios), then the ids in `swap` (old: new) replaced."""
        text = (FIXTURES / f"{name}.json").read_text()
        text = text.replace("http://community.test", self.ally.url)
        text = text.replace("http://third.test", self.ally.url if single else self.third.url)
        text = text.replace("@third.test", "@" + (self.ally.host if single else self.third.host))
        for old, new in swap.items():
            text = text.replace(f'"{old}"', json.dumps(new))
        return json.loads(text)

    def post(self, live, activity: dict, as_: str | None = None):
        actor = as_ or activity["actor"]
        return signed_post(f"{live.url}/inbox", activity, *self.keys[actor])

    def announce(self, inner: dict, suffix: str = "1") -> dict:
        return {"@context": "https://www.w3.org/ns/activitystreams", "type": "Announce",
                "actor": f"{self.ally.url}/c/main", "object": inner, "to": [PUBLIC],
                "cc": [f"{self.ally.url}/c/main/followers"],
                "id": f"{self.ally.url}/activities/announce/{inner['id'].rsplit('/', 1)[-1]}-{suffix}"}


@pytest.fixture
def lemmy(parties, peer):
    (us,) = parties(1)
    us.member("alice")
    return us, Lemmy(peer, us.live)


def _idea(us, ap_id: str) -> Idea | None:
    def read():
        idea = db.session.scalar(select(Idea).where(Idea.ap_id == ap_id))
        if idea is not None:
            db.session.expunge(idea)
        return idea

    return us.query(read)


def _comment(us, ap_id: str) -> Comment | None:
    def read():
        comment = db.session.scalar(select(Comment).where(Comment.ap_id == ap_id))
        if comment is not None:
            db.session.expunge(comment)
        return comment

    return us.query(read)


def _ally_post(us, lemmy: Lemmy) -> str:
    """The ally's post 1 (Lemmy's update_page sample: an Update of a post we never saw) copied here."""
    page = lemmy.load("update_page")
    assert lemmy.post(us.live, page).status_code == 202
    assert _idea(us, page["object"]["id"]) is not None
    return page["object"]["id"]


def _item(us, ap_id: str) -> tuple[str, str]:
    return us.query(lambda: tuple(db.session.execute(select(InboxItem.state, InboxItem.last_error)
                                                     .where(InboxItem.ap_id == ap_id)).one()))


# ----------------------------------------------------------------------------------- votes


def test_lemmys_undo_of_a_dislike_embeds_a_like_and_removes_the_vote(lemmy):
    us, lemmy = lemmy
    idea = us.api("POST", "/ideas", as_="alice", expect=201,
                  json={"title": "Bike lanes", "body": "Everywhere.", "publish": True}).get_json()
    swap = {f"{lemmy.ally.url}/post/1": idea["ap_id"]}
    dislike = lemmy.load("dislike_page", **swap)
    assert lemmy.post(us.live, dislike).status_code == 202
    assert us.api("GET", f"/ideas/{idea['id']}", expect=200).get_json()["tally"]["oppose"] == 1
    undo = lemmy.load("undo_dislike_page", **swap)
    assert undo["object"]["type"] == "Like"  # what Lemmy sends to take a Dislike back
    assert lemmy.post(us.live, undo).status_code == 202
    tally = us.api("GET", f"/ideas/{idea['id']}", expect=200).get_json()["tally"]
    assert tally["oppose"] == 0 and tally["support"] == 0
    assert us.live.count(IdeaVote) == 0
    # again: there is no vote left to undo, acknowledged and recorded as ignored
    again = {**undo, "id": undo["id"] + "-again"}
    assert lemmy.post(us.live, again).status_code == 202
    assert _item(us, again["id"])[0] == "ignored"


def test_lemmys_undo_of_a_like_on_a_comment_removes_the_vote(lemmy):
    us, lemmy = lemmy
    post = _ally_post(us, lemmy)
    note = lemmy.load("create_note")
    assert lemmy.post(us.live, note).status_code == 202
    comment = _comment(us, note["object"]["id"])
    like = {**lemmy.load("undo_like_note")["object"], "@context": "https://www.w3.org/ns/activitystreams"}
    assert lemmy.post(us.live, like).status_code == 202
    assert _comment(us, note["object"]["id"]).up_count == 1
    assert lemmy.post(us.live, lemmy.load("undo_like_note")).status_code == 202
    assert _comment(us, note["object"]["id"]).up_count == 0 and comment.idea_id == _idea(us, post).id


# ------------------------------------------------------------------------------ moderation


def test_a_lock_by_a_moderator_the_community_lists_locks_and_its_undo_unlocks(lemmy):
    us, lemmy = lemmy
    post = _ally_post(us, lemmy)
    swap = {f"{lemmy.ally.url}/post/2": post}
    # someone the community does not list as a moderator: nothing happens
    stranger = lemmy.load("lock_page", **swap)
    stranger.update(actor=f"{lemmy.ally.url}/u/lemmy_gamma", id=stranger["id"] + "-gamma")
    assert lemmy.post(us.live, stranger).status_code == 202
    assert not _idea(us, post).is_locked and _item(us, stranger["id"])[0] == "ignored"
    lock = lemmy.load("lock_page", **swap)
    assert lemmy.post(us.live, lock).status_code == 202
    assert _idea(us, post).is_locked
    undo = lemmy.load("undo_lock_page", **swap)
    undo["id"] = f"{lemmy.ally.url}/activities/undo/unlock-1"  # Lemmy's sample has none
    assert lemmy.post(us.live, undo).status_code == 202
    assert not _idea(us, post).is_locked
    # relayed by the community (Lemmy announces its moderators' actions to the followers)
    relayed = {**lock, "id": lock["id"] + "-relayed"}
    assert lemmy.post(us.live, lemmy.announce(relayed)).status_code == 202
    assert _idea(us, post).is_locked


def test_a_comment_removal_by_a_moderator_and_its_undo(lemmy):
    us, lemmy = lemmy
    _ally_post(us, lemmy)
    note = lemmy.load("create_note")
    assert lemmy.post(us.live, note).status_code == 202
    comment_id = note["object"]["id"]
    remove = lemmy.load("remove_note")
    assert remove["summary"] == "bad comment" and remove["actor"].endswith("/u/lemmy_beta")
    stranger = {**remove, "actor": f"{lemmy.ally.url}/u/lemmy_gamma", "id": remove["id"] + "-gamma"}
    assert lemmy.post(us.live, stranger).status_code == 202
    assert not _comment(us, comment_id).is_removed
    assert lemmy.post(us.live, remove).status_code == 202
    assert _comment(us, comment_id).is_removed
    assert lemmy.post(us.live, lemmy.load("undo_remove_note")).status_code == 202
    assert not _comment(us, comment_id).is_removed


def test_an_author_restores_the_post_they_deleted_but_not_a_moderators_removal(lemmy):
    us, lemmy = lemmy
    lemmy.moderators("lemmy_beta")  # the author is not a moderator
    post = _ally_post(us, lemmy)
    undo = lemmy.load("undo_delete_page")
    delete = {**undo["object"], "@context": "https://www.w3.org/ns/activitystreams"}  # Lemmy's own Delete
    assert lemmy.post(us.live, delete).status_code == 202
    assert _idea(us, post).is_removed
    assert lemmy.post(us.live, undo).status_code == 202
    assert not _idea(us, post).is_removed
    # a moderator removes it: its author cannot undo that
    removal = {**delete, "actor": f"{lemmy.ally.url}/u/lemmy_beta", "summary": "off topic",
               "id": delete["id"] + "-mod"}
    assert lemmy.post(us.live, removal).status_code == 202
    assert _idea(us, post).is_removed
    again = {**undo, "id": undo["id"] + "-again", "object": {**undo["object"], "id": delete["id"] + "-2"}}
    assert lemmy.post(us.live, again).status_code == 202
    assert _idea(us, post).is_removed and _item(us, again["id"])[0] == "ignored"


# ----------------------------------------------------------------------- posts and comments


def test_a_post_by_a_third_instances_user_relayed_by_the_allied_community_is_taken(lemmy):
    us, lemmy = lemmy
    update = lemmy.load("update_page", single=False)
    assert update["actor"].startswith(lemmy.third.url) and update["object"]["audience"] == f"{lemmy.ally.url}/c/main"
    assert lemmy.post(us.live, lemmy.announce(update)).status_code == 202
    copy = us.copy_of(update["object"]["id"])
    assert copy["title"] == "test post 1" and copy["body"] == "test body"
    assert copy["author"]["handle"] == f"lemmy_alpha@{lemmy.third.host}"
    assert copy["origin"] == {"host": lemmy.ally.host, "name": "Lemmy"}
    # the author's document came from their own host
    assert any(r["path"] == "/u/lemmy_alpha" for r in lemmy.third.received)


@pytest.mark.parametrize("case", ["not in the Group", "author not verified", "post on another host", "direct"])
def test_a_third_instances_post_that_cannot_be_verified_is_not_taken(lemmy, case):
    us, lemmy = lemmy
    update = lemmy.load("update_page", single=False)
    if case == "not in the Group":
        update["object"]["audience"] = f"{lemmy.ally.url}/c/other"
    elif case == "author not verified":  # not ActivityPub: the fetch rules hold
        lemmy.actor(lemmy.third, "/u/lemmy_alpha", "Person", "lemmy_alpha", headers={"Content-Type": "text/html"})
    elif case == "post on another host":
        update["object"]["id"] = f"{lemmy.ally.url}/post/99"
    if case == "direct":
        response = lemmy.post(us.live, update)
        assert response.status_code in (202, 401, 403)
    else:
        assert lemmy.post(us.live, lemmy.announce(update)).status_code == 202
    assert us.copy_of(update["object"]["id"]) is None
    assert us.query(lambda: db.session.scalar(select(Idea.id).where(Idea.origin_host == lemmy.ally.host))) is None


def test_an_update_of_a_comment_we_never_saw_is_taken_as_its_creation(lemmy):
    us, lemmy = lemmy
    post = _ally_post(us, lemmy)
    update = lemmy.load("create_note")  # Lemmy's update_note: the same Note in an Update
    update.update(type="Update", id=update["id"].replace("/create/", "/update/"))
    assert lemmy.post(us.live, update).status_code == 202
    comment = _comment(us, update["object"]["id"])
    assert comment is not None and comment.body == "hello" and comment.idea_id == _idea(us, post).id


# --------------------------------------------------------------------- every sample, no 5xx


@pytest.mark.parametrize("name", sorted(p.stem for p in FIXTURES.glob("*.json")))
def test_every_shipped_sample_is_answered_without_a_server_error(lemmy, name):
    us, lemmy = lemmy
    _ally_post(us, lemmy)
    activity = lemmy.load(name)
    activity.setdefault("@context", "https://www.w3.org/ns/activitystreams")
    actor = activity["actor"]
    for sent in (activity, lemmy.announce(activity)):
        if "id" not in activity and sent is not activity:
            continue
        response = lemmy.post(us.live, sent, as_=actor if sent is activity else f"{lemmy.ally.url}/c/main")
        assert response.status_code < 500, (name, response.status_code, response.text)
        if response.status_code == 202 and response.json().get("status") not in ("duplicate",):
            assert _item(us, sent["id"])[0] in ("processed", "ignored", "errored"), name


@pytest.mark.parametrize("name", ["create_private_message", "add_mod"])
def test_a_kind_we_do_not_support_is_acknowledged_and_recorded_as_ignored(lemmy, name):
    us, lemmy = lemmy
    activity = lemmy.load(name)
    activity["@context"] = "https://www.w3.org/ns/activitystreams"
    response = lemmy.post(us.live, activity)  # and our worker applies it
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert _item(us, activity["id"])[0] == "ignored"
