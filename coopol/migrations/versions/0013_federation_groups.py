"""federation: each local group is a `Group` actor with its own key pair

Revision ID: 0013_federation_groups
Revises: 0011_vote_clock
Depends on: 0010_groups

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013_federation_groups'
down_revision = '0011_vote_clock'
branch_labels = None
depends_on = '0010_groups'


def upgrade():
    op.create_table('federation_group_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('public_key_pem', sa.Text(), nullable=False),
    sa.Column('private_key_encrypted', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_federation_group_keys_group_id_groups'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_federation_group_keys')),
    sa.UniqueConstraint('group_id', name=op.f('uq_federation_group_keys_group_id'))
    )


def downgrade():
    op.drop_table('federation_group_keys')
