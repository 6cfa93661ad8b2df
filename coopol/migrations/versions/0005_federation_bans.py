"""federation: bans announced by allied Groups (Block / Undo(Block))

Revision ID: 0005_federation_bans
Revises: 0004_federation

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005_federation_bans'
down_revision = '0004_federation'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('federation_ally_bans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_host', sa.String(length=255), nullable=False),
    sa.Column('group_id', sa.String(length=2048), nullable=False),
    sa.Column('actor_id', sa.String(length=2048), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('block_id', sa.String(length=2048), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_federation_ally_bans')),
    sa.UniqueConstraint('group_id', 'actor_id', name='uq_federation_ally_bans_group_actor')
    )
    with op.batch_alter_table('federation_ally_bans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_federation_ally_bans_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_federation_ally_bans_group_host'), ['group_host'], unique=False)


def downgrade():
    with op.batch_alter_table('federation_ally_bans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_federation_ally_bans_group_host'))
        batch_op.drop_index(batch_op.f('ix_federation_ally_bans_actor_id'))

    op.drop_table('federation_ally_bans')
