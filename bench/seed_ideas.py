"""Ideas, tags, votes, per-host tallies and comments (issue 3), and the allies they come from (issue 5),
written straight into the models' tables in blocks of ideas.

Every counter is computed here from the rows written with it — `support_count`, `oppose_count`,
`comment_count`, the per-host `idea_tallies` rows — and the stored sort keys come from
`coopol.ideas.rankings.rankings()`, the function the app itself uses, so the seeded instance is one the
app could have produced. Ideas and comments get explicit ids (PostgreSQL sequences are moved past them).
"""

from __future__ import annotations

import html
import importlib.util
import random
from datetime import timedelta
from typing import Any

from sqlalchemy import func, inspect, select, text

from bench.bulk import Progress, bulk_insert
from bench.processes import free_port

BLOCK = 2_000  # ideas generated and written together (their tags, votes, tallies and comments follow)

WORDS = (
    "housing transport cycling tram bus rail climate energy solar wind heating insulation water school "
    "teachers childcare nursery library culture museum music sport park garden trees river canal bridge "
    "market farmers food canteen organic waste recycling repair cafe cooperative jobs wages training "
    "apprentices health clinic nurses doctors pharmacy elderly care disability access ramps pavement "
    "lighting safety police justice courts democracy assembly budget participatory referendum petition "
    "council mayor region europe border language translation migrants welcome refugees asylum housing "
    "rent tenants landlords vacancy tax wealth income pensions students university research science "
    "internet broadband privacy data open software digital literacy tourism noise airport port shipping "
    "fishing forest wolves biodiversity pollinators bees soil drought flood coast harbour ferry night "
    "trains tickets fares free mobility carsharing parking streets speed limits schools lunches"
).split()
SEARCH_WORDS = ("housing", "transport", "climate", "cooperative", "tram", "library", "pensions", "rent",
                "solar", "democracy", "biodiversity", "broadband", "trains", "childcare")
TAGS = ("transport", "housing", "climate", "education", "health", "culture", "economy", "democracy",
        "europe", "digital", "agriculture", "energy", "water", "youth", "elderly", "mobility", "justice",
        "tourism", "sport", "environment", "jobs", "taxes", "migration", "science", "safety", "food",
        "cycling", "waste", "rights", "budget")
STATES = ("published",) * 17 + ("evaluating",) * 2 + ("accepted",)


def ideas_available() -> bool:
    return importlib.util.find_spec("coopol.ideas.models") is not None


def federation_available() -> bool:
    return importlib.util.find_spec("coopol.federation.models") is not None


def _sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def seed_all(app, plan, data, rng: random.Random) -> None:
    from coopol.extensions import db

    if not ideas_available():
        data.notes.append("ideas: coopol.ideas.models does not exist yet; no ideas, votes or comments seeded")
        return
    tables = db.metadata.tables
    with db.engine.begin() as conn:
        missing = [name for name in ("ideas", "idea_votes", "idea_tallies", "comments", "tags")
                   if not inspect(conn).has_table(name)]
        if missing:
            data.notes.append(f"ideas: the database has no {', '.join(missing)} table (no migration yet)")
            return
        seed_allies(conn, tables, app, plan, data)
        seed_tags(conn, tables, data)
        seed_ideas(conn, tables, app, plan, data, rng, first_id=1, count=plan.ideas, votes=plan.votes,
                   comments=plan.comments, page_comments=plan.page_comments)
        fix_sequences(conn, ("ideas", "comments"))


