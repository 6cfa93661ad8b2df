"""Hostile input, authorisation: members, moderators and admins stay within their roles (a member cannot
edit another's idea or comment, use moderator endpoints, see the queue or admin pages; a moderator
cannot do an administrator's actions; one member's token never acts for another), and CSRF: a write
that rides on the browser's cookies without the token is refused. Every refusal is a 4xx and leaves
every table as it was."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.accounts.conftest import csrf_token_from
from tests.conftest import TEST_PASSWORD


def table_counts(app) -> dict[str, int]:
    """Rows in every table of the app's database."""
    from sqlalchemy import func, select

    from coopol.extensions import db

    with app.app_context():
        try:
            return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}
        finally:
            db.session.remove()


@dataclass
class Society:
    """alice and bob (members), mod (a moderator), boss (an admin), each with a token; alice's published
    idea, her comment on it, and bob's report of it."""

    app: Any
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def api(self, method: str, path: str, as_: str | None = None, **kwargs: Any):
        headers = {**self.tokens.get(as_ or "", {}), **kwargs.pop("headers", {})}
        return self.app.test_client().open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    def browser(self, handle: str | None = None):
        client = self.app.test_client()
        if handle:
            page = client.get("/login").get_data(as_text=True)
            data = {"login": handle, "password": TEST_PASSWORD}
            if self.app.config.get("WTF_CSRF_ENABLED"):
                data["csrf_token"] = csrf_token_from(page)
            assert client.post("/login", data=data).status_code == 302
        return client

    def counts(self) -> dict[str, int]:
        return table_counts(self.app)


def build_society(app, create_member, token_for) -> Society:
    society = Society(app)
    for handle, role in (("alice", "member"), ("bob", "member"), ("mod", "moderator"), ("boss", "admin")):
        create_member(handle, role=role, target_app=app)
        society.tokens[handle] = token_for(handle, target_app=app)
    idea = society.api("POST", "/ideas", as_="alice", json={"title": "Free night buses", "body": "At night.",
                                                           "publish": True})
    assert idea.status_code == 201, idea.get_json()
    society.ids["idea"] = idea.get_json()["id"]
    comment = society.api("POST", f"/ideas/{society.ids['idea']}/comments", as_="alice", json={"body": "Mine."})
    assert comment.status_code == 201, comment.get_json()
    society.ids["comment"] = comment.get_json()["id"]
    report = society.api("POST", "/reports", as_="bob", json={"target_type": "idea", "target_id": society.ids["idea"],
                                                              "reason": "spam", "text": "Spam."})
    assert report.status_code == 201, report.get_json()
    with app.app_context():
        from coopol.accounts.services import get_member_by_handle

        society.ids.update({h: get_member_by_handle(h).id for h in ("alice", "bob", "mod", "boss")})
    return society


@pytest.fixture
def society(app, create_member, token_for) -> Society:
    return build_society(app, create_member, token_for)


def _idea_and_comment(society: Society) -> tuple[dict, dict]:
    return (society.api("GET", f"/ideas/{society.ids['idea']}", as_="alice").get_json(),
            society.api("GET", f"/comments/{society.ids['comment']}", as_="alice").get_json())


def _refused(response, *codes: int) -> None:
    text = response.get_data(as_text=True)[:300]
    assert response.status_code in (codes or (401, 403, 404)), (response.status_code, text)
    if response.mimetype == "application/json":
        body = response.get_json()
        assert {"code", "status", "message"} <= set(body), body


def test_a_member_cannot_edit_or_delete_anothers_idea_or_comment(society):
    before, state = society.counts(), _idea_and_comment(society)
    i, c = society.ids["idea"], society.ids["comment"]
    for method, path, body in (("PATCH", f"/ideas/{i}", {"title": "Hijacked by bob"}),
                               ("POST", f"/ideas/{i}/withdraw", {"reason": "duplicate"}),
                               ("POST", f"/ideas/{i}/publish", {}),
                               ("POST", f"/ideas/{i}/answer", {"state": "accepted", "answer": "Yes"}),
                               ("PATCH", f"/comments/{c}", {"body": "Hijacked by bob"}),
                               ("DELETE", f"/comments/{c}", None)):
        _refused(society.api(method, path, as_="bob", json=body) if body is not None
                 else society.api(method, path, as_="bob"), 400, 403, 404, 409, 422)
    web = society.browser("bob")
    for path, data in ((f"/ideas/{i}/edit", {"title": "Hijacked by bob", "body": "x"}),
                       (f"/ideas/{i}/withdraw", {"reason": "duplicate"}),
                       (f"/ideas/{i}/answer", {"state": "accepted", "answer": "Yes"}),
                       (f"/comments/{c}/edit", {"body": "Hijacked by bob"}),
                       (f"/comments/{c}/delete", {})):
        response = web.post(path, data=data)
        assert response.status_code in (302, 403, 404), (path, response.status_code)
    assert _idea_and_comment(society) == state and society.counts() == before
    assert "Hijacked" not in str(state)


