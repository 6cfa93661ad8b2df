"""The "supported across parties" ranking: planted camps, determinism, unranked ideas, API, pages, worker, CLI."""

from __future__ import annotations

import re

import numpy as np
import pytest
from sqlalchemy import select

LOCAL, ALLY_A, ALLY_B = "local.coopol.test", "ally-a.test", "ally-b.test"
# Two camps spread over three parties: the big camp is mostly local and ally-a, the small one mostly ally-b.
CAMPS = {"big": [LOCAL] * 12 + [ALLY_A] * 8 + [ALLY_B] * 4, "small": [LOCAL] * 2 + [ALLY_A] * 2 + [ALLY_B] * 8}


def _member(db, host: str, handle: str):
    from coopol.accounts.models import Member

    if host == LOCAL:
        member = Member(handle=handle, email=f"{handle}@example.org", session_token=handle)
    else:
        member = Member(handle=f"{handle}@{host}", host=host, ap_id=f"https://{host}/u/{handle}", session_token=handle)
    db.session.add(member)
    return member


@pytest.fixture
def planted(app):
    """Ideas of three kinds: two bridging ones (10 votes each, 4 of 5 support in each camp), four that only the
    big camp supports (all 36 vote, the small camp opposes: many more net supports), two that only the small
    camp supports, and one with 3 votes. Returns {kind: [idea ids]}."""
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.ideas.services import cast_vote, create_idea

    with app.test_request_context(), unit_of_work():
        camps = {camp: [_member(db, host, f"{camp}{n}") for n, host in enumerate(hosts)]
                 for camp, hosts in CAMPS.items()}
        db.session.flush()
        author = camps["big"][0]
        ideas = {kind: [create_idea(author, title=f"{kind} idea {n}", body="Body.").id for n in range(count)]
                 for kind, count in (("bridging", 2), ("big_camp", 4), ("small_camp", 2), ("few", 1))}
        from coopol.ideas.models import Idea

        def vote(member, idea_id, value):
            cast_vote(member, db.session.get(Idea, idea_id), value)

        for idea_id in ideas["big_camp"] + ideas["small_camp"]:
            winner = "big" if idea_id in ideas["big_camp"] else "small"
            for camp, members in camps.items():
                for member in members:
                    vote(member, idea_id, "support" if camp == winner else "oppose")
        for i, idea_id in enumerate(ideas["bridging"]):
            # every party takes part: 5 of each camp, spread over the hosts, 4 of them support
            for camp, members in camps.items():
                chosen = members[i::5][:5] if camp == "big" else members[i::2][:5]
                opposing = 1 if camp == "big" else 4  # a local member of the big camp, one of ally-b in the small
                for n, member in enumerate(chosen):
                    vote(member, idea_id, "oppose" if n == opposing else "support")
        for member in camps["big"][:3]:
            vote(member, ideas["few"][0], "support")
    return ideas


def _fit(app):
    from coopol.bridging.services import fit_bridging
    from coopol.core.uow import unit_of_work

    with app.app_context(), unit_of_work():
        return fit_bridging()


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json
    return [item["id"] for item in response.json["items"]]


def test_bridging_ranks_ideas_supported_across_camps_first_and_top_does_not(app, client, planted):
    report = _fit(app)
    assert report.votes == 2 * 10 + 6 * 36 + 3 and report.parties == 3 and report.ranked == 8
    top = ids(client.get("/api/v1/ideas?sort=top"))
    assert set(top[:4]) == set(planted["big_camp"])  # the most net supports win "top"
    bridging = ids(client.get("/api/v1/ideas?sort=bridging"))
    assert set(bridging[:2]) == set(planted["bridging"])
    assert planted["few"][0] not in bridging  # 3 votes < BRIDGING_MIN_VOTES: not ranked
    assert len(bridging) == 8

    items = {item["id"]: item for item in client.get("/api/v1/ideas?sort=bridging").json["items"]}
    first = items[planted["bridging"][0]]["bridging"]
    assert first["parties"] == 3 and 0 < first["score"] <= 1
    assert all(items[i]["bridging"]["parties"] <= 2 for i in planted["big_camp"] + planted["small_camp"])
    assert all(items[i]["bridging"]["score"] < first["score"] for i in planted["big_camp"])
    assert client.get(f"/api/v1/ideas/{planted['few'][0]}").json["bridging"] is None


def test_the_fit_is_deterministic(app, planted):
    from coopol.bridging.model import score_votes
    from coopol.bridging.models import IdeaBridging
    from coopol.extensions import db

    def stored():
        _fit(app)
        with app.app_context():
            rows = [(r.idea_id, r.score, r.intercept, r.factor, r.party_support, r.sides)
                    for r in db.session.scalars(select(IdeaBridging).order_by(IdeaBridging.idea_id))]
            db.session.remove()
            return rows

    assert stored() == stored()
    rng = np.random.default_rng(3)
    members, ideas, parties = rng.integers(0, 40, 400), rng.integers(0, 30, 400), rng.integers(0, 3, 400)
    values = rng.integers(0, 2, 400)
    first, second = (score_votes(members, ideas, parties, values, 40, 30, 3) for _ in range(2))
    assert np.array_equal(first.score, second.score)
    assert np.array_equal(first.factorisation.member_factors, second.factorisation.member_factors)


