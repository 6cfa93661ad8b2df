"""federation: durable backfill jobs (one per ally, queued with the alliance, run by the worker)

Revision ID: 0006_federation_backfill
Revises: 0005_federation_bans

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006_federation_backfill'
down_revision = '0005_federation_bans'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('federation_backfills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('next_url', sa.String(length=2048), nullable=True),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('seen', sa.Integer(), nullable=False),
    sa.Column('stored', sa.Integer(), nullable=False),
    sa.Column('skipped', sa.Integer(), nullable=False),
    sa.Column('comments', sa.Integer(), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_federation_backfills')),
    sa.UniqueConstraint('host', name=op.f('uq_federation_backfills_host'))
    )
    with op.batch_alter_table('federation_backfills', schema=None) as batch_op:
        batch_op.create_index('ix_federation_backfills_due', ['state', 'next_attempt_at'], unique=False)


def downgrade():
    with op.batch_alter_table('federation_backfills', schema=None) as batch_op:
        batch_op.drop_index('ix_federation_backfills_due')

    op.drop_table('federation_backfills')