def test_a_member_cannot_use_moderator_endpoints_or_see_the_queue(society):
    before = society.counts()
    i = society.ids["idea"]
    for method, path, body in (("GET", "/moderation/queue", None), ("GET", "/moderation/appeals", None),
                               ("GET", f"/moderation/ideas/{i}", None),
                               ("POST", "/moderation/actions", {"action": "hide", "target_type": "idea",
                                                                "target_id": i, "reason": "Because"}),
                               ("POST", "/moderation/actions", {"action": "ban", "target_type": "member",
                                                                "target_id": society.ids["alice"],
                                                                "reason": "Because I can, really"}),
                               ("POST", "/moderation/appeals/1/decision", {"decision": "uphold",
                                                                           "reason": "No"})):
        kwargs = {"json": body} if body is not None else {}
        _refused(society.api(method, path, as_="bob", **kwargs), 403, 404)
    web = society.browser("bob")
    for path in ("/moderation", f"/moderation/items/idea/{i}", "/admin/allies"):
        response = web.get(path)
        assert response.status_code in (403, 404), (path, response.status_code)
        assert "Spam." not in response.get_data(as_text=True)  # the report's text stays with moderators
    for path, data in (("/moderation/actions", {"action": "hide", "target_type": "idea", "target_id": i,
                                                "reason": "Because"}),
                       ("/admin/allies/evil.example/revoke", {})):
        assert web.post(path, data=data).status_code in (403, 404), path
    queue = society.api("GET", "/moderation/queue", as_="mod")
    assert queue.status_code == 200 and "Spam." in queue.get_data(as_text=True)  # the queue is real
    assert society.counts() == before
    assert society.api("GET", f"/ideas/{i}").get_json()["state"] == "published"


def test_a_moderator_cannot_do_an_administrators_actions(society, create_member, app):
    create_member("mod2", role="moderator", target_app=app)
    with app.app_context():
        from coopol.accounts.services import get_member_by_handle

        mod2 = get_member_by_handle("mod2").id
    before = society.counts()
    web = society.browser("mod")
    assert web.get("/admin/allies").status_code == 403
    assert web.post("/admin/allies/evil.example/accept", data={}).status_code in (403, 404)
    for kind in ("ban", "suspend"):
        response = society.api("POST", "/moderation/actions", as_="mod",
                               json={"action": kind, "target_type": "member", "target_id": mod2,
                                     "reason": "A moderator overreaching", "until": "2099-01-01T00:00:00Z"})
        _refused(response, 403)
    assert society.counts() == before
    boss = society.browser("boss")
    assert boss.get("/admin/allies").status_code == 200  # the page is real


def test_one_members_token_never_acts_for_another(society):
    me = society.api("GET", "/me", as_="bob").get_json()
    assert me["handle"] == "bob"
    before = society.counts()
    # bob's token with alice's session-ish hints: still bob, still refused on alice's things
    spoofed = {"X-Forwarded-User": "alice", "X-Remote-User": "alice", "X-Member": str(society.ids["alice"])}
    assert society.api("GET", "/me", as_="bob", headers=spoofed).get_json()["handle"] == "bob"
    _refused(society.api("PATCH", f"/ideas/{society.ids['idea']}", as_="bob", headers=spoofed,
                         json={"title": "Hijacked by bob"}), 403, 404)
    # alice's tokens are invisible and irrevocable to bob
    alices = society.api("GET", "/me/tokens", as_="alice").get_json()
    bobs = {x["id"] for x in society.api("GET", "/me/tokens", as_="bob").get_json()}
    assert alices and not bobs & {t["id"] for t in alices}
    for token in alices:
        _refused(society.api("DELETE", f"/me/tokens/{token['id']}", as_="bob"), 403, 404)
    # a mangled, a concatenated or a foreign-scheme token is no one
    raw = society.tokens["bob"]["Authorization"].split(" ", 1)[1]
    for value in (f"Bearer {raw}x", f"Bearer {raw[:-1]}", f"Bearer {raw} {raw}", f"Basic {raw}", f"Bearer\t{raw}",
                  "Bearer ", f"bearer {raw}\x00alice"):
        response = society.app.test_client().get("/api/v1/me", headers={"Authorization": value})
        assert response.status_code in (400, 401) or response.get_json()["handle"] == "bob", value
    assert society.counts() == before
    assert society.api("GET", "/me/tokens", as_="alice").get_json() == alices


