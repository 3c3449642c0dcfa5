"""household registry imports: the import tasks and what each import wrote

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 12:00:00

``registry_import_tasks`` tracks an uploaded CSV/XLSX of a hamlet's households and its job;
``registry_imported`` keeps, per household or resident an import wrote, the task, row and the
version it left, so a re-import never overwrites a phone's newer edit.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('registry_import_tasks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('hamlet_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('file_name', sa.String(length=160), nullable=False),
    sa.Column('file_format', sa.String(length=4), nullable=False),
    sa.Column('file_path', sa.String(length=255), nullable=False),
    sa.Column('file_bytes', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('report_path', sa.String(length=255), nullable=True),
    sa.Column('error', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['commune_id'], ['communes.id'], ),
    sa.ForeignKeyConstraint(['hamlet_id'], ['hamlets.id'], ),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_registry_import_tasks_commune_created', 'registry_import_tasks',
                    ['commune_id', 'created_at'], unique=False)
    op.create_table('registry_imported',
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('task_id', sa.Uuid(), nullable=False),
    sa.Column('row_number', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['registry_import_tasks.id'], ),
    sa.PrimaryKeyConstraint('record_id')
    )
    op.create_index(op.f('ix_registry_imported_task_id'), 'registry_imported', ['task_id'],
                    unique=False)


def downgrade():
    op.drop_index(op.f('ix_registry_imported_task_id'), table_name='registry_imported')
    op.drop_table('registry_imported')
    op.drop_index('ix_registry_import_tasks_commune_created', table_name='registry_import_tasks')
    op.drop_table('registry_import_tasks')
