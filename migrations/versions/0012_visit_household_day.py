"""coverage drain: a household's visits by day

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26 14:00:00

``ix_visits_household_day (household_id, visited_on)`` replaces ``ix_visits_household_id``: a
drain recomputes a household's rows from the pending visit's day on, and with the day in the
index it reads those visits only, not the household's whole history. Lookups by household alone
use its first column.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_visits_household_day', 'visits', ['household_id', 'visited_on'],
                    unique=False)
    op.drop_index('ix_visits_household_id', table_name='visits')


def downgrade():
    op.create_index('ix_visits_household_id', 'visits', ['household_id'], unique=False)
    op.drop_index('ix_visits_household_day', table_name='visits')
