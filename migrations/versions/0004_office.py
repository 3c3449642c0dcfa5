"""office console: the review of visits (comment, reviewer, time, change sequence) and the indexes
the visits list pages by

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 09:00:00

``reviewed_by_id`` is not a foreign key: on SQLite a column with a REFERENCES clause cannot be
dropped again without rebuilding ``visits`` (a spatial table), and the audit log names the
reviewer anyway.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

INDEXES = [
    ('ix_visits_time', ['visited_at', 'id']),
    ('ix_visits_hamlet_time', ['hamlet_id', 'visited_at', 'id']),
    ('ix_visits_review_time', ['review_state', 'visited_at']),
    ('ix_visits_hamlet_seq', ['hamlet_id', 'change_seq']),
]


def upgrade():
    # Plain ADD COLUMNs (no batch): SQLite adds them in place, without copying the table.
    op.add_column('visits', sa.Column('review_comment', sa.Text(), nullable=True))
    op.add_column('visits', sa.Column('reviewed_by_id', sa.Integer(), nullable=True))
    op.add_column('visits', sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('visits', sa.Column('change_seq', sa.BigInteger(), nullable=False,
                                      server_default='0'))
    for name, columns in INDEXES:
        op.create_index(name, 'visits', columns, unique=False)


def downgrade():
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name='visits')
    for column in ('change_seq', 'reviewed_at', 'reviewed_by_id', 'review_comment'):
        op.drop_column('visits', column)
