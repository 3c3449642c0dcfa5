"""office reports: every approved month snapshot (append-only) and XLSX report tasks

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:00:00

``month_approvals`` (0001) keeps the latest approval of a month; this adds the history of every
approval and the rows that track report jobs.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('month_approval_snapshots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=False),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_month_approval_snapshots_commune_month', 'month_approval_snapshots',
                    ['commune_id', 'month'], unique=False)
    op.create_table('report_tasks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=False),
    sa.Column('date_to', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('file_path', sa.String(length=255), nullable=True),
    sa.Column('error', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], ),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_report_tasks_commune_created', 'report_tasks',
                    ['commune_id', 'created_at'], unique=False)


def downgrade():
    op.drop_index('ix_report_tasks_commune_created', table_name='report_tasks')
    op.drop_table('report_tasks')
    op.drop_index('ix_month_approval_snapshots_commune_month',
                  table_name='month_approval_snapshots')
    op.drop_table('month_approval_snapshots')
