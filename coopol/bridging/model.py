"""The bridging model: pure numpy over sparse vote arrays, no database, so the worker, the CLI, the tests and
the benchmark all fit the same function (and a fit of a million votes stays a matter of seconds).

Two published ideas, combined:

1. Community Notes' matrix factorisation (one factor). Each vote is 1 (support) or 0 (oppose) and is
   explained as ``vote ≈ μ + member intercept + idea intercept + member factor × idea factor``. The factor
   product soaks up the main opinion axis (the divide that makes one camp support what the other opposes);
   what is left in the idea's intercept is the support it gets *whatever side people are on*. The fit is
   ridge-regularised, intercepts five times more than factors (Community Notes' ratio, λ 0.15 vs 0.03 per
   rating; here as sums of squares, `LAMBDA_INTERCEPT` 5 vs `LAMBDA_FACTOR` 1), so an intercept needs many
   agreeing votes to move, and the factors, not the intercepts, explain polarised votes. Alternating least
   squares: with one side fixed, each member's (or idea's) intercept and factor is a 2×2 ridge problem,
   solved for all of them at once with `np.bincount` sums over the vote arrays; a seeded start and
   sequential sums make the result the same for the same votes, run after run.

2. Pol.is' group-aware consensus, with the parties (the voter's instance) as groups: for each party the
   smoothed share of its members who support, ``(support + 1) / (votes + 2)`` (a party that did not vote
   counts ½), multiplied over every party that votes on this instance. We take the geometric mean of that
   product (its P-th root for P parties), so the value stays between 0 and 1 whatever the number of allies.

One score: ``score = √(support × consensus)`` where ``support = clip(μ + idea intercept, 0, 1)`` is the
support a member in the middle of the main divide is predicted to give. A geometric mean of the two: an
idea ranks high only when people on both sides of the divide support it *and* members of every party do;
a big party (or a brigade) voting as one moves neither much.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LAMBDA_INTERCEPT = 5.0
LAMBDA_FACTOR = 1.0
ITERATIONS = 50
TOLERANCE = 1e-7
SEED = 17


@dataclass(frozen=True)
class Factorisation:
    mu: float
    member_intercepts: np.ndarray
    member_factors: np.ndarray
    idea_intercepts: np.ndarray
    idea_factors: np.ndarray
    iterations: int
    loss: float


@dataclass(frozen=True)
class Scores:
    """Per idea (arrays indexed like the fit's ideas)."""

    factorisation: Factorisation
    votes: np.ndarray  # votes per idea
    support: np.ndarray  # clip(μ + intercept, 0, 1)
    consensus: np.ndarray  # geometric mean over parties of (support + 1) / (votes + 2)
    score: np.ndarray
    party_support: np.ndarray  # (ideas, parties) supports
    party_votes: np.ndarray  # (ideas, parties) votes
    side_support: np.ndarray  # (ideas, 2) supports among voters with a positive / negative factor
    side_votes: np.ndarray  # (ideas, 2)


def _solve(groups: np.ndarray, size: int, target: np.ndarray, other_factor: np.ndarray,
           lambda_intercept: float, lambda_factor: float) -> tuple[np.ndarray, np.ndarray]:
    """For each group (member or idea): the intercept b and factor f minimising
    Σ (target − b − f·x)² + λi b² + λf f², where x is the other side's factor of each vote."""
    count = np.bincount(groups, minlength=size).astype(np.float64)
    sx = np.bincount(groups, other_factor, minlength=size)
    sxx = np.bincount(groups, other_factor * other_factor, minlength=size)
    sy = np.bincount(groups, target, minlength=size)
    sxy = np.bincount(groups, target * other_factor, minlength=size)
    a, d = count + lambda_intercept, sxx + lambda_factor
    det = a * d - sx * sx  # > 0: λ > 0 and Cauchy-Schwarz
    return (d * sy - sx * sxy) / det, (a * sxy - sx * sy) / det


def factorise(members: np.ndarray, ideas: np.ndarray, values: np.ndarray, n_members: int, n_ideas: int, *,
              lambda_intercept: float = LAMBDA_INTERCEPT, lambda_factor: float = LAMBDA_FACTOR,
              iterations: int = ITERATIONS, tolerance: float = TOLERANCE, seed: int = SEED) -> Factorisation:
    """Fit vote ≈ μ + b_member + b_idea + f_member·f_idea on sparse votes (index arrays, values 0/1)."""
    values = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    mu = float(values.mean()) if values.size else 0.0
    b_member, b_idea = np.zeros(n_members), np.zeros(n_ideas)
    f_member = np.zeros(n_members)
    f_idea = rng.normal(0.0, 0.5, n_ideas)
    loss, done = np.inf, 0
    for done in range(1, iterations + 1):  # noqa: B007 - `done` is reported
        b_member, f_member = _solve(members, n_members, values - mu - b_idea[ideas], f_idea[ideas],
                                    lambda_intercept, lambda_factor)
        b_idea, f_idea = _solve(ideas, n_ideas, values - mu - b_member[members], f_member[members],
                                lambda_intercept, lambda_factor)
        residual = values - b_member[members] - b_idea[ideas] - f_member[members] * f_idea[ideas]
        mu = float(residual.mean()) if values.size else 0.0
        error = residual - mu
        new_loss = float(error @ error + lambda_intercept * (b_member @ b_member + b_idea @ b_idea)
                         + lambda_factor * (f_member @ f_member + f_idea @ f_idea))
        if np.isfinite(loss) and loss - new_loss <= tolerance * max(loss, 1.0):
            loss = new_loss
            break
        loss = new_loss
    # The factor's sign is arbitrary: orient it so that most voters sit on the positive side (stable output).
    if np.count_nonzero(f_member > 0) < np.count_nonzero(f_member < 0):
        f_member, f_idea = -f_member, -f_idea
    return Factorisation(mu, b_member, f_member, b_idea, f_idea, done, loss)


def score_votes(members: np.ndarray, ideas: np.ndarray, parties: np.ndarray, values: np.ndarray,
                n_members: int, n_ideas: int, n_parties: int, **fit_options) -> Scores:
    """The factorisation, the parties' consensus and the combined score of every idea."""
    members, ideas, parties = (np.asarray(a, dtype=np.int64) for a in (members, ideas, parties))
    values = np.asarray(values, dtype=np.float64)
    fit = factorise(members, ideas, values, n_members, n_ideas, **fit_options)
    votes = np.bincount(ideas, minlength=n_ideas)

    cell = ideas * n_parties + parties
    party_votes = np.bincount(cell, minlength=n_ideas * n_parties).reshape(n_ideas, n_parties)
    party_support = np.rint(np.bincount(cell, values, minlength=n_ideas * n_parties)).astype(np.int64) \
        .reshape(n_ideas, n_parties)
    if n_parties:
        consensus = np.exp(np.log((party_support + 1.0) / (party_votes + 2.0)).mean(axis=1))
    else:
        consensus = np.zeros(n_ideas)

    support = np.clip(fit.mu + fit.idea_intercepts, 0.0, 1.0)
    score = np.sqrt(support * consensus)

    side = np.where(fit.member_factors[members] >= 0, 0, 1)
    side_cell = ideas * 2 + side
    side_votes = np.bincount(side_cell, minlength=n_ideas * 2).reshape(n_ideas, 2)
    side_support = np.rint(np.bincount(side_cell, values, minlength=n_ideas * 2)).astype(np.int64) \
        .reshape(n_ideas, 2)
    return Scores(fit, votes, support, consensus, score, party_support, party_votes, side_support, side_votes)
