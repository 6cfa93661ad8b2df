"""events: the origin's time of the last answer for a person whose RSVP on a copy is gone

Revision ID: 0025_event_rsvp_answer_clocks
Revises: 0020_events_counts_clock

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0025_event_rsvp_answer_clocks'
down_revision = '0020_events_counts_clock'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'event_rsvp_answer_clocks',
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_rsvp_answer_clocks_event_id_events'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'],
                                name=op.f('fk_event_rsvp_answer_clocks_member_id_members'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('event_id', 'member_id', name=op.f('pk_event_rsvp_answer_clocks')),
    )
    op.create_index(op.f('ix_event_rsvp_answer_clocks_member_id'), 'event_rsvp_answer_clocks', ['member_id'])


def downgrade():
    op.drop_index(op.f('ix_event_rsvp_answer_clocks_member_id'), table_name='event_rsvp_answer_clocks')
    op.drop_table('event_rsvp_answer_clocks')
