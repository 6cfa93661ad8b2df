"""Ideas travel: published on A, copied on every ally with its origin; edits, withdrawals, official
answers and removals follow; copies are searchable and filterable by origin."""

from __future__ import annotations

from tests.federation.content.conftest import settle


def publish(party, author: str, **fields) -> dict:
    body = {"title": "Free night buses", "body": "Run the **night buses** for free.", "tags": ["transport"],
            "publish": True, **fields}
    return party.api("POST", "/ideas", as_=author, json=body, expect=201).get_json()


def test_a_published_idea_is_copied_on_every_ally_with_its_origin(parties):
    a, b, c = parties(3)
    a.member("alice")
    idea = publish(a, "alice")
    settle(a, b, c)
    for ally in (b, c):
        copy = ally.copy_of(idea["ap_id"])
        assert copy is not None, ally.host
        assert copy["title"] == "Free night buses"
        assert copy["body"] == "Run the **night buses** for free."
        assert copy["tags"] == ["transport"]
        assert copy["origin"] == {"host": a.host, "name": "Coopol a"}
        assert copy["url"] == f"{a.url}/ideas/{idea['id']}"
        assert copy["author"]["instance"] == a.host
        assert copy["author"]["handle"] == f"alice@{a.host}"
        listed = ally.api("GET", f"/ideas?origin={a.host}", expect=200).get_json()["items"]
        assert [i["ap_id"] for i in listed] == [idea["ap_id"]]
        assert ally.api("GET", "/ideas?origin=local", expect=200).get_json()["items"] == []
        found = ally.api("GET", "/ideas?q=night", expect=200).get_json()["items"]
        assert [i["ap_id"] for i in found] == [idea["ap_id"]]


def test_a_draft_travels_only_once_published(parties):
    a, b = parties(2)
    a.member("alice")
    draft = publish(a, "alice", publish=False)
    settle(a, b)
    assert b.copy_of(draft["ap_id"]) is None
    a.api("POST", f"/ideas/{draft['id']}/publish", as_="alice", expect=200)
    settle(a, b)
    assert b.copy_of(draft["ap_id"])["state"] == "published"


def test_edits_withdrawal_and_answers_follow(parties):
    a, b = parties(2)
    a.member("alice")
    a.member("mod", role="moderator")
    idea = publish(a, "alice")
    settle(a, b)
    a.api("PATCH", f"/ideas/{idea['id']}", as_="alice", json={"title": "Free night trams", "tags": ["tram"]},
          expect=200)
    settle(a, b)
    copy = b.copy_of(idea["ap_id"])
    assert copy["title"] == "Free night trams" and copy["tags"] == ["tram"]

    a.api("POST", f"/ideas/{idea['id']}/answer", as_="mod", json={"state": "evaluating", "answer": "On it."},
          expect=200)
    settle(a, b)
    copy = b.copy_of(idea["ap_id"])
    assert copy["state"] == "evaluating" and copy["answer"] == "On it."

    a.api("POST", f"/ideas/{idea['id']}/withdraw", as_="alice", json={"reason": "done"}, expect=200)
    settle(a, b)
    assert b.copy_of(idea["ap_id"])["state"] == "withdrawn"


def test_a_removal_and_restoration_by_the_origin_moderators_apply_on_every_ally(parties):
    a, b, c = parties(3)
    a.member("alice")
    a.member("mod", role="moderator")
    idea = publish(a, "alice")
    settle(a, b, c)
    a.api("POST", "/moderation/actions", as_="mod", expect=201,
          json={"action": "remove", "target_type": "idea", "target_id": idea["id"], "reason": "Off the charter"})
    settle(a, b, c)
    for ally in (b, c):
        copy_id = ally.query(lambda: _copy_id(idea["ap_id"]))
        assert ally.query(lambda cid=copy_id: _removed(cid))
        log = ally.api("GET", "/modlog", expect=200).get_json()["items"]
        assert log[0]["action"] == "remove" and "Off the charter" in log[0]["reason"]
        assert a.host in log[0]["reason"]
    a.api("POST", "/moderation/actions", as_="mod", expect=201,
          json={"action": "restore", "target_type": "idea", "target_id": idea["id"], "reason": "On appeal"})
    settle(a, b, c)
    for ally in (b, c):
        copy_id = ally.query(lambda: _copy_id(idea["ap_id"]))
        assert not ally.query(lambda cid=copy_id: _removed(cid)), ally.host


