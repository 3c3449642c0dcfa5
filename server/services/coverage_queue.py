"""The coverage queue: what each push changed, waiting for the next drain.

A push writes one ``coverage_pending`` row per visit, household and resident it stored, in its
own transaction (so a committed push always leaves its rows behind), then ``schedule``s a drain.
A drain (``aggregates.drain``) claims every pending row of every commune at once, brings the
coverage rows up to date for all of them, deletes them and commits: a burst of pushes costs one
drain, not one refresh each, and at a campaign peak the province's communes share it (drains
are serialised by one province-wide lock anyway, so a drain per commune only paid its fixed
cost once per commune and fell minutes behind).

With Redis, duplicate drains collapse on a marker key: a push enqueues a drain only if it sets
the marker (``SET NX``); the drain deletes the marker before it claims anything, so a push that
commits after that claim finds no marker and enqueues the next drain. The drain is queued
``COVERAGE_DRAIN_DELAY_SECONDS`` after the push that set the marker, so steady pushing gets
one drain per few seconds, not one per push or two. The marker expires (``MARK_SECONDS``) in
case a job was lost, and a drain finding nothing costs one statement. Without Redis the drain
runs inline, after the push's commit, as before.
"""
import uuid

from flask import current_app
from sqlalchemy import and_, delete, select, update

from server.extensions import db
from server.models.coverage import CoveragePending
from server.services import queue
from server.services.coverage_compact import unnest

DRAIN_JOB = "jobs.aggregates.drain_coverage"
MARK_SECONDS = 300  # a lost job delays the next drain by at most this
KINDS = ("visit", "household", "resident")


MARKER = "cnscd:coverage-drain-queued"


def _uuid(value):
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def record(commune_id, visits=(), households=(), residents=(), claimed=False):
    """Queue these records' coverage refresh, in the caller's transaction (no commit); returns
    how many rows. ``commune_id`` None with ``claimed``: rows the caller's own transaction drains
    at once (``aggregates.refresh``), invisible to every other one until deleted."""
    rows = [{"commune_id": commune_id, "kind": kind, "record_id": _uuid(record_id),
             "claimed": claimed}
            for kind, ids in zip(KINDS, (visits, households, residents))
            for record_id in sorted(set(map(str, ids or ())))]
    if not rows:
        return 0
    table = CoveragePending.__table__
    if db.session.get_bind().dialect.name == "postgresql":
        # One statement with the rows as arrays, not one INSERT per row.
        unnest(table, list(rows[0]), rows, "INSERT INTO {t} ({names}) SELECT * FROM {rows}")
    else:
        db.session.execute(table.insert(), rows)
    return len(rows)


def _queued():
    """Rows a push committed (an inline refresh's own rows have no commune)."""
    return CoveragePending.commune_id.isnot(None)


def claim():
    """Mark every pending row visible now as this transaction's; returns ``(condition that
    selects them, their communes)``. Rows committed later stay for the next drain; on
    PostgreSQL a concurrent drain blocks on these rows and then skips them (they are gone when
    it reads)."""
    p = CoveragePending
    communes = db.session.scalars(
        update(p).where(_queued(), p.claimed.is_(False)).values(claimed=True)
        .returning(p.commune_id).execution_options(synchronize_session=False)).all()
    return and_(_queued(), p.claimed.is_(True)), sorted(set(communes))


def claimed_inline():
    """The condition selecting the rows an inline refresh claimed in its own transaction."""
    p = CoveragePending
    return and_(p.commune_id.is_(None), p.claimed.is_(True))


def release(claimed):
    """Delete the claimed rows (before the drain commits)."""
    db.session.execute(delete(CoveragePending).where(claimed)
                       .execution_options(synchronize_session=False))


def pending_communes():
    """The communes with committed pending rows (a drain was lost, or has not run yet)."""
    p = CoveragePending
    return sorted(db.session.scalars(select(p.commune_id).distinct()
                                     .where(p.commune_id.isnot(None))))


def schedule():
    """After a push's commit: have its rows drained (queued once, or inline)."""
    conn = queue.redis_connection()
    if conn is not None:
        if not conn.set(MARKER, 1, nx=True, ex=MARK_SECONDS):
            return None  # a drain is queued and has not claimed yet: it will take these rows
        try:
            # Queued a few seconds later: the pushes of those seconds find the marker and share
            # this drain (at a campaign peak the province pushes many times a second).
            return queue.enqueue(DRAIN_JOB, queue="aggregates",
                                 delay=current_app.config["COVERAGE_DRAIN_DELAY_SECONDS"])
        except Exception:
            conn.delete(MARKER)
            raise
    return queue.enqueue(DRAIN_JOB, queue="aggregates")


def drain_started():
    """The drain job's first step: later pushes must enqueue their own drain."""
    conn = queue.redis_connection()
    if conn is not None:
        conn.delete(MARKER)
