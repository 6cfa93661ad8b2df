"""Seeding a bench instance straight into the models' tables, in batches.

Members and their API tokens come first (tokens are stored as the SHA-256 of the raw `cpl_...`
value, exactly as `coopol.accounts.services.create_token` does). Ideas, votes, comments and allies
follow when their modules exist; their counters and per-host tallies are computed here so they stay
consistent with the vote and comment rows.
"""

from __future__ import annotations

import hashlib
import random
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bench.bulk import bulk_insert
from bench.instance import Instance, log


@dataclass(frozen=True)
class SeedPlan:
    ideas: int = 10_000
    votes: int = 100_000
    comments: int = 50_000
    allies: int = 3
    members: int = 5_000
    remote_members_per_ally: int = 100
    tokens: int = 2_000
    page_comments: int = 50

    @classmethod
    def for_size(cls, size: str) -> SeedPlan:
        if size == "full":
            return cls()
        if size == "quick":
            return cls(ideas=1_000, votes=10_000, comments=5_000, members=500, remote_members_per_ally=30,
                       tokens=300)
        if size == "smoke":
            return cls(ideas=200, votes=1_000, comments=300, members=100, remote_members_per_ally=10, tokens=50)
        raise ValueError(size)


@dataclass
class SeedData:
    plan: SeedPlan
    member_ids: list[int] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)  # raw tokens, one per member in token_member_ids
    token_member_ids: list[int] = field(default_factory=list)
    remote_member_ids: dict[str, list[int]] = field(default_factory=dict)  # ally host -> member ids
    allies: list[dict[str, Any]] = field(default_factory=list)  # host, name (+ keys with federation)
    tag_ids: dict[str, int] = field(default_factory=dict)
    votable_idea_ids: list[int] | None = None
    idea_ids: list[int] = field(default_factory=list)
    page_idea_id: int | None = None
    tags: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)
    search_words: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


ALLY_NAMES = ("Les Verts de Lyon", "Partido Cooperativo", "Grüne Genossenschaft", "Cooperative Left",
              "Parti Citoyen")


def seed(instance: Instance, plan: SeedPlan, rng: random.Random | None = None) -> SeedData:
    rng = rng or random.Random(7)
    data = SeedData(plan=plan)
    log(f"Seeding {instance.name} ({instance.database.kind}): {plan.ideas:,} ideas, {plan.votes:,} votes, "
        f"{plan.comments:,} comments, {plan.allies} allies, {plan.members:,} members")
    app = instance.app
    from coopol.extensions import db

    with app.app_context():
        with db.engine.begin() as conn:
            seed_members(conn, db.metadata.tables, plan, data, rng)
        from bench import seed_ideas

        seed_ideas.seed_all(app, plan, data, rng)
        analyse(db.engine)
    return data


def seed_members(conn, tables, plan: SeedPlan, data: SeedData, rng: random.Random) -> None:
    members = tables["members"]
    from coopol.core.time import utcnow

    now = utcnow()

    def local_rows():
        for i in range(plan.members):
            yield {"handle": f"bench{i:06d}", "display_name": f"Bench member {i}", "bio": "",
                   "email": f"bench{i:06d}@bench.example", "password_hash": None, "role": "member",
                   "status": "active", "session_token": secrets.token_hex(16),
                   "created_at": now - timedelta(minutes=plan.members - i)}

    bulk_insert(conn, members, local_rows(), total=plan.members, label="members")
    rows = conn.execute(select(members.c.id, members.c.handle).where(members.c.host.is_(None))
                        .where(members.c.handle.like("bench%")).order_by(members.c.id)).all()
    data.member_ids = [row.id for row in rows]

    token_table = tables["api_tokens"]
    chosen = data.member_ids[: plan.tokens]
    raws = [f"cpl_bench{i}_{secrets.token_urlsafe(24)}" for i in range(len(chosen))]

    def token_rows():
        for member_id, raw in zip(chosen, raws, strict=True):
            yield {"member_id": member_id, "name": "bench", "token_hash": sha256(raw), "prefix": raw[:10],
                   # Last used yesterday, as on a real instance: the first call of each records its use.
                   "created_at": now - timedelta(days=30), "last_used_at": now - timedelta(days=1)}

    bulk_insert(conn, token_table, token_rows(), total=len(chosen), label="api tokens")
    data.tokens, data.token_member_ids = raws, chosen
    data.counts.update(members=len(data.member_ids), tokens=len(raws))


def seed_remote_members(conn, tables, hosts: list[str], plan: SeedPlan, data: SeedData) -> None:
    """Persons of allied instances, as federation records them (handle@host, ap_id)."""
    members = tables["members"]
    from coopol.core.time import utcnow

    now = utcnow()

    def rows():
        for host in hosts:
            for i in range(plan.remote_members_per_ally):
                yield {"handle": f"ally{i:04d}@{host}", "display_name": f"Ally member {i}", "bio": "",
                       "email": None, "password_hash": None, "role": "member", "status": "active",
                       "session_token": secrets.token_hex(16), "host": host,
                       "ap_id": f"http://{host}/u/ally{i:04d}", "created_at": now}

    bulk_insert(conn, members, rows(), total=len(hosts) * plan.remote_members_per_ally, label="remote members")
    for host in hosts:
        data.remote_member_ids[host] = list(conn.scalars(
            select(members.c.id).where(members.c.host == host).order_by(members.c.id)))


def analyse(engine) -> None:
    """Fresh statistics, as a live database would have: the planner must see the seeded tables."""
    from sqlalchemy import text

    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