def test_keyset_pages_walk_the_whole_ranking(app, client, planted):
    _fit(app)
    whole = ids(client.get("/api/v1/ideas?sort=bridging"))
    walked, cursor = [], None
    while True:
        response = client.get("/api/v1/ideas", query_string={"sort": "bridging", "limit": 3,
                                                               **({"cursor": cursor} if cursor else {})})
        walked += ids(response)
        cursor = response.json["next_cursor"]
        if not cursor:
            break
    assert walked == whole
    top_cursor = client.get("/api/v1/ideas?sort=top&limit=1").json["next_cursor"]
    answer = client.get("/api/v1/ideas", query_string={"sort": "bridging", "cursor": top_cursor})
    assert answer.status_code == 422 and "cursor" in answer.json["errors"]
    bad = client.get("/api/v1/ideas?sort=bridgin")
    assert bad.status_code == 422 and "bridging" in bad.json["errors"]["sort"][0]


def test_too_few_votes_is_not_ranked_and_before_a_fit_nothing_is(app, client, planted):
    assert ids(client.get("/api/v1/ideas?sort=bridging")) == []
    assert client.get(f"/api/v1/ideas/{planted['bridging'][0]}").json["bridging"] is None
    page = client.get(f"/ideas/{planted['few'][0]}")
    assert page.status_code == 200 and 'data-testid="bridging-unranked"' in page.text
    _fit(app)
    page = client.get(f"/ideas/{planted['few'][0]}")
    assert 'data-testid="bridging-unranked"' in page.text and "needs 5 votes" in page.text


def test_the_idea_page_says_why_with_a_chart_per_party(app, client, planted):
    _fit(app)
    page = client.get(f"/ideas/{planted['bridging'][0]}")
    assert page.status_code == 200
    why = re.search(r'data-testid="bridging-why">([^<]*)<', page.text).group(1)
    assert "supported by members of 3 parties" in why
    assert "support is similar on both sides of the main divide" in why
    chart = re.search(r'<svg[^>]*bridging-chart.*?</svg>', page.text, re.S).group(0)
    assert chart.count('class="bar"') == 3 and "Coopol local" in chart
    split = client.get(f"/ideas/{planted['big_camp'][0]}").text
    assert "differs between the two sides of the main divide" in split

    listing = client.get("/ideas?sort=bridging")
    assert listing.status_code == 200 and 'aria-current="true" class="current">across parties' in listing.text
    assert "only ideas with at least 5 votes are ranked" in listing.text
    positions = [listing.text.index(f"bridging idea {n}") for n in range(2)]
    assert max(positions) < listing.text.index("big_camp idea 0")


def test_the_worker_refits_on_schedule_and_after_enough_new_votes(app, planted):
    from coopol.bridging.services import bridging_task
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.ideas.models import Idea
    from coopol.ideas.services import cast_vote

    app.config.update(BRIDGING_CHECK_SECONDS=0, BRIDGING_REFIT_VOTES=3, BRIDGING_FIT_SECONDS=3600)
    with app.app_context():
        assert bridging_task() == 1  # never fitted
        assert bridging_task() == 0  # nothing new
        with app.test_request_context(), unit_of_work():
            idea = db.session.get(Idea, planted["few"][0])
            for n in range(3):
                cast_vote(_member(db, LOCAL, f"late{n}"), idea, "support")
        assert bridging_task() == 1
        from coopol.bridging.services import scores_for

        assert planted["few"][0] in scores_for([planted["few"][0]])  # 6 votes now: ranked
        app.config["BRIDGING_FIT_SECONDS"] = 0
        assert bridging_task() == 1  # on schedule


def test_cli_fit_prints_its_time_and_the_admin_panel_shows_the_last_fit(app, client, planted, create_member, auth):
    create_member("chief", role="admin")
    auth.login("chief")
    assert 'data-testid="bridging-fit"' not in client.get("/admin/bridging").text
    result = app.test_cli_runner().invoke(args=["bridging", "fit"])
    assert result.exit_code == 0, result.output
    assert re.search(r"Fitted 239 votes of 36 members on 9 ideas \(3 parties\) in \d+\.\d\d s", result.output)
    panel = client.get("/admin/bridging")
    assert panel.status_code == 200 and "239 votes, 8 ideas ranked" in panel.text


def test_an_instance_that_hides_tallies_while_open_hides_the_bridging_figures_too(app, client, planted):
    _fit(app)
    app.config["HIDE_TALLIES_WHILE_OPEN"] = True
    assert client.get(f"/api/v1/ideas/{planted['bridging'][0]}").json["bridging"] is None
    assert 'data-testid="bridging"' not in client.get(f"/ideas/{planted['bridging'][0]}").text