def _copy_id(ap_id):
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.ideas.models import Idea

    return db.session.scalar(select(Idea.id).where(Idea.ap_id == ap_id))


def _removed(idea_id):
    from coopol.extensions import db
    from coopol.ideas.models import Idea

    return db.session.get(Idea, idea_id).is_removed


def test_an_edit_that_arrives_before_the_creation_is_kept(parties):
    from sqlalchemy import select

    from coopol.extensions import db
    from coopol.federation.delivery import deliver_now
    from coopol.federation.models import Delivery, OutboxActivity

    a, b = parties(2)
    a.member("alice")
    idea = publish(a, "alice")
    a.api("PATCH", f"/ideas/{idea['id']}", as_="alice", json={"body": "Edited before anyone saw it."}, expect=200)

    def update_delivery() -> list[int]:
        rows = db.session.execute(select(Delivery.id, OutboxActivity.payload).join(Delivery.activity)
                                  .where(OutboxActivity.type == "Announce"))
        return [delivery_id for delivery_id, payload in rows if payload["object"]["type"] == "Update"]

    ids = a.query(update_delivery)
    assert len(ids) == 1
    outcomes = a.query(lambda: deliver_now(ids))
    assert [o.state for o in outcomes] == ["delivered"]
    settle(a, b)  # now the Create
    assert b.copy_of(idea["ap_id"])["body"] == "Edited before anyone saw it."


def test_the_copy_page_names_its_origin_and_links_back(parties):
    a, b = parties(2)
    a.member("alice")
    idea = publish(a, "alice")
    settle(a, b)
    copy = b.copy_of(idea["ap_id"])
    page = b.app.test_client().get(f"/ideas/{copy['id']}")
    assert page.status_code == 200
    assert f'href="{a.url}/ideas/{idea["id"]}" rel="external" data-testid="origin-link">Coopol a</a>' in page.text
    own = a.app.test_client().get(f"/ideas/{idea['id']}")
    assert 'data-testid="origin-link"' not in own.text


def test_an_idea_posted_in_a_group_is_in_the_allys_copy_of_that_group(parties):
    from tests.federation.groups.conftest import copy_of, make_group

    a, b = parties(2)
    a.member("alice")
    group = make_group(a, "alice", slug="night-buses")
    settle(a, b)
    idea = publish(a, "alice", group="night-buses")
    elsewhere = publish(a, "alice", title="Posted in no group")
    settle(a, b)
    page = a.app.test_client().get(f"/ideas/{idea['id']}", headers={"Accept": "application/activity+json"})
    assert page.get_json()["group"] == group["ap_id"]
    slug_b = copy_of(b, group["ap_id"])["slug"]
    copy = b.copy_of(idea["ap_id"])
    assert copy["group"]["slug"] == slug_b and copy["group"]["name"] == "Night buses now"
    assert b.copy_of(elsewhere["ap_id"])["group"] is None
    listed = b.api("GET", f"/ideas?group={slug_b}", expect=200).get_json()["items"]
    assert [i["ap_id"] for i in listed] == [idea["ap_id"]]
    assert "Free night buses" in b.app.test_client().get(f"/groups/{slug_b}").get_data(as_text=True)

    a.api("PATCH", f"/ideas/{idea['id']}", as_="alice", json={"group": None}, expect=200)
    settle(a, b)
    assert b.copy_of(idea["ap_id"])["group"] is None
