import logging
from logging.config import fileConfig

from flask import current_app

from alembic import context
from geoalchemy2 import alembic_helpers

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger('alembic.env')


def get_engine():
    try:
        # this works with Flask-SQLAlchemy<3 and Alchemical
        return current_app.extensions['migrate'].db.get_engine()
    except (TypeError, AttributeError):
        # this works with Flask-SQLAlchemy>=3
        return current_app.extensions['migrate'].db.engine


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace(
            '%', '%%')
    except AttributeError:
        return str(get_engine().url).replace('%', '%%')


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option('sqlalchemy.url', get_engine_url())
target_db = current_app.extensions['migrate'].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, 'metadatas'):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url, target_metadata=get_metadata(), literal_binds=True
    )

    with context.begin_transaction():
        context.run_migrations()


SPATIALITE_TABLES = {"SpatialIndex", "ElementaryGeometries", "KNN", "KNN2", "data_licenses",
                     "sql_statements_log", "spatial_ref_sys_aux", "spatialite_history"}


def _include_object(obj, name, obj_type, reflected, compare_to):
    if obj_type == "table" and reflected and compare_to is None and (
            name in SPATIALITE_TABLES or name.startswith("idx_")):
        return False
    return alembic_helpers.include_object(obj, name, obj_type, reflected, compare_to)


def _render_item(type_, obj, autogen_context):
    from server.models.types import UTCDateTime

    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return alembic_helpers.render_item(type_, obj, autogen_context)


def _check_sqlite_foreign_keys(connection):
    """Fail on a broken reference in our tables; finish SpatiaLite's own cascades.

    SpatiaLite's metadata tables (``geometry_columns_time`` …) rely on ON DELETE CASCADE,
    which does not run while foreign keys are off: their orphans go as the cascade would have.
    """
    ours = set(get_metadata().tables)
    for table, rowid, parent, _ in connection.exec_driver_sql(
            "PRAGMA foreign_key_check").fetchall():
        if table in ours or rowid is None:
            raise RuntimeError(f"the migration broke a reference from {table} to {parent}")
        connection.exec_driver_sql(f'DELETE FROM "{table}" WHERE rowid = ?', (rowid,))


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, 'autogenerate', False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info('No changes in schema detected.')

    conf_args = current_app.extensions['migrate'].configure_args
    # Skip SpatiaLite's own tables and render Geometry columns for both engines.
    conf_args.setdefault("include_object", _include_object)
    conf_args.setdefault("render_item", _render_item)
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives

    connectable = get_engine()

    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # SQLite's documented way to rebuild a table (0011): foreign keys off for the run,
            # checked at the end. The pragma is a no-op inside a transaction, and the engine
            # emits its own BEGIN (server/database.py), so it goes to the driver directly.
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection,
                target_metadata=get_metadata(),
                **conf_args
            )

            with context.begin_transaction():
                context.run_migrations()
            if sqlite:
                _check_sqlite_foreign_keys(connection)
                connection.commit()
        finally:
            if sqlite:
                # The pooled connection goes back to the app: never with its foreign keys off.
                connection.rollback()
                connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
