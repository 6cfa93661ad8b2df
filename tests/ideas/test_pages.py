"""The server-rendered pages: forms, errors next to fields, CSRF, moderation notices."""

import re

from coopol.core.time import utcnow


def test_propose_with_errors_shown_next_to_fields(client, auth, create_member, count_rows):
    create_member("alice")
    auth.login("alice")
    before = count_rows()
    r = client.post("/ideas/new", data={"title": "ab", "body": "", "tags": "", "scope": "atlantis"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert 'id="title-error"' in html and 'id="body-error"' in html and 'id="scope-error"' in html
    assert 'value="ab"' in html  # what was typed is kept
    assert count_rows() == before
    r = client.post("/ideas/new", data={"title": "Night buses", "body": "Every *night*.", "tags": "transport, night",
                                        "scope": "fr", "language": "en", "action": "publish"})
    assert r.status_code == 302
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Night buses" in page and "<em>night</em>" in page and "#transport" in page and "France" in page


def test_save_as_draft_then_publish(client, auth, create_member):
    create_member("alice")
    auth.login("alice")
    r = client.post("/ideas/new", data={"title": "Draft idea", "body": "Later.", "action": "draft"})
    idea_url = r.headers["Location"]
    assert "only you can see it" in client.get(idea_url).get_data(as_text=True)
    assert client.post(f"{idea_url}/publish").status_code == 302
    assert "Draft idea" in client.get("/ideas").get_data(as_text=True)


def test_vote_and_comment_forms(client, auth, create_member, create_idea):
    create_member("alice")
    create_member("bob")
    idea_id = create_idea("alice")
    auth.login("bob")
    client.post(f"/ideas/{idea_id}/vote", data={"value": "support"})
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert "Your vote: support" in page and "1 support" in page
    client.post(f"/ideas/{idea_id}/vote", data={"value": "oppose"})
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert "Your vote: oppose" in page and "0 support" in page and "1 oppose" in page
    client.post(f"/ideas/{idea_id}/vote", data={"value": "withdraw"})
    assert "Your vote:" not in client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    r = client.post(f"/ideas/{idea_id}/vote", data={"value": "meh"}, follow_redirects=True)
    assert "Choose one of" in r.get_data(as_text=True)

    r = client.post(f"/ideas/{idea_id}/comments", data={"body": "", "stance": "for"})
    assert r.status_code == 422 and 'id="body-error"' in r.get_data(as_text=True)
    r = client.post(f"/ideas/{idea_id}/comments", data={"body": "Great idea", "stance": "for"})
    assert r.status_code == 302 and "#comment-" in r.headers["Location"]
    comment_id = int(r.headers["Location"].rsplit("-", 1)[1])
    r = client.post(f"/ideas/{idea_id}/comments", data={"body": "Answering myself", "stance": "against",
                                                        "parent_id": str(comment_id)})
    assert r.status_code == 302
    page = client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    assert re.search(r'class="comment depth-1".*?stance-against', page, re.S)
    client.post(f"/comments/{comment_id}/vote", data={"value": "up"})
    assert "1 up" in client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    r = client.post(f"/comments/{comment_id}/edit", data={"body": "Great idea, really", "stance": "for"})
    assert r.status_code == 302
    assert "edited" in client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    client.post(f"/comments/{comment_id}/delete")
    assert "This comment was deleted." in client.get(f"/ideas/{idea_id}").get_data(as_text=True)


def test_failed_web_action_writes_nothing(app, client, auth, create_member, create_idea, count_rows):
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.ideas.models import Idea

    create_member("alice")
    create_member("bob")
    idea_id = create_idea("alice")
    with app.app_context(), unit_of_work():
        db.session.get(Idea, idea_id).locked_at = utcnow()
    auth.login("bob")
    before = count_rows()
    r = client.post(f"/ideas/{idea_id}/vote", data={"value": "support"}, follow_redirects=True)
    assert "locked" in r.get_data(as_text=True)
    client.post(f"/ideas/{idea_id}/comments", data={"body": "Let me in"})
    assert count_rows() == before


def test_only_the_author_edits(client, auth, create_member, create_idea):
    create_member("alice")
    create_member("bob")
    idea_id = create_idea("alice", title="Alice's")
    auth.login("bob")
    assert client.post(f"/ideas/{idea_id}/edit", data={"title": "Bob's now", "body": "x"}).status_code == 403
    assert client.get(f"/ideas/{idea_id}/edit").status_code == 302
    auth.logout()
    auth.login("alice")
    assert client.get(f"/ideas/{idea_id}/edit").status_code == 200
    r = client.post(f"/ideas/{idea_id}/edit", data={"title": "x", "body": "x"})
    assert r.status_code == 422 and 'id="title-error"' in r.get_data(as_text=True)


def test_withdraw_form(client, auth, create_member, create_idea):
    create_member("alice")
    idea_id = create_idea("alice")
    auth.login("alice")
    r = client.post(f"/ideas/{idea_id}/withdraw", data={"reason": "other", "explanation": ""})
    assert r.status_code == 422 and 'id="explanation-error"' in r.get_data(as_text=True)
    r = client.post(f"/ideas/{idea_id}/withdraw", data={"reason": "duplicate"}, follow_redirects=True)
    assert "Withdrawn by its author (reason: duplicate)" in r.get_data(as_text=True)


def test_moderator_answer_form(client, auth, create_member, create_idea):
    create_member("alice")
    create_member("mod", role="moderator")
    idea_id = create_idea("alice")
    assert "Answer officially" not in client.get(f"/ideas/{idea_id}").get_data(as_text=True)
    auth.login("mod")
    r = client.post(f"/ideas/{idea_id}/answer", data={"state": "evaluating", "answer": "We are costing it."},
                    follow_redirects=True)
    html = r.get_data(as_text=True)
    assert "Official answer" in html and "We are costing it." in html


def test_removed_and_hidden_ideas(app, client, auth, create_member, create_idea):
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.ideas.models import Idea

    create_member("alice")
    create_member("bob")
    removed = create_idea("alice", title="Removed title", body="Removed body")
    hidden = create_idea("alice", title="Hidden title")
    with app.app_context(), unit_of_work():
        db.session.get(Idea, removed).removed_at = utcnow()
        db.session.get(Idea, hidden).hidden_at = utcnow()
    page = client.get(f"/ideas/{removed}").get_data(as_text=True)
    assert "removed by the moderators" in page and "Removed title" not in page and "Removed body" not in page
    data = client.get(f"/api/v1/ideas/{removed}").json
    assert (data["removed"], data["title"], data["body"]) == (True, "", "")
    assert client.get(f"/ideas/{hidden}").status_code == 404
    auth.login("alice")
    page = client.get(f"/ideas/{hidden}").get_data(as_text=True)
    assert "Hidden title" in page and "hidden by the moderators" in page
    assert "Removed body" in client.get(f"/ideas/{removed}").get_data(as_text=True)  # the author may appeal


def test_forms_need_the_csrf_token(make_app, create_member):
    app = make_app("csrf", WTF_CSRF_ENABLED=True)
    create_member("alice", target_app=app)
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    client.post("/login", data={"login": "alice", "password": "a long and unusual pass phrase", "csrf_token": token})
    form = client.get("/ideas/new").get_data(as_text=True)
    assert 'name="csrf_token"' in form
    assert client.post("/ideas/new", data={"title": "No token", "body": "x"}).status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    r = client.post("/ideas/new", data={"title": "With token", "body": "x", "csrf_token": token})
    assert r.status_code == 302


def test_navigation_entries(client, auth, create_member):
    html = client.get("/ideas").get_data(as_text=True)
    assert 'href="/ideas"' in html and 'href="/stats"' in html and 'href="/ideas/new"' not in html
    create_member("alice")
    auth.login("alice")
    assert 'href="/ideas/new"' in client.get("/ideas").get_data(as_text=True)


def test_index_filters_and_search_on_the_page(client, create_member, create_idea):
    create_member("alice")
    create_idea("alice", title="Tramway in Paris", scope="fr-paris", tags=["tram"])
    create_idea("alice", title="Bike lanes in Berlin", scope="de")
    html = client.get("/ideas?q=tramway").get_data(as_text=True)
    assert "Tramway in Paris" in html and "Bike lanes" not in html
    html = client.get("/ideas?scope=fr").get_data(as_text=True)
    assert "Tramway in Paris" in html and "Bike lanes" not in html
    html = client.get("/ideas?tag=tram&sort=top").get_data(as_text=True)
    assert "Tramway in Paris" in html and "Bike lanes" not in html
    r = client.get("/ideas?scope=atlantis&sort=nonsense&state=weird")
    assert r.status_code == 200 and "Unknown scope" in r.get_data(as_text=True)
