"""Fitting the bridging model on this instance's votes and storing the scores; the worker's schedule.

Every vote this instance holds counts (its own members' and allies' members' votes on its ideas and on its
copies of allies' ideas); a voter's party is their instance (`Member.host`, ours when None), as in the
per-instance tallies. A fit replaces every stored score in one transaction: a list never mixes two fits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from flask import current_app
from sqlalchemy import delete, func, insert, select, text

from coopol.accounts.models import Member
from coopol.bridging.models import BridgingFit, IdeaBridging
from coopol.core.time import utcnow
from coopol.extensions import db
from coopol.ideas.models import IdeaVote

if TYPE_CHECKING:  # numpy (14 MB) is imported by the fit only, not by every web process
    import numpy as np

    from coopol.bridging.model import Scores

_LOCK_KEY = 0x6272_6467  # "brdg": one fit at a time across every worker on PostgreSQL


@dataclass(frozen=True)
class FitReport:
    seconds: float  # the model alone
    total_seconds: float  # reading the votes, the model and writing the scores
    votes: int
    members: int
    ideas: int
    parties: int
    ranked: int
    iterations: int


def _read_votes() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    import numpy as np

    local = current_app.config["SERVER_HOST"]
    rows = db.session.execute(
        select(IdeaVote.member_id, IdeaVote.idea_id, IdeaVote.value == "support",
               func.coalesce(Member.host, local))
        .join(Member, Member.id == IdeaVote.member_id)
        .order_by(IdeaVote.member_id, IdeaVote.idea_id)).all()
    if not rows:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), np.zeros(0, dtype=object)
    member_ids, idea_ids, supports, hosts = zip(*rows, strict=True)
    return (np.asarray(member_ids, dtype=np.int64), np.asarray(idea_ids, dtype=np.int64),
            np.asarray(supports, dtype=np.float64), np.asarray(hosts, dtype=object))


def _rows(scores: Scores, idea_ids: np.ndarray, hosts: np.ndarray, minimum: int) -> list[dict]:
    import numpy as np

    now = utcnow()
    fit = scores.factorisation
    rows = []
    for n in np.flatnonzero(scores.votes >= minimum):
        supports, votes = scores.party_support[n], scores.party_votes[n]
        party_support = {str(hosts[p]): [int(supports[p]), int(votes[p])] for p in np.flatnonzero(votes)}
        rows.append({
            "idea_id": int(idea_ids[n]), "score": round(float(scores.score[n]), 9),
            "intercept": float(fit.idea_intercepts[n]), "factor": float(fit.idea_factors[n]),
            "support": float(scores.support[n]), "consensus": float(scores.consensus[n]),
            "votes": int(scores.votes[n]), "parties": int(np.count_nonzero(2 * supports > votes)),
            "party_support": party_support,
            "sides": [[int(scores.side_support[n, s]), int(scores.side_votes[n, s])] for s in (0, 1)],
            "fitted_at": now,
        })
    return rows


def fit_bridging() -> FitReport | None:
    """Fit the model on every vote and replace the stored scores (the caller commits). None when another
    worker is fitting right now (PostgreSQL)."""
    import numpy as np

    from coopol.bridging.model import score_votes

    started = time.perf_counter()
    if db.session.get_bind().dialect.name == "postgresql" and not db.session.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": _LOCK_KEY}):
        return None
    member_ids, idea_ids, values, vote_hosts = _read_votes()
    members, member_index = np.unique(member_ids, return_inverse=True)
    ideas, idea_index = np.unique(idea_ids, return_inverse=True)
    hosts, party_index = np.unique(vote_hosts.astype(str), return_inverse=True)
    model_started = time.perf_counter()
    scores = score_votes(member_index, idea_index, party_index, values, members.size, ideas.size, hosts.size)
    seconds = time.perf_counter() - model_started
    rows = _rows(scores, ideas, hosts, int(current_app.config["BRIDGING_MIN_VOTES"]))
    db.session.execute(delete(IdeaBridging))
    if rows:
        db.session.execute(insert(IdeaBridging), rows)
    report = FitReport(seconds, time.perf_counter() - started, int(values.size), int(members.size),
                       int(ideas.size), int(hosts.size), len(rows), scores.factorisation.iterations)
    db.session.add(BridgingFit(seconds=report.total_seconds, votes=report.votes, members=report.members,
                               ideas=report.ideas, parties=report.parties, ranked=report.ranked,
                               iterations=report.iterations, mu=scores.factorisation.mu))
    db.session.flush()
    return report


def last_fit() -> BridgingFit | None:
    return db.session.scalars(select(BridgingFit).order_by(BridgingFit.fitted_at.desc(), BridgingFit.id.desc())
                              .limit(1)).first()


def fit_due() -> bool:
    """On schedule (`BRIDGING_FIT_SECONDS` after the last fit) or after `BRIDGING_REFIT_VOTES` new votes."""
    last = last_fit()
    config = current_app.config
    if last is None:
        return db.session.scalar(select(IdeaVote.id).limit(1)) is not None
    if utcnow() - last.fitted_at >= timedelta(seconds=int(config["BRIDGING_FIT_SECONDS"])):
        return True
    threshold = int(config["BRIDGING_REFIT_VOTES"])
    new_votes = db.session.scalar(select(func.count()).select_from(
        select(IdeaVote.id).where(IdeaVote.created_at > last.fitted_at).limit(threshold).subquery()))
    return bool(threshold) and new_votes >= threshold


def bridging_task() -> int:
    """The worker's task: fit (and find co-voting clusters) when due, looked at every `BRIDGING_CHECK_SECONDS` at
    most; 1 when it fitted."""
    from coopol.core.uow import unit_of_work

    state = current_app.extensions.setdefault("coopol.bridging.checked", {"at": 0.0})
    if time.monotonic() - state["at"] < float(current_app.config["BRIDGING_CHECK_SECONDS"]):
        return 0
    state["at"] = time.monotonic()
    with unit_of_work():
        if not fit_due():
            return 0
        report = fit_bridging()
        if report is not None:
            from coopol.bridging.clusters import detect_clusters

            detect_clusters()
    if report is not None:
        current_app.logger.info("bridging fit: %d votes, %d ideas ranked, %.2f s", report.votes, report.ranked,
                                report.total_seconds)
    return 1 if report is not None else 0


def scores_for(idea_ids: list[int]) -> dict[int, IdeaBridging]:
    if not idea_ids:
        return {}
    return {row.idea_id: row for row in db.session.scalars(select(IdeaBridging)
                                                           .where(IdeaBridging.idea_id.in_(idea_ids)))}
