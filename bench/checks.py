"""Consistency of a seeded (or benchmarked) database: every counter equals the rows it counts."""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

CHECKS = {
    "ideas.support_count/oppose_count = idea_votes": """
        SELECT count(*) FROM ideas i WHERE i.support_count <> (SELECT count(*) FROM idea_votes v
            WHERE v.idea_id = i.id AND v.value = 'support')
         OR i.oppose_count <> (SELECT count(*) FROM idea_votes v WHERE v.idea_id = i.id AND v.value = 'oppose')""",
    "sum of idea_tallies per idea = idea counts": """
        SELECT count(*) FROM ideas i WHERE i.support_count <> COALESCE((SELECT sum(t.support) FROM idea_tallies t
            WHERE t.idea_id = i.id), 0)
         OR i.oppose_count <> COALESCE((SELECT sum(t.oppose) FROM idea_tallies t WHERE t.idea_id = i.id), 0)""",
    "ideas.comment_count = comments": """
        SELECT count(*) FROM ideas i WHERE i.comment_count <> (SELECT count(*) FROM comments c
            WHERE c.idea_id = i.id AND c.deleted_at IS NULL)""",
}


def inconsistencies(conn: Connection) -> dict[str, int]:
    """{check: number of ideas that fail it}; empty when all hold (or there are no ideas yet)."""
    if not inspect(conn).has_table("ideas"):
        return {}
    found = {}
    for name, sql in CHECKS.items():
        bad = conn.execute(text(sql)).scalar_one()
        if bad:
            found[name] = bad
    return found
