"""What the fault tests assert through the database: records stored once, nothing left pending,
coverage rows equal to a rebuild, and what PostgreSQL says a blocked job is doing."""
import uuid

import psycopg
from sqlalchemy import func, select

from server.extensions import db
from server.models import Household, Photo, Visit
from server.models.coverage import CoveragePending
from server.services import aggregates
from tests.sync_helpers import household, visit
from tests.test_coverage_definitions import summary_rows


def stored(model, ids):
    """How many rows of ``model`` have these ids (each id at most once: it is the key)."""
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model)
                             .where(model.id.in_([uuid.UUID(i) for i in ids])))


def commune_counts(world):
    """Households and visits stored in the world's hamlets."""
    db.session.rollback()
    hamlets = world.hamlet_ids
    return (db.session.scalar(select(func.count()).select_from(Household)
                              .where(Household.hamlet_id.in_(hamlets))),
            db.session.scalar(select(func.count()).select_from(Visit)
                              .where(Visit.hamlet_id.in_(hamlets))))


def pending(world):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(CoveragePending)
                             .where(CoveragePending.commune_id == world.commune.id))


def photo_row(photo_id):
    db.session.rollback()
    return db.session.get(Photo, uuid.UUID(str(photo_id)))


def coverage_matches_rebuild(world):
    """The rows the drains left, and the rows ``aggregates rebuild`` computes from the visits."""
    incremental = summary_rows(world.hamlet_ids)
    aggregates.rebuild(world.commune.code)
    rebuilt = summary_rows(world.hamlet_ids)
    assert incremental["coverage_subject_days"] or incremental["coverage_days"], "no figures"
    assert incremental == rebuilt
    return incremental


def home_with_visit(hamlet_id, **visit_data):
    """A household and a visit to it, as one push's items."""
    h = household(hamlet_id)
    return [h, visit(h["id"], services=[{"code": "TMDT", "resident_id": None,
                                         "result": "done"}], **visit_data)]


def push(api, items, device_id="fault-phone"):
    return api.call("POST", "/api/v1/sync/push", {"device_id": device_id, "items": items})


def startup_drains(worker):
    """How many communes a (re)started worker's first maintenance drained."""
    line = worker.wait_log("coverage drained in ")
    return int(line.split("coverage drained in ")[1].split()[0])


def blocked(database_url, wait_event=None, query_start=None):
    """Backends waiting on a lock (``wait_event``: e.g. ``advisory``), whose query starts so."""
    sql = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    params = []
    if wait_event:
        sql += " AND wait_event = %s"
        params.append(wait_event)
    if query_start:
        sql += " AND query ILIKE %s"
        params.append(query_start + "%")
    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchone()[0]


def started_jobs(redis_url, queue):
    """Jobs an rq worker has taken from ``queue`` and not finished."""
    from redis import Redis
    from rq import Queue
    from rq.registry import StartedJobRegistry

    q = Queue(queue, connection=Redis.from_url(redis_url))
    return StartedJobRegistry(queue=q).count
