"""Listing indexes: one per sort, on the sort's own columns and the id (the keyset order), so that a page
of ideas reads about 20 index entries whatever the size of the table. They replace the (state, column)
indexes, which could not serve `ORDER BY column DESC` over several states.

Revision ID: 0007_ideas_listing
Revises: 0003_moderation
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_ideas_listing"
down_revision = "0003_moderation"
branch_labels = None
depends_on = None

OLD = {
    "ix_ideas_state_hot": ["state", "hot_score"],
    "ix_ideas_state_published": ["state", "published_at"],
    "ix_ideas_state_score": ["state", "score"],
    "ix_ideas_state_comments": ["state", "comment_count"],
    "ix_ideas_state_controversy": ["state", "controversy_score"],
}
NEW = {
    "ix_ideas_sort_hot": ["hot_score", "id"],
    "ix_ideas_sort_new": ["published_at", "id"],
    "ix_ideas_sort_top": ["score", "support_count", "id"],
    "ix_ideas_sort_comments": ["comment_count", "last_activity_at", "id"],
    "ix_ideas_sort_controversial": ["controversy_score", "support_count", "id"],
}


PINNED = "ix_ideas_pinned"  # the few pinned ideas, listed first: found without reading the others


def upgrade():
    # Plain CREATE/DROP INDEX: no table rebuild, so the full-text triggers on `ideas` stay in place.
    for name, columns in NEW.items():
        op.create_index(name, "ideas", columns)
    op.create_index(PINNED, "ideas", ["pinned_at"], sqlite_where=sa.text("pinned_at IS NOT NULL"),
                    postgresql_where=sa.text("pinned_at IS NOT NULL"))
    for name in OLD:
        op.drop_index(name, table_name="ideas")


def downgrade():
    op.drop_index(PINNED, table_name="ideas")
    for name, columns in OLD.items():
        op.create_index(name, "ideas", columns)
    for name in NEW:
        op.drop_index(name, table_name="ideas")
