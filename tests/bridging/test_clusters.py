"""Co-voting clusters: a planted brigade is found, chance co-votes are not, moderators review, nobody else sees."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
from sqlalchemy import select, update


def test_the_pure_detector_finds_a_brigade_and_not_chance():
    from coopol.bridging.covoting import co_voting_clusters

    rng = np.random.default_rng(0)
    members, ideas, seconds = [], [], []
    for idea in range(5):  # four accounts, one minute apart, on five ideas days apart
        for n in range(4):
            members.append(1000 + n), ideas.append(idea), seconds.append(idea * 3 * 86400 + n * 60)
    for member in range(40):  # everyone else at random moments over a month
        for idea in rng.choice(20, 8, replace=False):
            members.append(member), ideas.append(int(idea)), seconds.append(float(rng.uniform(0, 30 * 86400)))
    found = co_voting_clusters(np.array(members), np.array(ideas), np.array(seconds))
    assert [c.members for c in found] == [[1000, 1001, 1002, 1003]]
    assert found[0].pairs == 6 and found[0].strongest > 0.5


def test_moderators_see_clusters_with_their_ideas_and_mark_them_reviewed(app, client, create_member, auth):
    from coopol.accounts.services import get_member_by_handle
    from coopol.bridging.clusters import detect_clusters
    from coopol.bridging.models import VoteCluster
    from coopol.core.time import utcnow
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.ideas.models import IdeaVote
    from coopol.ideas.services import cast_vote, create_idea

    for handle in ("moda", "ana", "bob0", "bob1", "bob2", "xena0", "xena1", "xena2"):
        create_member(handle, role="moderator" if handle == "moda" else "member")
    start = utcnow() - timedelta(days=30)
    with app.test_request_context(), unit_of_work():
        ana = get_member_by_handle("ana")
        ideas = [create_idea(ana, title=f"Topic {n}", body="Body.") for n in range(6)]
        for n, idea in enumerate(ideas):
            for k, handle in enumerate(("bob0", "bob1", "bob2", "xena0", "xena1", "xena2")):
                if handle.startswith("xena") and (n + k) % 2:
                    continue
                voter = get_member_by_handle(handle)
                cast_vote(voter, idea, "support")
                # the brigade votes within minutes; the others days apart
                db.session.execute(update(IdeaVote).where(IdeaVote.idea_id == idea.id, IdeaVote.member_id == voter.id)
                                   .values(created_at=start + (timedelta(days=n, minutes=k) if handle.startswith("bob")
                                                               else timedelta(days=n * 3 + k, hours=k))))
        assert detect_clusters() == 1
    assert client.get("/clusters").status_code == 302  # visitors log in first
    auth.login("ana")
    assert client.get("/clusters").status_code == 403
    auth.logout()
    auth.login("moda")
    page = client.get("/clusters")
    assert page.status_code == 200 and page.text.count('data-testid="cluster"') == 1
    assert "@bob0" in page.text and "@bob2" in page.text and "@xena0" not in page.text and "Topic 5" in page.text
    with app.app_context():
        cluster_id = db.session.scalar(select(VoteCluster.id))
        votes = db.session.scalar(select(db.func.count()).select_from(IdeaVote))
    assert client.post(f"/clusters/{cluster_id}/review").status_code == 302
    assert 'data-testid="reviewed"' in client.get("/clusters").text
    with app.app_context(), unit_of_work():
        detect_clusters()  # found again: keeps its review; nothing else changed
        cluster = db.session.get(VoteCluster, cluster_id)
        assert cluster.reviewed_at is not None and cluster.members == sorted(cluster.members)
        assert db.session.scalar(select(db.func.count()).select_from(IdeaVote)) == votes
    assert client.post("/clusters/999999/review").status_code == 302
