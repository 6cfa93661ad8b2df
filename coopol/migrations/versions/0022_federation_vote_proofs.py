"""federation: vote proofs (members' Ed25519 keys, signed votes kept, remote actors' Multikeys) and their health

Revision ID: 0022_federation_vote_proofs
Revises: 0016_federation_followers

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0022_federation_vote_proofs'
down_revision = '0016_federation_followers'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'federation_member_proof_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('public_key_multibase', sa.String(length=64), nullable=False),
        sa.Column('private_key_encrypted', sa.LargeBinary(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_federation_member_proof_keys_member_id_members'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_federation_member_proof_keys')),
        sa.UniqueConstraint('member_id', name=op.f('uq_federation_member_proof_keys_member_id')),
    )
    op.create_table(
        'federation_vote_proofs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('target_type', sa.String(length=16), nullable=False),
        sa.Column('target_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('activity_id', sa.String(length=2048), nullable=False),
        sa.Column('activity', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_federation_vote_proofs_member_id_members'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_federation_vote_proofs')),
        sa.UniqueConstraint('member_id', 'target_type', 'target_id', name='uq_federation_vote_proofs_member_target'),
    )
    with op.batch_alter_table('federation_vote_proofs', schema=None) as batch_op:
        batch_op.create_index('ix_federation_vote_proofs_target', ['target_type', 'target_id'], unique=False)
    op.create_table(
        'federation_proof_health',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('host', sa.String(length=255), nullable=False),
        sa.Column('refused_proofs', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('last_refused_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_refused_reason', sa.Text(), nullable=False, server_default=''),
        sa.Column('audited_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('audit_idea', sa.String(length=2048), nullable=False, server_default=''),
        sa.Column('audit_votes', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('audit_problems', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('audit_summary', sa.Text(), nullable=False, server_default=''),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_federation_proof_health')),
        sa.UniqueConstraint('host', name=op.f('uq_federation_proof_health_host')),
    )
    with op.batch_alter_table('federation_remote_actors', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proof_keys', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('federation_remote_actors', schema=None) as batch_op:
        batch_op.drop_column('proof_keys')
    op.drop_table('federation_proof_health')
    op.drop_table('federation_vote_proofs')
    op.drop_table('federation_member_proof_keys')
