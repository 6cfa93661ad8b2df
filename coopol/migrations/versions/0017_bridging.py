"""bridging: stored scores of the `sort=bridging` ranking, the history of its fits, co-voting clusters

Revision ID: 0017_bridging
Revises: 0007_ideas_listing

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017_bridging'
down_revision = '0007_ideas_listing'
branch_labels = ('bridging',)
depends_on = None


def upgrade():
    op.create_table('idea_bridging',
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('intercept', sa.Float(), nullable=False),
    sa.Column('factor', sa.Float(), nullable=False),
    sa.Column('support', sa.Float(), nullable=False),
    sa.Column('consensus', sa.Float(), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.Column('parties', sa.Integer(), nullable=False),
    sa.Column('party_support', sa.JSON(), nullable=False),
    sa.Column('sides', sa.JSON(), nullable=False),
    sa.Column('fitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_idea_bridging_idea_id_ideas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('idea_id', name=op.f('pk_idea_bridging'))
    )
    with op.batch_alter_table('idea_bridging', schema=None) as batch_op:
        batch_op.create_index('ix_idea_bridging_sort', ['score', 'idea_id'], unique=False)

    op.create_table('bridging_fits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('fitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('ideas', sa.Integer(), nullable=False),
    sa.Column('parties', sa.Integer(), nullable=False),
    sa.Column('ranked', sa.Integer(), nullable=False),
    sa.Column('iterations', sa.Integer(), nullable=False),
    sa.Column('mu', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bridging_fits'))
    )
    with op.batch_alter_table('bridging_fits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bridging_fits_fitted_at'), ['fitted_at'], unique=False)

    op.create_table('vote_clusters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('pairs', sa.Integer(), nullable=False),
    sa.Column('strongest', sa.Float(), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reviewed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['reviewed_by_id'], ['members.id'], name=op.f('fk_vote_clusters_reviewed_by_id_members'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vote_clusters')),
    sa.UniqueConstraint('key', name=op.f('uq_vote_clusters_key'))
    )


def downgrade():
    op.drop_table('vote_clusters')
    with op.batch_alter_table('bridging_fits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bridging_fits_fitted_at'))
    op.drop_table('bridging_fits')
    with op.batch_alter_table('idea_bridging', schema=None) as batch_op:
        batch_op.drop_index('ix_idea_bridging_sort')
    op.drop_table('idea_bridging')