# ------------------------------------------------------------------------------------------- CSRF


@pytest.fixture
def csrf_society(make_app, create_member, token_for) -> Society:
    return build_society(make_app("csrf", WTF_CSRF_ENABLED=True), create_member, token_for)


FORM_WRITES = [
    ("/ideas/new", {"title": "Forged idea", "body": "Forged.", "publish": "1"}),
    ("/ideas/{idea}/comments", {"body": "Forged comment"}),
    ("/ideas/{idea}/vote", {"value": "support"}),
    ("/ideas/{idea}/edit", {"title": "Forged title", "body": "x"}),
    ("/comments/{comment}/vote", {"value": "up"}),
    ("/comments/{comment}/edit", {"body": "Forged comment"}),
    ("/comments/{comment}/delete", {}),
    ("/report/idea/{idea}", {"reason": "spam", "text": "Forged report"}),
    ("/settings", {"display_name": "Forged", "bio": "Forged"}),
    ("/settings/tokens", {"name": "forged"}),
    ("/settings/erase", {"confirm": "alice"}),
    ("/notifications/read", {}),
    ("/language", {"lang": "fr"}),
    ("/logout", {}),
]


def test_cookie_form_writes_without_the_token_are_refused_and_store_nothing(csrf_society):
    web = csrf_society.browser("alice")
    before, state = csrf_society.counts(), _idea_and_comment(csrf_society)
    for template, data in FORM_WRITES:
        path = template.format(**csrf_society.ids)
        for forged in (data, {**data, "csrf_token": "forged"}, {**data, "csrf_token": ""}):
            response = web.post(path, data=forged, headers={"Origin": "https://evil.example"})
            assert response.status_code in (400, 403), (path, response.status_code)
    mod = csrf_society.browser("mod")
    for path, data in (("/moderation/actions", {"action": "hide", "target_type": "idea",
                                                "target_id": csrf_society.ids["idea"], "reason": "Forged"}),):
        assert mod.post(path, data=data).status_code in (400, 403)
    boss = csrf_society.browser("boss")
    assert boss.post("/admin/allies/evil.example/revoke", data={}).status_code in (400, 403)
    assert csrf_society.counts() == before and _idea_and_comment(csrf_society) == state
    assert web.get("/api/v1/me").get_json()["handle"] == "alice"  # still signed in: logout was refused too


def test_cookie_api_writes_without_the_header_are_refused_and_store_nothing(csrf_society):
    web = csrf_society.browser("alice")
    before, state = csrf_society.counts(), _idea_and_comment(csrf_society)
    i, c = csrf_society.ids["idea"], csrf_society.ids["comment"]
    for method, path, body in (("POST", "/api/v1/ideas", {"title": "Forged idea", "body": "Forged."}),
                               ("PATCH", f"/api/v1/ideas/{i}", {"title": "Forged title"}),
                               ("PUT", f"/api/v1/ideas/{i}/vote", {"value": "support"}),
                               ("POST", f"/api/v1/ideas/{i}/comments", {"body": "Forged"}),
                               ("PATCH", f"/api/v1/comments/{c}", {"body": "Forged"}),
                               ("DELETE", f"/api/v1/comments/{c}", None),
                               ("PATCH", "/api/v1/me", {"bio": "Forged"}),
                               ("POST", "/api/v1/me/tokens", {"name": "forged"}),
                               ("DELETE", "/api/v1/me", None),
                               ("POST", "/api/v1/reports", {"target_type": "idea", "target_id": i,
                                                            "reason": "spam"})):
        for headers in ({}, {"X-CSRFToken": "forged"}):
            kwargs = {"json": body} if body is not None else {}
            response = web.open(path, method=method, headers=headers, **kwargs)
            _refused(response, 400, 403)
            assert response.mimetype == "application/json", path
    assert csrf_society.counts() == before and _idea_and_comment(csrf_society) == state
