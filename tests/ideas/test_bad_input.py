"""Bad input gets a clear 4xx naming each field, and a failed request writes nothing."""

import pytest


def test_missing_fields_are_named(client, member, count_rows):
    alice = member("alice")
    before = count_rows()
    r = client.post("/api/v1/ideas", json={}, headers=alice)
    assert r.status_code == 422
    assert {"title", "body"} <= set(r.json["errors"])
    assert count_rows() == before


def test_every_invalid_field_is_named_at_once(client, member, count_rows):
    alice = member("alice")
    before = count_rows()
    r = client.post("/api/v1/ideas", json={"title": "ab", "body": "x" * 50_001, "tags": ["ok", "no spaces!"],
                                           "scope": "atlantis", "language": "english!"}, headers=alice)
    assert r.status_code == 422, r.json
    assert set(r.json["errors"]) == {"title", "body", "tags", "scope", "language"}
    assert r.json["code"] == 422 and r.json["message"]
    r = client.post("/api/v1/ideas", json={"title": "t" * 201, "body": "ok"}, headers=alice)
    assert r.status_code == 422 and list(r.json["errors"]) == ["title"]
    r = client.post("/api/v1/ideas", json={"title": "Fine title", "body": "ok", "tags": [f"t{i}" for i in range(11)]},
                    headers=alice)
    assert r.status_code == 422 and list(r.json["errors"]) == ["tags"]
    assert count_rows() == before


def test_unknown_fields_and_wrong_types_are_refused(client, member):
    alice = member("alice")
    r = client.post("/api/v1/ideas", json={"title": "Fine title", "body": "ok", "author_id": 7}, headers=alice)
    assert r.status_code == 422 and "author_id" in r.json["errors"]
    r = client.post("/api/v1/ideas", json={"title": 12, "body": ["x"]}, headers=alice)
    assert r.status_code == 422 and {"title", "body"} <= set(r.json["errors"])


def test_unknown_stance_and_vote_values(client, member, create_idea, count_rows):
    alice = member("alice")
    idea_id = create_idea("alice")
    before = count_rows()
    r = client.post(f"/api/v1/ideas/{idea_id}/comments", json={"body": "Hm", "stance": "maybe"}, headers=alice)
    assert r.status_code == 422 and "stance" in r.json["errors"]
    r = client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "love"}, headers=alice)
    assert r.status_code == 422 and "value" in r.json["errors"]
    r = client.post(f"/api/v1/ideas/{idea_id}/comments", json={"body": "", "stance": "for"}, headers=alice)
    assert r.status_code == 422 and "body" in r.json["errors"]
    r = client.post(f"/api/v1/ideas/{idea_id}/comments", json={"body": "x" * 10_001}, headers=alice)
    assert r.status_code == 422 and "body" in r.json["errors"]
    r = client.post(f"/api/v1/ideas/{idea_id}/comments", json={"body": "Hi", "parent_id": 999}, headers=alice)
    assert r.status_code == 422 and "parent_id" in r.json["errors"]
    assert count_rows() == before


@pytest.mark.parametrize("make_unvotable", ["draft", "withdrawn", "removed"])
def test_votes_on_closed_ideas_conflict(app, client, member, create_idea, count_rows, make_unvotable):
    from coopol.core.time import utcnow
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.ideas.models import Idea

    alice, bob = member("alice"), member("bob")
    idea_id = create_idea("alice", publish=make_unvotable != "draft")
    if make_unvotable == "withdrawn":
        client.post(f"/api/v1/ideas/{idea_id}/withdraw", json={"reason": "done"}, headers=alice)
    if make_unvotable == "removed":
        with app.app_context(), unit_of_work():
            db.session.get(Idea, idea_id).removed_at = utcnow()
    before = count_rows()
    voter = alice if make_unvotable == "draft" else bob  # only the author sees a draft
    r = client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}, headers=voter)
    assert r.status_code == 409, r.json
    assert r.json["code"] == 409
    assert count_rows() == before


