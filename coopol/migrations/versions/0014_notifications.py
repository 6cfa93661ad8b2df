"""notifications: follows, the home feed's activities, preferences; notifications become generic

The `notifications` table (moderation's until now) gains who caused a notice, what it is about, a count
and a coalescing key. Members already in a group follow it (membership implies following).

Revision ID: 0014_notifications
Revises: 0007_ideas_listing, 0012_events

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014_notifications'
down_revision = ('0007_ideas_listing', '0012_events')
branch_labels = ('notifications',)
depends_on = None


def upgrade():
    op.create_table('follows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target', sa.String(length=120), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('ap_id', sa.String(length=2048), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_follows_member_id_members'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_follows')),
    sa.UniqueConstraint('member_id', 'kind', 'target', name='uq_follows_member_kind_target')
    )
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.create_index('ix_follows_kind_target', ['kind', 'target'], unique=False)

    op.create_table('feed_activities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('object_type', sa.String(length=16), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['members.id'], name=op.f('fk_feed_activities_actor_id_members'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_activities'))
    )
    with op.batch_alter_table('feed_activities', schema=None) as batch_op:
        batch_op.create_index('ix_feed_activities_object', ['object_type', 'object_id'], unique=False)

    op.create_table('feed_activity_topics',
    sa.Column('activity_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['activity_id'], ['feed_activities.id'],
                            name=op.f('fk_feed_activity_topics_activity_id_feed_activities'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('activity_id', 'kind', 'target', name=op.f('pk_feed_activity_topics'))
    )
    with op.batch_alter_table('feed_activity_topics', schema=None) as batch_op:
        batch_op.create_index('ix_feed_topics_kind_target_activity', ['kind', 'target', 'activity_id'],
                              unique=False)

    op.create_table('notification_preferences',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('email_digest', sa.String(length=8), nullable=False),
    sa.Column('notify', sa.Text(), nullable=False),
    sa.Column('hide_follows', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'],
                            name=op.f('fk_notification_preferences_member_id_members'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_notification_preferences'))
    )

    op.create_table('event_reminders',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_reminders_event_id_events'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_event_reminders'))
    )

    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('target_type', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('target_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('count', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('group_key', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_notifications_actor_id_members'), 'members', ['actor_id'],
                                    ['id'], ondelete='SET NULL')
        batch_op.create_index('ix_notifications_member_key', ['member_id', 'group_key'], unique=False)

    # Membership implies following: members of a group when this runs follow it.
    op.execute("INSERT INTO follows (member_id, kind, target, state, created_at) "
               "SELECT member_id, 'group', CAST(group_id AS VARCHAR(120)), 'active', created_at "
               "FROM group_memberships WHERE state = 'active'")


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_member_key')
        batch_op.drop_constraint(batch_op.f('fk_notifications_actor_id_members'), type_='foreignkey')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('group_key')
        batch_op.drop_column('count')
        batch_op.drop_column('target_id')
        batch_op.drop_column('target_type')
        batch_op.drop_column('actor_id')
    op.drop_table('event_reminders')
    op.drop_table('notification_preferences')
    with op.batch_alter_table('feed_activity_topics', schema=None) as batch_op:
        batch_op.drop_index('ix_feed_topics_kind_target_activity')
    op.drop_table('feed_activity_topics')
    with op.batch_alter_table('feed_activities', schema=None) as batch_op:
        batch_op.drop_index('ix_feed_activities_object')
    op.drop_table('feed_activities')
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.drop_index('ix_follows_kind_target')
    op.drop_table('follows')