def seed_allies(conn, tables, app, plan, data) -> None:
    from bench.seed import ALLY_NAMES, seed_remote_members

    # Allies live on loopback ports nothing listens on: their deliveries wait in the outbox.
    data.allies = [{"host": f"127.0.0.1:{free_port()}", "name": ALLY_NAMES[i]} for i in range(plan.allies)]
    hosts = [ally["host"] for ally in data.allies]
    seed_remote_members(conn, tables, hosts, plan, data)
    if not federation_available() or not inspect(conn).has_table("federation_allies"):
        data.notes.append("allies: no federation tables yet; allies are remote members only")
        return
    from coopol.federation.signatures import generate_rsa_keypair

    allies, actors = tables["federation_allies"], tables["federation_remote_actors"]
    rows, actor_rows = [], []
    for ally in data.allies:
        host = ally["host"]
        base = f"http://{host}"
        private, public = generate_rsa_keypair()  # one key for the ally's persons and Group (bench only)
        ally.update(base_url=base, group_id=f"{base}/g/ideas", private_key_pem=private, public_key_pem=public)
        rows.append({"host": host, "base_url": base, "group_id": f"{base}/g/ideas",
                     "group_inbox": f"{base}/g/ideas/inbox", "shared_inbox": f"{base}/inbox",
                     "name": ally["name"], "outgoing": "accepted", "incoming": "accepted",
                     "our_follow_id": f"{app.config['URL']}/activities/follow-{host}",
                     "their_follow_id": f"{base}/activities/follow-us", "consecutive_failures": 0,
                     "last_error": ""})
        actor_rows.append({"ap_id": f"{base}/g/ideas", "host": host, "type": "Group",
                           "preferred_username": "ideas", "name": ally["name"], "inbox": f"{base}/g/ideas/inbox",
                           "shared_inbox": f"{base}/inbox", "key_id": f"{base}/g/ideas#main-key",
                           "public_key_pem": public})
        for i in range(plan.remote_members_per_ally):
            ap_id = f"{base}/u/ally{i:04d}"
            actor_rows.append({"ap_id": ap_id, "host": host, "type": "Person", "preferred_username": f"ally{i:04d}",
                               "name": f"Ally member {i}", "inbox": f"{ap_id}/inbox", "shared_inbox": f"{base}/inbox",
                               "key_id": f"{ap_id}#main-key", "public_key_pem": public})
    bulk_insert(conn, allies, rows, label="allies")
    bulk_insert(conn, actors, actor_rows, label="remote actors")
    data.counts["allies"] = len(rows)


def seed_tags(conn, tables, data) -> None:
    tags = tables["tags"]
    bulk_insert(conn, tags, ({"name": name} for name in TAGS), label="tags")
    data.tag_ids = dict(conn.execute(select(tags.c.name, tags.c.id)).all())
    data.tags = list(TAGS)


