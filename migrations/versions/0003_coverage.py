"""coverage: compact day rows per household and subject, per-hamlet day rows, targets and
campaigns (seeded: Đồng Nai's national targets and the 30-day digital signature campaign)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 11:07:55.797674

The monthly tables of 0001 stay: they now hold the whole-month distinct counts of coverage.
Existing visits are not folded in here; run ``flask aggregates rebuild`` once after upgrading.
"""
from datetime import date

from alembic import op
import sqlalchemy as sa

# Decision 411/QĐ-TTg; province 75 (Đồng Nai). Indicators are named as coverage's rates.
TARGETS = [
    ("75", "adults_with_CKS", 0.5, date(2025, 12, 31), "QĐ 411/QĐ-TTg"),
    ("75", "adults_with_CKS", 0.7, date(2030, 12, 31), "QĐ 411/QĐ-TTg"),
    ("75", "adults_with_THIETBI", 0.8, date(2025, 12, 31), "QĐ 411/QĐ-TTg"),
    ("75", "adults_with_THIETBI", 0.95, date(2030, 12, 31), "QĐ 411/QĐ-TTg"),
    ("75", "adults_with_SSKDT", 0.9, date(2025, 12, 31), "QĐ 411/QĐ-TTg"),
    ("75", "people_15_with_TTKDTM", 0.8, date(2025, 12, 31), "QĐ 411/QĐ-TTg"),
]
CAMPAIGNS = [
    ("75", "Chiến dịch 30 ngày chữ ký số", date(2025, 10, 1), date(2025, 11, 1), ["CKS"], 0.5),
]


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('campaigns',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('date_from', sa.Date(), nullable=False),
    sa.Column('date_to', sa.Date(), nullable=False),
    sa.Column('services', sa.JSON(), nullable=False),
    sa.Column('target', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaigns_province_code'), ['province_code'], unique=False)

    op.create_table('coverage_household_days',
    sa.Column('household_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hamlet_id', sa.Integer(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('reached', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('household_id', 'day')
    )
    with op.batch_alter_table('coverage_household_days', schema=None) as batch_op:
        batch_op.create_index('ix_coverage_household_days_hamlet_day', ['hamlet_id', 'day'], unique=False)

    op.create_table('coverage_subject_days',
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('service_code', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('hamlet_id', sa.Integer(), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('already_had', sa.Integer(), nullable=False),
    sa.Column('in_progress', sa.Integer(), nullable=False),
    sa.Column('has', sa.Integer(), nullable=False),
    sa.Column('has_delta', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('subject_id', 'service_code', 'day')
    )
    with op.batch_alter_table('coverage_subject_days', schema=None) as batch_op:
        batch_op.create_index('ix_coverage_subject_days_hamlet_service_day', ['hamlet_id', 'service_code', 'day'], unique=False)

    op.create_table('targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=False),
    sa.Column('indicator', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('due', sa.Date(), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_targets_province_code'), ['province_code'], unique=False)

    op.create_table('coverage_campaign_hamlet_services',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('hamlet_id', sa.Integer(), nullable=False),
    sa.Column('service_code', sa.String(length=16), nullable=False),
    sa.Column('supported', sa.Integer(), nullable=False),
    sa.Column('already_had', sa.Integer(), nullable=False),
    sa.Column('in_progress', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hamlet_id'], ['hamlets.id'], ),
    sa.PrimaryKeyConstraint('campaign_id', 'hamlet_id', 'service_code')
    )
    op.create_table('coverage_campaign_hamlets',
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('hamlet_id', sa.Integer(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('households_visited', sa.Integer(), nullable=False),
    sa.Column('households_reached', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['hamlet_id'], ['hamlets.id'], ),
    sa.PrimaryKeyConstraint('campaign_id', 'hamlet_id')
    )
    op.create_table('coverage_days',
    sa.Column('hamlet_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('visits', sa.Integer(), nullable=False),
    sa.Column('households_reached', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hamlet_id'], ['hamlets.id'], ),
    sa.PrimaryKeyConstraint('hamlet_id', 'day')
    )
    op.create_table('coverage_service_days',
    sa.Column('hamlet_id', sa.Integer(), nullable=False),
    sa.Column('service_code', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('birth_year', sa.Integer(), nullable=False),
    sa.Column('supported', sa.Integer(), nullable=False),
    sa.Column('already_had', sa.Integer(), nullable=False),
    sa.Column('has_delta', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hamlet_id'], ['hamlets.id'], ),
    sa.PrimaryKeyConstraint('hamlet_id', 'service_code', 'day', 'birth_year')
    )
    targets = sa.table('targets', sa.column('province_code', sa.String), sa.column('indicator', sa.String),
                       sa.column('value', sa.Float), sa.column('due', sa.Date), sa.column('source', sa.String))
    op.bulk_insert(targets, [dict(zip(('province_code', 'indicator', 'value', 'due', 'source'), row))
                             for row in TARGETS])
    campaigns = sa.table('campaigns', sa.column('province_code', sa.String), sa.column('name', sa.String),
                         sa.column('date_from', sa.Date), sa.column('date_to', sa.Date),
                         sa.column('services', sa.JSON), sa.column('target', sa.Float))
    op.bulk_insert(campaigns, [dict(zip(('province_code', 'name', 'date_from', 'date_to', 'services',
                                         'target'), row)) for row in CAMPAIGNS])


def downgrade():
    op.drop_table('coverage_service_days')
    op.drop_table('coverage_days')
    op.drop_table('coverage_campaign_hamlets')
    op.drop_table('coverage_campaign_hamlet_services')
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_targets_province_code'))

    op.drop_table('targets')
    with op.batch_alter_table('coverage_subject_days', schema=None) as batch_op:
        batch_op.drop_index('ix_coverage_subject_days_hamlet_service_day')

    op.drop_table('coverage_subject_days')
    with op.batch_alter_table('coverage_household_days', schema=None) as batch_op:
        batch_op.drop_index('ix_coverage_household_days_hamlet_day')

    op.drop_table('coverage_household_days')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaigns_province_code'))

    op.drop_table('campaigns')
