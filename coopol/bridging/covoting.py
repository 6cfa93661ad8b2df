"""Co-voting clusters, after Community Notes' "post selection similarity": accounts that repeatedly vote on the
same ideas within minutes of each other. Pure numpy over the vote arrays (no database), like model.py.

Two members co-vote on an idea when both voted on it within `WINDOW_SECONDS` (20 minutes). For a pair that
co-voted on `c` ideas, with `n_a` and `n_b` the ideas each voted on and `N` the ideas with votes, the
normalised pointwise mutual information ``log(p_ab / (p_a p_b)) / −log p_ab`` (``p_ab = c / N``, ``p_a = n_a /
N``) is 1 when the two only ever vote together and about 0 when their co-votes are chance. Pairs with at least
`MIN_CO_VOTES` co-votes and an NPMI of at least `MIN_NPMI` are linked; a cluster is a connected group of
linked members. Nothing is sanctioned: moderators see the clusters and the ideas they touched.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW_SECONDS = 20 * 60
MIN_CO_VOTES = 3
MIN_NPMI = 0.5
MAX_NEIGHBOURS = 200  # votes on one idea looked at after each vote: bounds the cost of a very busy idea


@dataclass(frozen=True)
class Cluster:
    members: list[int]  # member ids, ascending
    pairs: int  # linked pairs inside it
    strongest: float  # its highest NPMI


def co_voting_clusters(members: np.ndarray, ideas: np.ndarray, seconds: np.ndarray, *,
                       window: float = WINDOW_SECONDS, min_co_votes: int = MIN_CO_VOTES,
                       min_npmi: float = MIN_NPMI) -> list[Cluster]:
    members, ideas = np.asarray(members, dtype=np.int64), np.asarray(ideas, dtype=np.int64)
    seconds = np.asarray(seconds, dtype=np.float64)
    if members.size < 2:
        return []
    order = np.lexsort((members, seconds, ideas))
    m, n, t = members[order], ideas[order], seconds[order]
    found = []
    for k in range(1, min(MAX_NEIGHBOURS, m.size - 1) + 1):
        close = (n[k:] == n[:-k]) & (t[k:] - t[:-k] <= window)
        if not close.any():
            break
        a, b = m[:-k][close], m[k:][close]
        found.append(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1))
    if not found:
        return []
    pairs, counts = np.unique(np.concatenate(found), axis=0, return_counts=True)
    keep = counts >= min_co_votes
    pairs, counts = pairs[keep], counts[keep]
    if not pairs.size:
        return []
    voted_ids, voted = np.unique(members, return_counts=True)
    per_member = dict(zip(voted_ids.tolist(), voted.tolist(), strict=True))
    total = float(np.unique(ideas).size)
    p_ab = counts / total
    p_a = np.array([per_member[a] for a in pairs[:, 0]]) / total
    p_b = np.array([per_member[b] for b in pairs[:, 1]]) / total
    with np.errstate(divide="ignore", invalid="ignore"):
        npmi = np.where(p_ab >= 1.0, 1.0, np.log(p_ab / (p_a * p_b)) / -np.log(p_ab))
    linked = npmi >= min_npmi
    return _components(pairs[linked], npmi[linked])


def _components(pairs: np.ndarray, npmi: np.ndarray) -> list[Cluster]:
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs.tolist():
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for x in list(parent):
        groups.setdefault(root(x), []).append(x)
    clusters = []
    for group in groups.values():
        inside = np.isin(pairs[:, 0], group)
        clusters.append(Cluster(sorted(group), int(inside.sum()), round(float(npmi[inside].max()), 4)))
    return sorted(clusters, key=lambda c: (-len(c.members), c.members))
