"""The SQLAlchemy handle and the per-dialect connection set-up (SpatiaLite, WAL, locking)."""
import logging
import os

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase

from server.replica import RoutingSession

log = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 30000
CHECKPOINT_BUSY_TIMEOUT_MS = 2000  # a WAL truncation is best effort: never hold a request long


class Base(DeclarativeBase):
    """Declarative base shared by every model."""


class Database(SQLAlchemy):
    """Flask-SQLAlchemy that prepares SQLite connections for SpatiaLite and concurrent writers."""

    def __init__(self):
        # Opted-in read-only views may read from a streaming replica (server/replica.py).
        super().__init__(model_class=Base, session_options={"class_": RoutingSession})

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
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        # Freed cells and pages are zeroed, so an erased name or phone (consent withdrawal) does
        # not linger in the file's free space; the WAL's old frames are removed by truncate_wal.
        cur.execute("PRAGMA secure_delete=ON")
        if cur.execute("SELECT CheckSpatialMetaData()").fetchone()[0] < 1:
            cur.execute("SELECT InitSpatialMetaData(1, 'WGS84')")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # IMMEDIATE takes the write lock up front: two writers that both read first and then
        # upgrade would otherwise deadlock and one would fail at once with SQLITE_BUSY.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def truncate_wal(engine):
    """Fold SQLite's WAL into the database file and empty it; True when done (best effort).

    Old page images (an erased name, say) survive in the WAL until a checkpoint and a
    truncation. Run it outside any transaction; on other engines it does nothing.
    """
    if engine.dialect.name != "sqlite":
        return True
    conn = engine.raw_connection()
    try:
        cur = conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout={CHECKPOINT_BUSY_TIMEOUT_MS}")
            busy, _, _ = cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.close()
    except engine.dialect.dbapi.Error as exc:
        log.warning("WAL checkpoint failed: %s", exc)
        return False
    finally:
        conn.close()
    if busy:
        # A long reader kept old frames alive; the next truncation (the next withdrawal) or
        # SQLite's own checkpoints will fold them in later.
        log.warning("WAL checkpoint incomplete: readers were busy")
    return not busy
