"""scope exits: households, residents and follow-ups that left a hamlet, for pull's notices

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 09:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scope_exits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('record_id', sa.Uuid(), nullable=False),
    sa.Column('hamlet_id', sa.Integer(), nullable=False),
    sa.Column('change_seq', sa.BigInteger(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['hamlet_id'], ['hamlets.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scope_exits', schema=None) as batch_op:
        batch_op.create_index('ix_scope_exits_hamlet_seq', ['hamlet_id', 'change_seq'], unique=False)
        batch_op.create_index('ix_scope_exits_record', ['record_id'], unique=False)


def downgrade():
    with op.batch_alter_table('scope_exits', schema=None) as batch_op:
        batch_op.drop_index('ix_scope_exits_record')
        batch_op.drop_index('ix_scope_exits_hamlet_seq')

    op.drop_table('scope_exits')
