"""coverage speed: monthly ``has`` rows, folded adult birth years, covering indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 13:00:00

- ``coverage_has_months``: per (hamlet, service, month, birth year) the sum of that month's
  ``coverage_service_days.has_delta``, so ``has`` at a date reads months + one month of days;
- ``coverage_service_days``: birth years adult at every accepted date (≤ EARLIEST_DATE.year −
  MAX_ADULT_AGE = 1999) folded into bucket 0 (with the household subjects);
- an index on (hamlet_id, day) of ``coverage_service_days`` and (hamlet_id, month) of the new
  table, covering (``INCLUDE``) what ``has`` reads on PostgreSQL;
- ``ANALYZE services`` on PostgreSQL (a dozen rows, below autovacuum's threshold).

The existing rows are folded and the month rows filled here, in SQL (the same sums
``flask aggregates rebuild`` writes); no rebuild is needed. Downgrade drops the new table and
indexes and leaves the day rows folded: the 0005 code reads them right (bucket 0 is ≤ every
adult cut-off it computes for dates from 2020 on).
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

FOLDED_BORN_BY = 2020 - 21  # EARLIEST_DATE.year - MAX_ADULT_AGE (server/models/coverage.py)
INCLUDE = ['service_code', 'birth_year', 'has_delta']


def upgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    op.create_table('coverage_has_months',
    sa.Column('hamlet_id', sa.Integer(), nullable=False),
    sa.Column('service_code', sa.String(length=16), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=False),
    sa.Column('has_delta', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hamlet_id'], ['hamlets.id'], ),
    sa.PrimaryKeyConstraint('hamlet_id', 'service_code', 'month', 'birth_year')
    )

    # Fold the adult birth years of the existing day rows (sums over the same subject rows, so
    # equal to what a rebuild writes; a bucket whose figures all sum to 0 is left out, as there).
    fold = f"CASE WHEN birth_year <= {FOLDED_BORN_BY} THEN 0 ELSE birth_year END"
    op.execute("CREATE TEMPORARY TABLE coverage_service_days_0006 AS "
               f"SELECT hamlet_id, service_code, day, {fold} AS birth_year, "
               "sum(supported) AS supported, sum(already_had) AS already_had, "
               "sum(has_delta) AS has_delta FROM coverage_service_days "
               f"GROUP BY hamlet_id, service_code, day, {fold} "
               "HAVING sum(supported) <> 0 OR sum(already_had) <> 0 OR sum(has_delta) <> 0")
    op.execute("DELETE FROM coverage_service_days")
    op.execute("INSERT INTO coverage_service_days (hamlet_id, service_code, day, birth_year, "
               "supported, already_had, has_delta) SELECT hamlet_id, service_code, day, "
               "birth_year, supported, already_had, has_delta FROM coverage_service_days_0006")
    op.execute("DROP TABLE coverage_service_days_0006")

    month = "CAST(date_trunc('month', day) AS DATE)" if postgresql \
        else "date(day, 'start of month')"
    op.execute("INSERT INTO coverage_has_months (hamlet_id, service_code, month, birth_year, "
               f"has_delta) SELECT hamlet_id, service_code, {month}, birth_year, sum(has_delta) "
               f"FROM coverage_service_days GROUP BY hamlet_id, service_code, {month}, birth_year "
               "HAVING sum(has_delta) <> 0")

    with op.batch_alter_table('coverage_has_months', schema=None) as batch_op:
        batch_op.create_index('ix_coverage_has_months_hamlet_month', ['hamlet_id', 'month'],
                              unique=False, postgresql_include=INCLUDE)
    with op.batch_alter_table('coverage_service_days', schema=None) as batch_op:
        batch_op.create_index('ix_coverage_service_days_hamlet_day', ['hamlet_id', 'day'],
                              unique=False, postgresql_include=INCLUDE)
    if postgresql:
        op.execute("ANALYZE services")
        op.execute("ANALYZE coverage_service_days")
        op.execute("ANALYZE coverage_has_months")


def downgrade():
    with op.batch_alter_table('coverage_service_days', schema=None) as batch_op:
        batch_op.drop_index('ix_coverage_service_days_hamlet_day')
    with op.batch_alter_table('coverage_has_months', schema=None) as batch_op:
        batch_op.drop_index('ix_coverage_has_months_hamlet_month')
    op.drop_table('coverage_has_months')
