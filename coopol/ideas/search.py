"""Full-text search with each database's own index and ranking: SQLite FTS5 (bm25), PostgreSQL
tsvector + GIN (ts_rank_cd). The index objects are created by the 0002_ideas migration."""

from __future__ import annotations

import re

from sqlalchemy import Double, Float, Integer, cast, func, literal_column, text

from coopol.extensions import db
from coopol.ideas.models import Idea

MAX_TERMS = 12
WORD_RE = re.compile(r"\w+", re.UNICODE)


def search_terms(query: str | None) -> list[str]:
    """Words only: operators and quotes typed by people never reach the search engine's syntax."""
    return [w.lower() for w in WORD_RE.findall(query or "")][:MAX_TERMS]


def apply_search(stmt, terms: list[str]):
    """Restrict `stmt` (a select of Idea) to matches; return it with a relevance column (higher is better)."""
    if db.session.get_bind().dialect.name == "postgresql":
        expression = " & ".join(f"{t}:*" if i == len(terms) - 1 else t for i, t in enumerate(terms))
        query = func.to_tsquery("simple", expression)
        vector = literal_column("ideas.search_vector")
        # ts_rank_cd is a float4: as a double, the value in a cursor compares equal to the one in the table.
        rank = cast(func.ts_rank_cd(vector, query), Double()).label("relevance")
        return stmt.where(vector.op("@@")(query)), rank
    expression = " ".join(f'"{t}"*' if i == len(terms) - 1 else f'"{t}"' for i, t in enumerate(terms))
    matches = (text("SELECT rowid AS idea_id, -bm25(ideas_fts, 10.0, 1.0) AS relevance "
                    "FROM ideas_fts WHERE ideas_fts MATCH :fts_query")
               .bindparams(fts_query=expression)
               .columns(idea_id=Integer, relevance=Float).subquery("matches"))
    stmt = stmt.join(matches, matches.c.idea_id == Idea.id)
    return stmt, matches.c.relevance