def seed_ideas(conn, tables, app, plan, data, rng: random.Random, *, first_id: int, count: int, votes: int,
               comments: int, page_comments: int = 0) -> None:
    """`count` ideas from id `first_id`, with about `votes` votes and exactly `comments` comments."""
    from coopol.core.time import utcnow
    from coopol.ideas.rankings import rankings
    from coopol.ideas.scopes import DEFAULT_SCOPES

    server_host = app.config["SERVER_HOST"]
    now = utcnow()
    scopes = [s["code"] for s in (app.config.get("SCOPES") or DEFAULT_SCOPES)]
    data.scopes = scopes
    data.search_words = list(SEARCH_WORDS)
    local_ids = data.member_ids
    remote = {host: ids for host, ids in data.remote_member_ids.items() if ids}
    pool = local_ids + [m for ids in remote.values() for m in ids]
    host_of = {m: host for host, ids in remote.items() for m in ids}
    ally_names = {a["host"]: a["name"] for a in data.allies}
    ally_hosts = list(remote)

    # How many votes and comments each idea gets: heavy-tailed, like real attention.
    weights = [rng.paretovariate(1.3) for _ in range(count)]
    scale = votes / sum(weights)
    vote_counts = [min(len(pool), int(w * scale + rng.random())) for w in weights]
    page_id = first_id if page_comments else None
    spread = comments - (page_comments if page_id else 0)
    comment_counts = [0] * count
    others = [i for i in range(count) if first_id + i != page_id]
    for _ in range(spread):
        comment_counts[rng.choice(others)] += 1
    if page_id:
        comment_counts[0] = page_comments
        data.page_idea_id = page_id

    t = {name: tables[name] for name in ("ideas", "idea_tags", "idea_votes", "idea_tallies", "comments")}
    progress = Progress("ideas, tags, votes, tallies, comments", None)
    comment_id = _next_id(conn, t["comments"])
    totals = dict.fromkeys(("ideas", "votes", "comments", "tallies"), 0)
    votable: list[int] = []
    tag_ids = list(data.tag_ids.values())
    for block_start in range(0, count, BLOCK):
        idea_rows, link_rows, vote_rows, tally_rows, comment_rows = [], [], [], [], []
        for i in range(block_start, min(count, block_start + BLOCK)):
            idea_id = first_id + i
            origin = ally_hosts[(idea_id // 10) % len(ally_hosts)] if ally_hosts and idea_id % 10 == 0 \
                and idea_id != page_id else None
            author = rng.choice(remote[origin]) if origin else rng.choice(local_ids)
            published = now - timedelta(seconds=rng.uniform(600, 90 * 86400))
            last = published + (now - published) * rng.random()
            support_share = rng.random()
            support = oppose = 0
            per_host: dict[str, list[int]] = {}
            for voter in rng.sample(pool, vote_counts[i]):
                value = "support" if rng.random() < support_share else "oppose"
                when = published + (now - published) * rng.random()
                vote_rows.append({"idea_id": idea_id, "member_id": voter, "value": value, "created_at": when,
                                  "updated_at": when, "ap_id": None})
                tally = per_host.setdefault(host_of.get(voter, server_host), [0, 0])
                if value == "support":
                    support += 1
                    tally[0] += 1
                else:
                    oppose += 1
                    tally[1] += 1
            for host, (s, o) in per_host.items():
                tally_rows.append({"idea_id": idea_id, "host": host, "support": s, "oppose": o})
            ideas_comments: list[tuple[int, int | None, int, int]] = []  # id, root, depth, parent
            for _ in range(comment_counts[i]):
                parent = rng.choice(ideas_comments) if ideas_comments and rng.random() < 0.35 else None
                depth = parent[2] + 1 if parent else 0
                if depth > 3:
                    parent, depth = None, 0
                commenter = rng.choice(pool)
                chost = host_of.get(commenter)
                body = _sentence(rng, 8, 60).capitalize() + "."
                comment_rows.append({
                    "id": comment_id, "idea_id": idea_id, "author_id": commenter,
                    "parent_id": parent[0] if parent else None,
                    "root_id": (parent[1] or parent[0]) if parent else None, "depth": depth,
                    "stance": rng.choice(("for", "for", "against", "neutral")), "body": body,
                    "body_html": f"<p>{html.escape(body)}</p>",
                    "created_at": published + (now - published) * rng.random(),
                    "up_count": 0, "down_count": 0, "ap_id": f"http://{chost}/comments/{comment_id}" if chost else None,
                    "origin_host": chost})
                ideas_comments.append((comment_id, comment_rows[-1]["root_id"], depth, 0))
                comment_id += 1
            title = _sentence(rng, 4, 10).capitalize()
            body = "\n\n".join(_sentence(rng, 20, 60).capitalize() + "." for _ in range(rng.randint(1, 3)))
            state = STATES[rng.randrange(len(STATES))] if idea_id != page_id else "published"
            if state in ("published", "evaluating"):
                votable.append(idea_id)
            ranks = rankings(published_at=published, last_activity_at=last, support=support, oppose=oppose,
                             comments=comment_counts[i])
            idea_rows.append({
                "id": idea_id, "author_id": author, "title": title, "body": body,
                "body_html": "".join(f"<p>{html.escape(p)}</p>" for p in body.split("\n\n")),
                "scope": rng.choice(scopes), "language": "en", "state": state, "support_count": support,
                "oppose_count": oppose, "comment_count": comment_counts[i], **ranks, "created_at": published,
                "published_at": published, "updated_at": published, "last_activity_at": last,
                "ap_id": f"http://{origin}/ideas/{idea_id}" if origin else None, "origin_host": origin,
                "origin_name": ally_names.get(origin) if origin else None,
                "url": f"http://{origin}/ideas/{idea_id}" if origin else None})
            for tag_id in rng.sample(tag_ids, rng.randint(1, 3)):
                link_rows.append({"idea_id": idea_id, "tag_id": tag_id})
        bulk_insert(conn, t["ideas"], idea_rows, progress=progress)
        bulk_insert(conn, t["idea_tags"], link_rows, progress=progress)
        if vote_rows:
            bulk_insert(conn, t["idea_votes"], vote_rows, progress=progress)
        if tally_rows:
            bulk_insert(conn, t["idea_tallies"], tally_rows, progress=progress)
        if comment_rows:
            bulk_insert(conn, t["comments"], comment_rows, progress=progress)
        totals["ideas"] += len(idea_rows)
        totals["votes"] += len(vote_rows)
        totals["tallies"] += len(tally_rows)
        totals["comments"] += len(comment_rows)
    progress.finish()
    data.idea_ids = list(range(1, first_id + count))
    data.votable_idea_ids = (data.votable_idea_ids or []) + votable  # voting is closed on decided ideas
    for key, value in totals.items():
        data.counts[key] = data.counts.get(key, 0) + value


def _next_id(conn, table) -> int:
    return (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1


def fix_sequences(conn, names: tuple[str, ...]) -> None:
    if conn.dialect.name != "postgresql":
        return
    for name in names:
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                          f"COALESCE((SELECT max(id) FROM {name}), 1))"))


def summary(data: Any) -> dict[str, Any]:
    return dict(data.counts)
