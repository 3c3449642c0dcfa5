"""units: a hamlet code can be reused after a merger (unique per code and start day)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26 09:00:00

``hamlets`` trades ``UNIQUE(code)`` for ``UNIQUE(code, valid_from)``, as provinces and communes
have had since 0001; ``services/admin_units.py`` refuses a code whose earlier holder is still in
force on the new hamlet's first day.

On SQLite an inline UNIQUE cannot be dropped, so the table is rebuilt the way SQLite documents
(https://www.sqlite.org/lang_altertable.html#otheralter): foreign keys are off for the
migration run (``migrations/env.py``), the rows are copied with their ids, so the SpatiaLite
R-tree (keyed by rowid) and every table pointing at ``hamlets`` stay valid, and the indexes and
SpatiaLite's triggers are created again from their saved SQL.
"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

OLD_UNIQUE = "UNIQUE (code)"
NEW_UNIQUE = "UNIQUE (code, valid_from)"


def _rebuild_sqlite(old, new):
    bind = op.get_bind()
    table_sql = bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'hamlets'").scalar()
    if old not in table_sql:
        raise RuntimeError(f"hamlets has no {old!r} to replace: {table_sql}")
    companions = [row[0] for row in bind.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE tbl_name = 'hamlets' AND type IN ('index', 'trigger')"
        " AND sql IS NOT NULL ORDER BY type")]
    # After a rename SQLite stores the name quoted: CREATE TABLE "hamlets" (...).
    body = table_sql[table_sql.index("("):]
    bind.exec_driver_sql("CREATE TABLE hamlets_0011 " + body.replace(old, new))
    bind.exec_driver_sql("INSERT INTO hamlets_0011 SELECT * FROM hamlets")
    bind.exec_driver_sql("DROP TABLE hamlets")
    bind.exec_driver_sql("ALTER TABLE hamlets_0011 RENAME TO hamlets")
    for statement in companions:
        bind.exec_driver_sql(statement)


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(OLD_UNIQUE, NEW_UNIQUE)
        return
    op.drop_constraint('hamlets_code_key', 'hamlets', type_='unique')
    op.create_unique_constraint('hamlets_code_valid_from_key', 'hamlets', ['code', 'valid_from'])


def downgrade():
    # Fails, as it should, once a code has been reused.
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_sqlite(NEW_UNIQUE, OLD_UNIQUE)
        return
    op.drop_constraint('hamlets_code_valid_from_key', 'hamlets', type_='unique')
    op.create_unique_constraint('hamlets_code_key', 'hamlets', ['code'])
