"""Benchmark of the bridging fit: 1,000,000 synthetic votes (50,000 members × 5,000 ideas, sparse) in two
camps and three parties, fitted by the same function the worker runs (coopol/bridging/model.py).

    python -m bench.bridging [--votes 1000000] [--members 50000] [--ideas 5000] [--end-to-end]

Prints the fit's time, its iterations, and whether the planted bridging ideas rank above the one-camp
ones. Index arrays only, never a dense members × ideas matrix (that would be 250 million cells).
`--end-to-end` also stores the votes in a throw-away SQLite instance and times what the worker does there
(`fit_bridging`: reading every vote, the fit, replacing the stored scores).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def synthetic_votes(n_votes: int, n_members: int, n_ideas: int, seed: int = 1):
    """Votes in two camps (60 % / 40 %); a tenth of the ideas bridge (70 % support in both camps), the
    others split the camps (85 % vs 15 %); three parties, each leaning to a camp or mixed."""
    rng = np.random.default_rng(seed)
    camp = (rng.random(n_members) < 0.4).astype(np.int64)  # 0: the bigger camp
    party = np.where(camp == 0, rng.choice(3, n_members, p=[0.6, 0.1, 0.3]),
                     rng.choice(3, n_members, p=[0.1, 0.6, 0.3]))
    bridging = rng.random(n_ideas) < 0.1
    lean = rng.integers(0, 2, n_ideas)  # the camp a divisive idea pleases
    members = rng.integers(0, n_members, n_votes)
    ideas = rng.integers(0, n_ideas, n_votes)
    key = np.unique(members * n_ideas + ideas)  # one vote per member and idea
    members, ideas = key // n_ideas, key % n_ideas
    p = np.where(bridging[ideas], 0.7, np.where(camp[members] == lean[ideas], 0.85, 0.15))
    values = (rng.random(members.size) < p).astype(np.float64)
    return members, ideas, party[members], values, bridging


def main(argv: list[str] | None = None) -> int:
    from coopol.bridging.model import score_votes

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=50_000)
    parser.add_argument("--ideas", type=int, default=5_000)
    parser.add_argument("--end-to-end", action="store_true", help="also time the worker's whole fit on SQLite")
    args = parser.parse_args(argv)
    members, ideas, parties, values, bridging = synthetic_votes(args.votes, args.members, args.ideas)
    started = time.perf_counter()
    scores = score_votes(members, ideas, parties, values, args.members, args.ideas, 3)
    seconds = time.perf_counter() - started
    top = np.argsort(-scores.score, kind="stable")[: int(bridging.sum())]
    print(f"bridging fit: {members.size:,} votes, {args.members:,} members, {args.ideas:,} ideas: "
          f"{seconds:.2f} s ({scores.factorisation.iterations} iterations)")
    print(f"planted bridging ideas among the top {top.size}: {bridging[top].mean():.1%}")
    from coopol.bridging.covoting import co_voting_clusters

    moments = np.random.default_rng(2).uniform(0, 90 * 86400, members.size)  # three months of votes
    started = time.perf_counter()
    clusters = co_voting_clusters(members, ideas, moments)
    print(f"co-voting clusters over the same votes: {time.perf_counter() - started:.2f} s, {len(clusters)} found")
    if args.end_to_end:
        end_to_end(members, ideas, parties, values, args.members, args.ideas)
    return 0


def end_to_end(members, ideas, parties, values, n_members: int, n_ideas: int) -> None:
    import tempfile
    from pathlib import Path

    from flask_migrate import upgrade
    from sqlalchemy import insert

    from coopol import create_app
    from coopol.accounts.models import Member
    from coopol.bridging.services import fit_bridging
    from coopol.core.uow import unit_of_work
    from coopol.extensions import db
    from coopol.ideas.models import Idea, IdeaVote

    hosts = [None, "ally-a.example", "ally-b.example"]
    party_of = np.zeros(n_members, dtype=np.int64)
    party_of[members] = parties
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"INSTANCE_PATH": folder, "SECRET_KEY": "bench", "TESTING": True,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(folder) / 'bench.sqlite'}"})
        with app.app_context():
            upgrade(revision="heads")
            started = time.perf_counter()
            db.session.execute(insert(Member), [
                {"id": m + 1, "handle": f"m{m}" if party_of[m] == 0 else f"m{m}@{hosts[party_of[m]]}",
                 "host": hosts[party_of[m]], "session_token": str(m)} for m in range(n_members)])
            db.session.execute(insert(Idea), [{"id": n + 1, "author_id": 1, "title": f"Idea {n}", "language": "en",
                                               "state": "published"} for n in range(n_ideas)])
            db.session.execute(insert(IdeaVote), [
                {"member_id": int(m) + 1, "idea_id": int(n) + 1, "value": "support" if v else "oppose"}
                for m, n, v in zip(members, ideas, values, strict=True)])
            db.session.commit()
            print(f"stored {members.size:,} votes in SQLite in {time.perf_counter() - started:.1f} s")
            with unit_of_work():
                report = fit_bridging()
            print(f"fit_bridging on SQLite: {report.total_seconds:.2f} s in all (the model {report.seconds:.2f} s),"
                  f" {report.ranked:,} ideas ranked")
            db.engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
