"""admin console: when a catalogue service was retired

Revision ID: 0008
Revises: 0006
Create Date: 2026-11-25 10:00:00

``services.retired_at``: a retired code stays valid on visits recorded before it (a phone that
was offline since then pushes them later); a visit recorded after it is refused. Services
retired before this revision have none: no visit with them is accepted any more, as before.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no batch): SQLite adds it in place, without copying the table.
    op.add_column('services', sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    op.drop_column('services', 'retired_at')
