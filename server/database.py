"""The SQLAlchemy handle and the per-dialect connection set-up (SpatiaLite, WAL, locking)."""
import os

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base shared by every model."""


class Database(SQLAlchemy):
    """Flask-SQLAlchemy that prepares SQLite connections for SpatiaLite and concurrent writers."""

    def __init__(self):
        super().__init__(model_class=Base)

    def _make_engine(self, bind_key, options, app):
        engine = super()._make_engine(bind_key, options, app)
        if engine.dialect.name == "sqlite":
            _prepare_sqlite(engine)
        return engine


def _prepare_sqlite(engine):
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        # Autocommit at the driver level so SQLAlchemy's own BEGIN (below) and SAVEPOINTs work.
        dbapi_conn.isolation_level = None
        dbapi_conn.enable_load_extension(True)
        dbapi_conn.load_extension(os.environ.get("SPATIALITE_LIBRARY_PATH", "mod_spatialite"))
        dbapi_conn.enable_load_extension(False)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        if cur.execute("SELECT CheckSpatialMetaData()").fetchone()[0] < 1:
            cur.execute("SELECT InitSpatialMetaData(1, 'WGS84')")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # IMMEDIATE takes the write lock up front: two writers that both read first and then
        # upgrade would otherwise deadlock and one would fail at once with SQLITE_BUSY.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
