"""federation: the inbox is a queue: received activities are picked up in order of arrival

Revision ID: 0023_federation_inbox_queue
Revises: 0022_federation_vote_proofs

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0023_federation_inbox_queue'
down_revision = '0022_federation_vote_proofs'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('federation_inbox', schema=None) as batch_op:
        batch_op.create_index('ix_federation_inbox_pickup', ['state', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('federation_inbox', schema=None) as batch_op:
        batch_op.drop_index('ix_federation_inbox_pickup')
