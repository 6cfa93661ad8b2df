"""events: when a local gathering's counts last changed, and the origin's `updated` of the last Event
applied to a copy (an older Update delivered after a newer one is ignored); on an RSVP of a copy, the
origin's time of the last answer applied

Revision ID: 0020_events_counts_clock
Revises: 0019_events_online_link

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0020_events_counts_clock'
down_revision = '0019_events_online_link'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events') as batch_op:
        batch_op.add_column(sa.Column('counts_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('origin_updated_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('event_rsvps') as batch_op:
        batch_op.add_column(sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('event_rsvps') as batch_op:
        batch_op.drop_column('answered_at')
    with op.batch_alter_table('events') as batch_op:
        batch_op.drop_column('origin_updated_at')
        batch_op.drop_column('counts_at')
