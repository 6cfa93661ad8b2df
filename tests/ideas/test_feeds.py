"""Atom feeds of ideas: the list (with its filters), a member's ideas, a group's feed; each announced on its page."""

from __future__ import annotations

import re

from tests.atom import parse_atom


def _feed(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/atom+xml"
    return parse_atom(response.data)


def _alternate(page: str) -> str:
    found = re.findall(r'<link rel="alternate" type="application/atom\+xml" title="[^"]+" href="([^"]+)">', page)
    assert len(found) == 1, found
    return found[0].replace("&amp;", "&")


def test_the_idea_list_feed_is_atom_and_keeps_the_lists_filters(client, create_member, create_idea):
    create_member("ana", display_name="Ana")
    create_idea("ana", title="Night trains to Paris", body="**Sleep** and ride.", scope="fr-paris",
                tags="rail", publish=True)
    create_idea("ana", title="Bike lanes in Barcelona", scope="es-barcelona", publish=True)
    create_idea("ana", title="A secret draft", scope="fr-paris", publish=False)

    everything = _feed(client, "/ideas.atom")
    assert [e["title"] for e in everything["entries"]] == ["Bike lanes in Barcelona", "Night trains to Paris"]
    night = everything["entries"][1]
    assert night["has_author"] and "<strong>Sleep</strong>" in night["content"]
    assert client.get(night["link"].replace("http://local.coopol.test", "")).status_code == 200

    france = _feed(client, "/ideas.atom?scope=fr")  # the scope and everything below it, as the list
    assert [e["title"] for e in france["entries"]] == ["Night trains to Paris"]
    assert france["id"] != everything["id"]
    assert [e["title"] for e in _feed(client, "/ideas.atom?tag=rail")["entries"]] == ["Night trains to Paris"]
    assert _feed(client, "/ideas.atom?q=bike")["entries"][0]["title"] == "Bike lanes in Barcelona"

    # The list page announces the feed of what it shows.
    href = _alternate(client.get("/ideas?scope=fr").get_data(as_text=True))
    assert href == "/ideas.atom?scope=fr"
    assert [e["title"] for e in _feed(client, href)["entries"]] == ["Night trains to Paris"]


def test_a_wrong_filter_is_refused_rather_than_ignored(client):
    for url, field in (("/ideas.atom?scope=atlantis", "scope"), ("/ideas.atom?sort=loudest", "sort"),
                       ("/ideas.atom?state=draft", "state")):
        response = client.get(url)
        assert response.status_code == 422, url
        assert field in response.get_data(as_text=True)


def test_a_members_feed_lists_only_their_published_ideas(client, create_member, create_idea):
    create_member("ana", display_name="Ana")
    create_member("luis")
    create_idea("ana", title="Ana's public idea", publish=True)
    create_idea("ana", title="Ana's draft", publish=False)
    create_idea("luis", title="Luis's idea", publish=True)

    feed = _feed(client, "/members/ana.atom")
    assert [e["title"] for e in feed["entries"]] == ["Ana's public idea"]
    assert "Ana" in feed["title"]
    assert _alternate(client.get("/members/ana").get_data(as_text=True)) == "/members/ana.atom"
    assert client.get("/members/nobody.atom").status_code == 404
    assert [e["title"] for e in _feed(client, "/members/luis.atom")["entries"]] == ["Luis's idea"]


def test_a_groups_feed_shows_the_ideas_posted_in_it(app, client, create_member, create_idea):
    from coopol.accounts.services import get_member_by_handle
    from coopol.core.uow import unit_of_work
    from coopol.groups import services as groups

    create_member("ana")
    with app.app_context(), unit_of_work():
        ana = get_member_by_handle("ana")
        paris = groups.create_group(ana, name="Paris greens", kind="territorial", scope="fr-idf")
        thematic = groups.create_group(ana, name="Rail users", kind="thematic")
        slugs = paris.slug, thematic.slug
    create_idea("ana", title="Night trains to Paris", scope="fr-paris", group=slugs[0], publish=True)
    create_idea("ana", title="Trams in Paris, posted nowhere", scope="fr-paris", publish=True)
    create_idea("ana", title="A draft in the group", group=slugs[0], publish=False)

    feed = _feed(client, f"/groups/{slugs[0]}.atom")
    # Its territory's ideas are not in it: only what was posted in the group, and published.
    assert [e["title"] for e in feed["entries"]] == ["Night trains to Paris"]
    assert "Paris greens" in feed["title"]
    assert _feed(client, f"/groups/{slugs[1]}.atom")["entries"] == []
    assert [e["title"] for e in _feed(client, f"/ideas.atom?group={slugs[0]}")["entries"]] == ["Night trains to Paris"]
    assert _alternate(client.get(f"/groups/{slugs[0]}").get_data(as_text=True)) == f"/groups/{slugs[0]}.atom"
    assert client.get("/groups/no-such-group.atom").status_code == 404
