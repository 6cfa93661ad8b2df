"""events: the online link an ally's origin sent one of our members going (on their RSVP of the copy)

Revision ID: 0019_events_online_link
Revises: 0012_events

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019_events_online_link'
down_revision = '0012_events'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('event_rsvps') as batch_op:
        batch_op.add_column(sa.Column('online_url', sa.String(length=2048), nullable=True))


def downgrade():
    with op.batch_alter_table('event_rsvps') as batch_op:
        batch_op.drop_column('online_url')
