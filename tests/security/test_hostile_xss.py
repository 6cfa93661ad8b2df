"""Hostile input, XSS: a payload in every text a member, a reporter or a moderator writes (title, body,
tags, scope, comment, display name, bio, report text, moderation reason, appeal text) and in the query
strings a page reflects (search, tag, scope) is shown only escaped or sanitised on every page that
shows it: the idea list, the idea page, profiles, the moderation queue and item page, the modlog,
notifications, stats and search results."""

from __future__ import annotations

import pytest

from tests.ideas.test_xss import assert_inert
from tests.security.test_hostile_auth import Society, build_society

PAYLOAD = '"><svg onload=alert(1)><script>alert("xss")</script><img src=x onerror=alert(2)>'
RAW = ("<script>alert", "<svg onload", "<img src=x onerror", 'onerror=alert(2)"', "\"><svg")
ESCAPED = "&lt;script&gt;alert("
# Our own layout has these elements (forms, reply boxes, head, the stats chart); member content never adds any.
LAYOUT = frozenset({"form", "details", "meta", "link", "body", "svg"})


def _ok(response, *codes: int):
    text = response.get_data(as_text=True)[:300]
    assert response.status_code in (codes or (200, 201)), (response.status_code, text)
    return response.get_json()


@pytest.fixture
def hostile(app, create_member, token_for) -> Society:
    """Every text field carries the payload."""
    society = build_society(app, create_member, token_for)
    _ok(society.api("PATCH", "/me", as_="alice", json={"display_name": PAYLOAD[:60], "bio": PAYLOAD}))
    _ok(society.api("PATCH", "/me", as_="bob", json={"display_name": f"Bob {PAYLOAD}"[:60], "bio": PAYLOAD}))
    idea = _ok(society.api("POST", "/ideas", as_="alice", json={
        "title": f"Idea {PAYLOAD}", "body": f"Body\n\n{PAYLOAD}\n\n[x](javascript:alert(3))", "tags": ["xss"],
        "publish": True}), 201)
    society.ids["xss_idea"] = idea["id"]
    tagged = society.api("POST", "/ideas", as_="alice", json={"title": "Tagged idea", "body": "x", "publish": True,
                                                             "tags": [PAYLOAD[:30]]})
    society.ids["tagged"] = tagged.get_json().get("id") if tagged.status_code == 201 else None
    comment = _ok(society.api("POST", f"/ideas/{idea['id']}/comments", as_="bob",
                              json={"body": f"Comment {PAYLOAD}", "stance": "for"}), 201)
    society.ids["xss_comment"] = comment["id"]
    _ok(society.api("PUT", f"/ideas/{idea['id']}/vote", as_="bob", json={"value": "support"}))
    _ok(society.api("POST", "/reports", as_="alice", json={"target_type": "comment", "target_id": comment["id"],
                                                          "reason": "offensive", "text": f"Report {PAYLOAD}"}), 201)
    _ok(society.api("POST", "/reports", as_="bob", json={"target_type": "member", "target_id": society.ids["alice"],
                                                        "reason": "other", "text": f"Member report {PAYLOAD}"}), 201)
    action = _ok(society.api("POST", "/moderation/actions", as_="mod", json={
        "action": "hide", "target_type": "comment", "target_id": comment["id"], "reason": f"Reason {PAYLOAD}"}), 201)
    _ok(society.api("POST", f"/moderation/actions/{action['id']}/appeal", as_="bob",
                    json={"text": f"Appeal {PAYLOAD}"}), 201)
    society.ids["action"] = action["id"]
    return society


def _pages(society: Society):
    i, c = society.ids["xss_idea"], society.ids["xss_comment"]
    q = "%22%3E%3Csvg%20onload%3Dalert(1)%3E%3Cscript%3Ealert(%22xss%22)%3C%2Fscript%3E"
    public = ["/ideas", "/ideas?sort=new", f"/ideas/{i}", f"/ideas/{i}?view=sides", f"/ideas/{i}/revisions",
              "/members/alice", "/members/bob", "/modlog", "/stats",
              f"/ideas?q={q}", f"/ideas?tag={q}", f"/ideas?scope={q}", f"/ideas?q=Idea&tag=xss&scope={q}",
              f"/stats?scope={q}", f"/ideas?author={q}&origin={q}&language={q}&state={q}&sort={q}"]
    if society.ids.get("tagged"):
        public.append(f"/ideas/{society.ids['tagged']}")
    return [(None, p) for p in public] + [
        ("mod", "/moderation"), ("mod", f"/moderation/items/comment/{c}"), ("mod", f"/moderation/items/idea/{i}"),
        ("mod", f"/moderation/items/member/{society.ids['alice']}"), ("boss", "/moderation"),
        ("bob", "/notifications"), ("bob", f"/moderation/actions/{society.ids['action']}/appeal"),
        ("alice", "/settings"), ("alice", f"/ideas/{i}/edit"), ("bob", f"/comments/{c}/edit"),
        ("alice", f"/report/comment/{c}")]


def test_every_text_field_is_shown_escaped_or_sanitised_on_every_page(hostile):
    shown_escaped = set()
    browsers = {}
    for who, path in _pages(hostile):
        client = browsers.setdefault(who, hostile.browser(who) if who else hostile.app.test_client())
        response = client.get(path)
        assert response.status_code in (200, 404), (who, path, response.status_code)
        page = response.get_data(as_text=True)
        for raw in RAW:
            assert raw not in page, (who, path, raw)
        assert_inert(page, f"{who or 'visitor'} {path}", allowed=LAYOUT)
        if ESCAPED in page:
            shown_escaped.add(path)
    # the payload is really there, escaped, where each field is shown
    for path in ("/ideas", f"/ideas/{hostile.ids['xss_idea']}", "/members/alice", "/members/bob", "/modlog",
                 "/moderation", f"/moderation/items/comment/{hostile.ids['xss_comment']}", "/notifications"):
        assert path in shown_escaped, path


def test_the_reflected_query_strings_are_escaped_in_forms_and_links(hostile):
    client = hostile.app.test_client()
    q = "%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E"
    for path in (f"/ideas?q={q}", f"/ideas?tag={q}", f"/ideas?scope={q}", f"/stats?scope={q}"):
        page = client.get(path).get_data(as_text=True)
        assert '"><script>alert(1)</script>' not in page, path
        assert_inert(page, path, allowed=LAYOUT)


def test_the_api_answers_json_so_the_payload_is_data_not_markup(hostile):
    for path in (f"/ideas/{hostile.ids['xss_idea']}", "/members/alice", "/modlog"):
        response = hostile.api("GET", path, as_="alice")
        assert response.status_code == 200 and response.mimetype == "application/json"
        assert response.headers.get("X-Content-Type-Options") == "nosniff", path
    idea = hostile.api("GET", f"/ideas/{hostile.ids['xss_idea']}").get_json()
    assert_inert(idea["body_html"], "body_html")
    assert "href=\"javascript:" not in idea["body_html"]  # the link stays text
