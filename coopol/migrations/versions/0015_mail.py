"""mail: the e-mail outbox, per-member mail settings, members.email_confirmed_at

Revision ID: 0015_mail
Revises: 0001_accounts

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015_mail'
down_revision = '0001_accounts'
branch_labels = ('mail',)
depends_on = None


def upgrade():
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('mail_outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=True),
    sa.Column('to_address', sa.String(length=254), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('dedupe_key', sa.String(length=120), nullable=True),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.String(length=255), nullable=False),
    sa.Column('text_body', sa.Text(), nullable=False),
    sa.Column('html_body', sa.Text(), nullable=False),
    sa.Column('unsubscribe_url', sa.String(length=2048), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_mail_outbox_member_id_members'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mail_outbox')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_mail_outbox_dedupe_key')),
    sa.UniqueConstraint('message_id', name=op.f('uq_mail_outbox_message_id'))
    )
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_outbox_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_mail_outbox_due', ['state', 'next_attempt_at'], unique=False)

    op.create_table('mail_settings',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('unsubscribed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('digest_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('digest_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_mail_settings_member_id_members'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_mail_settings'))
    )
    with op.batch_alter_table('mail_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_settings_digest_checked_at'), ['digest_checked_at'], unique=False)


def downgrade():
    with op.batch_alter_table('mail_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_settings_digest_checked_at'))
    op.drop_table('mail_settings')
    with op.batch_alter_table('mail_outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_mail_outbox_due')
        batch_op.drop_index(batch_op.f('ix_mail_outbox_member_id'))
    op.drop_table('mail_outbox')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('email_confirmed_at')
