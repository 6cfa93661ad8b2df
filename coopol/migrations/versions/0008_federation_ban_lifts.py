"""federation: lifted bans keep their row (lifted_at), with the time the ally decided (decided_at), so
that Block and Undo(Block) delivered out of order end as the ally meant

Revision ID: 0008_federation_ban_lifts
Revises: 0006_federation_backfill

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008_federation_ban_lifts'
down_revision = '0006_federation_backfill'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('federation_ally_bans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.execute("DELETE FROM federation_ally_bans WHERE lifted_at IS NOT NULL")
    with op.batch_alter_table('federation_ally_bans', schema=None) as batch_op:
        batch_op.drop_column('decided_at')
        batch_op.drop_column('lifted_at')
