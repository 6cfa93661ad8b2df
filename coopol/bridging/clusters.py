"""Co-voting clusters on this instance's votes (covoting.py), stored for moderators; reviewing one records who
looked and when. No automatic sanction. A cluster found again (the same members) keeps its review."""

from __future__ import annotations

import hashlib

from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from coopol.accounts.models import Member
from coopol.bridging.models import VoteCluster
from coopol.core.errors import NotFound, PermissionDenied
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.ideas.guards import is_moderator
from coopol.ideas.models import Idea, IdeaVote


def _key(members: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, members)).encode()).hexdigest()


def detect_clusters() -> int:
    """Find the clusters in every vote and store them (the caller commits); returns how many there are."""
    import numpy as np  # the worker's task: web processes never import numpy

    from coopol.bridging.covoting import co_voting_clusters

    rows = db.session.execute(select(IdeaVote.member_id, IdeaVote.idea_id, IdeaVote.created_at)).all()
    found = co_voting_clusters(np.array([r[0] for r in rows], dtype=np.int64),
                               np.array([r[1] for r in rows], dtype=np.int64),
                               np.array([r[2].timestamp() for r in rows], dtype=np.float64)) if rows else []
    existing = {c.key: c for c in db.session.scalars(select(VoteCluster))}
    now, keys = utcnow(), set()
    for cluster in found:
        key = _key(cluster.members)
        keys.add(key)
        row = existing.get(key) or VoteCluster(key=key, members=cluster.members)
        row.size, row.pairs, row.strongest = len(cluster.members), cluster.pairs, cluster.strongest
        row.detected_at = now
        db.session.add(row)
    stale = [key for key, row in existing.items() if key not in keys and row.reviewed_at is None]
    if stale:
        db.session.execute(delete(VoteCluster).where(VoteCluster.key.in_(stale)))
    db.session.flush()
    return len(found)


def _ensure_moderator(viewer: Member | None) -> None:
    if not is_moderator(viewer):
        raise PermissionDenied(_("Only moderators can see co-voting clusters."))


def list_clusters(viewer: Member | None) -> list[dict]:
    """Unreviewed first, the biggest first; each with its members and the ideas two or more of them voted on."""
    _ensure_moderator(viewer)
    clusters = list(db.session.scalars(select(VoteCluster).order_by(VoteCluster.reviewed_at.is_not(None),
                                                                    VoteCluster.size.desc(), VoteCluster.id)))
    views = []
    for cluster in clusters:
        members = list(db.session.scalars(select(Member).where(Member.id.in_(cluster.members)).order_by(Member.handle)))
        touched = db.session.execute(
            select(Idea.id, Idea.title, func.count()).join(IdeaVote, IdeaVote.idea_id == Idea.id)
            .where(IdeaVote.member_id.in_(cluster.members)).group_by(Idea.id, Idea.title)
            .having(func.count() >= 2).order_by(func.count().desc(), Idea.id).limit(20)).all()
        reviewer = db.session.get(Member, cluster.reviewed_by_id) if cluster.reviewed_by_id else None
        views.append({"id": cluster.id, "size": cluster.size, "pairs": cluster.pairs, "strongest": cluster.strongest,
                      "detected_at": cluster.detected_at, "reviewed_at": cluster.reviewed_at,
                      "reviewed_by": reviewer.handle if reviewer else None,
                      "members": [m.handle for m in members],
                      "ideas": [{"id": i, "title": title, "voters": n} for i, title, n in touched]})
    return views


def review_cluster(viewer: Member | None, cluster_id: int) -> VoteCluster:
    _ensure_moderator(viewer)
    cluster = db.session.get(VoteCluster, cluster_id)
    if cluster is None:
        raise NotFound(_("No such cluster."))
    cluster.reviewed_at, cluster.reviewed_by_id = utcnow(), viewer.id
    db.session.flush()
    return cluster
