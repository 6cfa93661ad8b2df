"""events: gatherings, their RSVPs and the recorded changes

Revision ID: 0012_events
Revises: 0010_groups

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012_events'
down_revision = '0010_groups'
branch_labels = ('events',)
depends_on = None


def upgrade():
    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('description_html', sa.Text(), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('mode', sa.String(length=16), nullable=False),
    sa.Column('place_name', sa.String(length=200), nullable=True),
    sa.Column('place_address', sa.String(length=500), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('online_url', sa.String(length=2048), nullable=True),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('waitlist', sa.Boolean(), nullable=False),
    sa.Column('requires_approval', sa.Boolean(), nullable=False),
    sa.Column('organiser_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('scope', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('cancel_reason', sa.Text(), nullable=True),
    sa.Column('report_minutes', sa.Text(), nullable=True),
    sa.Column('report_minutes_html', sa.Text(), nullable=True),
    sa.Column('turnout', sa.Integer(), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reported_by_id', sa.Integer(), nullable=True),
    sa.Column('going_count', sa.Integer(), nullable=False),
    sa.Column('waitlist_count', sa.Integer(), nullable=False),
    sa.Column('pending_count', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('hidden_reason', sa.Text(), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ap_id', sa.String(length=2048), nullable=True),
    sa.Column('origin_host', sa.String(length=255), nullable=True),
    sa.Column('origin_name', sa.String(length=200), nullable=True),
    sa.Column('url', sa.String(length=2048), nullable=True),
    sa.Column('reported_going_count', sa.Integer(), nullable=True),
    sa.Column('reported_waitlist_count', sa.Integer(), nullable=True),
    sa.CheckConstraint('going_count >= 0 AND waitlist_count >= 0 AND pending_count >= 0',
                       name=op.f('ck_events_counts_not_negative')),
    sa.CheckConstraint('origin_host IS NOT NULL OR capacity IS NULL OR going_count <= capacity',
                       name=op.f('ck_events_going_within_capacity')),
    sa.ForeignKeyConstraint(['organiser_id'], ['members.id'], name=op.f('fk_events_organiser_id_members'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_events_group_id_groups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reported_by_id'], ['members.id'], name=op.f('fk_events_reported_by_id_members'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('ap_id', name=op.f('uq_events_ap_id'))
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index('ix_events_starts_at', ['starts_at', 'id'], unique=False)
        batch_op.create_index('ix_events_ends_at', ['ends_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_organiser_id'), ['organiser_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_scope'), ['scope'], unique=False)
        batch_op.create_index(batch_op.f('ix_events_origin_host'), ['origin_host'], unique=False)

    op.create_table('event_rsvps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ap_id', sa.String(length=2048), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_rsvps_event_id_events'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_event_rsvps_member_id_members'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_rsvps')),
    sa.UniqueConstraint('event_id', 'member_id', name='uq_event_rsvps_event_member')
    )
    with op.batch_alter_table('event_rsvps', schema=None) as batch_op:
        batch_op.create_index('ix_event_rsvps_queue', ['event_id', 'status', 'queued_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_event_rsvps_member_id'), ['member_id'], unique=False)

    op.create_table('event_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('told_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_changes_event_id_events'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['actor_id'], ['members.id'], name=op.f('fk_event_changes_actor_id_members'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_changes'))
    )
    with op.batch_alter_table('event_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_changes_event_id'), ['event_id'], unique=False)


def downgrade():
    with op.batch_alter_table('event_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_changes_event_id'))
    op.drop_table('event_changes')
    with op.batch_alter_table('event_rsvps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_rsvps_member_id'))
        batch_op.drop_index('ix_event_rsvps_queue')
    op.drop_table('event_rsvps')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_origin_host'))
        batch_op.drop_index(batch_op.f('ix_events_scope'))
        batch_op.drop_index(batch_op.f('ix_events_group_id'))
        batch_op.drop_index(batch_op.f('ix_events_organiser_id'))
        batch_op.drop_index('ix_events_ends_at')
        batch_op.drop_index('ix_events_starts_at')
    op.drop_table('events')
