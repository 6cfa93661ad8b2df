"""notifications: members block members (no follow either way, no notice from the blocked one)

Revision ID: 0021_notifications_blocks
Revises: 0014_notifications

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021_notifications_blocks'
down_revision = '0014_notifications'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('member_blocks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('blocked_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_blocks_member_id_members'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['blocked_id'], ['members.id'], name=op.f('fk_member_blocks_blocked_id_members'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_member_blocks')),
    sa.UniqueConstraint('member_id', 'blocked_id', name='uq_member_blocks_member_blocked')
    )
    with op.batch_alter_table('member_blocks', schema=None) as batch_op:
        batch_op.create_index('ix_member_blocks_blocked', ['blocked_id'], unique=False)


def downgrade():
    with op.batch_alter_table('member_blocks', schema=None) as batch_op:
        batch_op.drop_index('ix_member_blocks_blocked')
    op.drop_table('member_blocks')
