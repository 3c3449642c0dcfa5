"""coverage queue: records awaiting their commune's coverage drain; visit lines by resident

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25 15:00:00

- ``coverage_pending``: one row per visit, household or resident a push changed, written in the
  push's transaction and deleted by the commune's next drain (``server/services/
  coverage_queue.py``), so a burst of pushes costs one refresh instead of one each;
- ``ix_visit_services_resident_id``: the drain reads a resident's lines; without it each refresh
  scanned every visit line of the province.

Nothing to convert: the coverage rows are unchanged. Jobs queued before the upgrade
(``refresh_coverage``) still run.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('coverage_pending',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=9), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('claimed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('coverage_pending', schema=None) as batch_op:
        batch_op.create_index('ix_coverage_pending_commune', ['commune_id'], unique=False)
    with op.batch_alter_table('visit_services', schema=None) as batch_op:
        batch_op.create_index('ix_visit_services_resident_id', ['resident_id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ANALYZE visit_services")


def downgrade():
    with op.batch_alter_table('visit_services', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_services_resident_id')
    with op.batch_alter_table('coverage_pending', schema=None) as batch_op:
        batch_op.drop_index('ix_coverage_pending_commune')
    op.drop_table('coverage_pending')
