"""federation: the time of the latest vote activity applied per remote person and idea or comment (a
tombstone after an Undo), so that votes delivered out of order end as their sender meant

Revision ID: 0011_vote_clock
Revises: 0009_c_backfill_truncated

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011_vote_clock'
down_revision = '0009_c_backfill_truncated'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('federation_vote_clocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('target_type', sa.String(length=16), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('voted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('activity_id', sa.String(length=2048), nullable=False),
    sa.Column('undone', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_federation_vote_clocks_member_id_members'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_federation_vote_clocks')),
    sa.UniqueConstraint('member_id', 'target_type', 'target_id', name='uq_federation_vote_clocks_member_target')
    )


def downgrade():
    op.drop_table('federation_vote_clocks')
