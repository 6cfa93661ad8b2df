"""federation: followers from the wider fediverse (not allies) and their likes, counted apart

Revision ID: 0016_federation_followers
Revises: 0013_federation_groups

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016_federation_followers'
down_revision = '0013_federation_groups'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'federation_followers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('group_actor', sa.String(length=2048), nullable=False),
        sa.Column('actor_id', sa.String(length=2048), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False, server_default=''),
        sa.Column('inbox', sa.String(length=2048), nullable=False),
        sa.Column('shared_inbox', sa.String(length=2048), nullable=True),
        sa.Column('follow_id', sa.String(length=2048), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False, server_default='pending'),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_federation_followers')),
        sa.UniqueConstraint('group_actor', 'actor_id', name='uq_federation_followers_group_actor'),
    )
    with op.batch_alter_table('federation_followers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_federation_followers_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_federation_followers_host'), ['host'], unique=False)
        batch_op.create_index('ix_federation_followers_state', ['group_actor', 'state'], unique=False)
    op.create_table(
        'federation_fediverse_votes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('target_type', sa.String(length=16), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('actor_id', sa.String(length=2048), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('activity_id', sa.String(length=2048), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_federation_fediverse_votes')),
        sa.UniqueConstraint('target_type', 'target_id', 'actor_id',
                            name='uq_federation_fediverse_votes_target_actor'),
    )
    with op.batch_alter_table('federation_fediverse_votes', schema=None) as batch_op:
        batch_op.create_index('ix_federation_fediverse_votes_target', ['target_type', 'target_id'], unique=False)


def downgrade():
    op.drop_table('federation_fediverse_votes')
    op.drop_table('federation_followers')
