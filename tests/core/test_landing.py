"""The landing page at `/`: the party, its participation, top ideas (ours and allies'), the ways in; served
to visitors from the shared cache; counters and sections registered by the modules."""

from __future__ import annotations

import pytest

from tests.conftest import TEST_PASSWORD


@pytest.fixture
def landing_app(make_app):
    return make_app("landing", NAME="Parti Ouvert", DESCRIPTION="Le parti des idées ouvertes.")


def _seed(app):
    from coopol.accounts.models import Member
    from coopol.accounts.services import register_member
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.federation.models import Ally
    from coopol.ideas.services import create_idea
    from coopol.ideas.votes import cast_vote

    with app.test_request_context(), unit_of_work():
        alice = register_member("alice", "alice@example.org", TEST_PASSWORD, bypass_policy=True)
        bob = register_member("bob", "bob@example.org", TEST_PASSWORD, bypass_policy=True)
        db.session.add(Ally(host="verts.example", base_url="https://verts.example", name="Les Verts Unis",
                            group_id="https://verts.example/g", group_inbox="https://verts.example/g/inbox",
                            outgoing="accepted", incoming="accepted", consecutive_failures=0, last_error=""))
        remote = Member(handle="zoe@verts.example", host="verts.example", session_token="x")
        db.session.add(remote)
        db.session.flush()
        popular = create_idea(alice, title="Free night buses", body="Every night.")
        create_idea(alice, title="A quiet idea", body="Nobody voted yet.")
        create_idea(alice, title="My secret draft", body="Not yet.", publish=False)
        theirs = create_idea(remote, title="Green roofs everywhere", body="From our allies.")
        theirs.origin_host, theirs.origin_name = "verts.example", "Les Verts Unis"
        for voter in (bob, remote):
            cast_vote(voter, popular, "support")
        cast_vote(bob, theirs, "oppose")


def test_the_landing_shows_the_party_its_participation_and_top_ideas(landing_app):
    _seed(landing_app)
    response = landing_app.test_client().get("/")

    assert response.status_code == 200  # no longer a redirect to the list
    html = response.get_data(as_text=True)
    assert "<h1 id=\"party-name\">Parti Ouvert</h1>" in html
    assert "Le parti des idées ouvertes." in html
    counters = {key: html.split(f'data-testid="counter-{key}"><strong>')[1].split("<")[0]
                for key in ("members", "ideas", "votes", "allies")}
    assert counters == {"members": "2", "ideas": "3", "votes": "3", "allies": "1"}
    ours, allies = html.split('id="top-ideas-heading"')[1].split('id="allies-ideas-heading"')
    assert ours.index("Free night buses") < ours.index("A quiet idea")  # the most supported first
    assert "My secret draft" not in html
    assert "Green roofs everywhere" in allies and "Les Verts Unis" in allies
    assert 'href="/register" data-testid="join"' in html and 'href="/ideas/new" data-testid="propose"' in html


def test_a_member_gets_the_landing_with_a_way_to_propose(landing_app):
    _seed(landing_app)
    client = landing_app.test_client()
    client.post("/login", data={"login": "alice", "password": TEST_PASSWORD})

    html = client.get("/").get_data(as_text=True)

    assert 'data-testid="propose"' in html and 'data-testid="join"' not in html
    assert "Free night buses" in html


def test_no_join_button_when_registration_is_closed(make_app):
    app = make_app("closed", REGISTRATION="closed")
    html = app.test_client().get("/").get_data(as_text=True)
    assert 'data-testid="join"' not in html and 'data-testid="propose"' in html


def test_visitors_share_a_cached_landing_and_members_get_a_fresh_one(make_app):
    app = make_app("cached", PUBLIC_CACHE_SECONDS=60)
    _seed(app)
    visitor = app.test_client()
    first = visitor.get("/")
    assert first.headers["Cache-Control"] == "public, max-age=60"
    from coopol.accounts.services import get_member_by_handle
    from coopol.core.uow import unit_of_work
    from coopol.ideas.services import create_idea

    with app.test_request_context(), unit_of_work():
        create_idea(get_member_by_handle("alice"), title="A brand new idea", body="Fresh.")
    assert "A brand new idea" not in visitor.get("/").get_data(as_text=True)  # from the cache
    member = app.test_client()
    member.post("/login", data={"login": "bob", "password": TEST_PASSWORD})
    assert "A brand new idea" in member.get("/").get_data(as_text=True)


def test_modules_register_participation_counters_and_sections(make_app, tmp_path):
    from coopol.core.landing import register_counter, register_section

    app = make_app("extended")
    register_counter(app, "gatherings", "gatherings", lambda: 7, order=50)
    (tmp_path / "extra").mkdir()
    register_section(app, "hidden", "no-such-template.html", lambda viewer: None)  # None: not shown
    html = app.test_client().get("/").get_data(as_text=True)
    assert 'data-testid="counter-gatherings"><strong>7</strong> <span>gatherings</span>' in html
    assert html.index('counter-allies') < html.index('counter-gatherings')  # by order


def test_favicon_is_served(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml" and b"<svg" in response.data