def test_editing_someone_elses_idea_is_forbidden(client, member, create_idea, count_rows):
    member("alice")
    bob = member("bob")
    idea_id = create_idea("alice", title="Alice's idea")
    before = count_rows()
    r = client.patch(f"/api/v1/ideas/{idea_id}", json={"title": "Bob was here"}, headers=bob)
    assert r.status_code == 403
    assert client.get(f"/api/v1/ideas/{idea_id}").json["title"] == "Alice's idea"
    assert count_rows() == before


def test_unknown_ids_are_404(client, member):
    alice = member("alice")
    assert client.get("/api/v1/ideas/424242").status_code == 404
    assert client.patch("/api/v1/ideas/424242", json={"title": "Whatever"}, headers=alice).status_code == 404
    assert client.put("/api/v1/ideas/424242/vote", json={"value": "support"}, headers=alice).status_code == 404
    assert client.get("/api/v1/ideas/424242/comments").status_code == 404
    assert client.patch("/api/v1/comments/424242", json={"body": "x"}, headers=alice).status_code == 404
    assert client.put("/api/v1/comments/424242/vote", json={"value": "up"}, headers=alice).status_code == 404
    assert client.get("/ideas/424242").status_code == 404
    r = client.get("/api/v1/ideas/424242")
    assert r.json["code"] == 404 and r.json["message"]


def test_writes_need_authentication(client, create_idea, member):
    member("alice")
    idea_id = create_idea("alice")
    assert client.post("/api/v1/ideas", json={"title": "Anon", "body": "x"}).status_code == 401
    assert client.put(f"/api/v1/ideas/{idea_id}/vote", json={"value": "support"}).status_code == 401


def test_bad_list_parameters(client):
    assert client.get("/api/v1/ideas?sort=random").status_code == 422
    assert client.get("/api/v1/ideas?limit=101").status_code == 422
    assert client.get("/api/v1/ideas?limit=0").status_code == 422
    r = client.get("/api/v1/ideas?cursor=not-a-cursor")
    assert r.status_code == 422 and "cursor" in r.json["errors"]


@pytest.mark.parametrize("language", ["xx", "pt", "EN", "en-GB", "english", "١", "e\u0301n"])
def test_an_idea_in_a_language_the_instance_does_not_have_is_refused(client, member, create_idea, count_rows,
                                                                      language):
    alice = member("alice")
    idea_id = create_idea("alice")
    before = count_rows()
    r = client.post("/api/v1/ideas", json={"title": "Fine title", "body": "ok", "language": language}, headers=alice)
    assert r.status_code == 422 and list(r.json["errors"]) == ["language"], r.json
    r = client.patch(f"/api/v1/ideas/{idea_id}", json={"language": language}, headers=alice)
    assert r.status_code == 422 and list(r.json["errors"]) == ["language"], r.json
    assert count_rows() == before
    assert client.get(f"/api/v1/ideas/{idea_id}").json["language"] == "en"


def test_the_instances_own_languages_are_accepted(make_app, create_member):
    app = make_app("polyglot", LANGUAGES=["en", "it"])
    create_member("alice", target_app=app)
    from coopol.accounts.services import create_token, get_member_by_handle
    from coopol.core.uow import unit_of_work

    with app.app_context(), unit_of_work():
        _token, raw = create_token(get_member_by_handle("alice"), "t")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {raw}"}
    r = client.post("/api/v1/ideas", json={"title": "Fine title", "body": "ok", "language": "it"}, headers=headers)
    assert r.status_code == 201 and r.json["language"] == "it"
    r = client.post("/api/v1/ideas", json={"title": "Fine title", "body": "ok", "language": "fr"}, headers=headers)
    assert r.status_code == 422 and "language" in r.json["errors"]


def test_an_idea_in_an_unknown_language_is_refused_on_the_page_too(client, member, auth, count_rows):
    member("alice")
    auth.login("alice")
    before = count_rows()
    r = client.post("/ideas/new", data={"title": "Fine title", "body": "ok", "language": "xx"})
    assert r.status_code == 422
    assert count_rows() == before
