"""ideas: an idea may be posted in a local group (`ideas.group_id`, set to NULL when the group goes)

Revision ID: 0018_ideas_group
Revises: 0007_ideas_listing
Depends on: 0010_groups

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018_ideas_group'
down_revision = '0007_ideas_listing'
branch_labels = None
depends_on = '0010_groups'

FK_NAME = 'fk_ideas_group_id_groups'
INDEX_NAME = 'ix_ideas_group_id'


def upgrade():
    if op.get_bind().dialect.name == 'sqlite':
        # SQLite adds a column with its REFERENCES clause in place; a batch copy of the table would drop the
        # full-text triggers of 0002_ideas.
        op.execute('ALTER TABLE ideas ADD COLUMN group_id INTEGER '
                   f'CONSTRAINT {FK_NAME} REFERENCES groups (id) ON DELETE SET NULL')
    else:
        op.add_column('ideas', sa.Column('group_id', sa.Integer(), nullable=True))
        op.create_foreign_key(FK_NAME, 'ideas', 'groups', ['group_id'], ['id'], ondelete='SET NULL')
    op.create_index(INDEX_NAME, 'ideas', ['group_id'], unique=False)


def downgrade():
    op.drop_index(INDEX_NAME, table_name='ideas')
    if op.get_bind().dialect.name == 'sqlite':
        import importlib.util
        from pathlib import Path

        # SQLite cannot drop a column that a foreign key uses: rebuild the table, then its search triggers.
        with op.batch_alter_table('ideas', schema=None, recreate='always') as batch_op:
            batch_op.drop_column('group_id')
        spec = importlib.util.spec_from_file_location('_ideas_0002', Path(__file__).with_name('0002_ideas_ideas.py'))
        ideas_0002 = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(ideas_0002)
        ideas_0002.create_search_index()
    else:
        op.drop_constraint(FK_NAME, 'ideas', type_='foreignkey')
        op.drop_column('ideas', 'group_id')
