"""federation: backfill jobs count the pages and bytes of the ideas collection they read, and record the
collections the backfill bounds cut short (how many, the last one and why)

Revision ID: 0009_c_backfill_truncated
Revises: 0008_federation_ban_lifts

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009_c_backfill_truncated'
down_revision = '0008_federation_ban_lifts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('federation_backfills', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pages', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('bytes_read', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('truncated', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('truncation', sa.Text(), nullable=False, server_default=''))


def downgrade():
    with op.batch_alter_table('federation_backfills', schema=None) as batch_op:
        batch_op.drop_column('truncation')
        batch_op.drop_column('truncated')
        batch_op.drop_column('bytes_read')
        batch_op.drop_column('pages')
