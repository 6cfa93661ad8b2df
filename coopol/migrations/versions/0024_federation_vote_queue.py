"""federation: the queue of our members' votes waiting for the worker to sign and send them

Revision ID: 0024_federation_vote_queue
Revises: 0023_federation_inbox_queue

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0024_federation_vote_queue'
down_revision = '0023_federation_inbox_queue'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'federation_vote_queue',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('target_type', sa.String(length=16), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('undone', sa.String(length=16), nullable=True),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('last_error', sa.Text(), nullable=False, server_default=''),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_federation_vote_queue_member_id_members'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_federation_vote_queue')),
    )


def downgrade():
    op.drop_table('federation_vote_queue')
